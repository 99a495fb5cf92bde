//! ONNX, both ways, for multi-layer perceptrons and convolutional networks.
//!
//! No well-kept Rust crate writes ONNX protobufs without a code generator and its build-time
//! dependencies, and these models need only a handful of messages, so they are written here
//! by hand: the protobuf wire format is varints, fixed-width numbers and length-delimited
//! fields. [`to_onnx`] writes opset 17 (IR version 8): per layer one `Gemm` (or `MatMul`
//! without bias) and the activation's operator, a dynamic batch dimension named `batch`.
//! Image layers are `Conv`, `MaxPool`, `AveragePool` and `GlobalAveragePool`, which take
//! (N, C, H, W): the graph's input stays neurite's (N, H, W, C), a `Transpose` goes before
//! the first image layer and another back before a `Flatten` or `Dense`, so that a Dense
//! kernel in Keras' order applies unchanged.
//!
//! [`from_onnx`] reads the MLPs that `torch.onnx.export` (both exporters) and Keras through
//! tf2onnx write: `Gemm`, or `MatMul` then `Add`, with constant weights, `Flatten` or
//! `Reshape` before the first layer, and the activations `Relu`, `Sigmoid`, `Tanh`,
//! `LeakyRelu`, `Elu`, `Softplus`, `Softmax`, `Identity` (and neurite's own step activation,
//! `Greater` with 0 then `Cast`); and the convnets of both PyTorch exporters and neurite:
//! `Conv` (weights (out, in, kh, kw) become Keras' (kh, kw, in, out)), `MaxPool`,
//! `AveragePool`, `GlobalAveragePool` or `ReduceMean` over height and width, then `Flatten`
//! or a `Reshape` to (batch, features), whose next `Gemm` gets its input rows taken from
//! PyTorch's (c, h, w) order to neurite's (h, w, c). Padding must be none or `same`'s
//! TensorFlow split; dilations, groups, `ceil_mode` and averages over padding are refused.
//! Any other operator is an error that names it. The decoder is bounded by the file: every length is checked against the bytes
//! that remain, and messages nest only as deep as the schema above (a subgraph attribute is
//! skipped, not parsed). An initializer that many nodes use is made into a tensor once and
//! shared, and each layer takes its weights from the file's
//! [`ReadBudget`].
//!
//! [`graph_to_onnx`] writes, with the same messages and opset, any graph that neurite's
//! autograd recorded (what `neurite.torch`'s `torch.onnx.export` traces), one operator per
//! recorded operation.
//!
//! Weights kept in an external data file (`model.onnx.data`, what `torch.onnx.export(...,
//! dynamo=True)` writes by default) are read by [`load_onnx`] and [`super::load_any`] from
//! the model's own folder only: the location must be a plain relative path (no absolute
//! path, no `..`, no link that leads out of the folder), and its offset and length must lie
//! inside the file; only that range is read.
//!
//! ```
//! use neurite::{io::onnx, nn::{Activation, Dense}, train::Sequential};
//! let mut model = Sequential::with_seed(0);
//! model.add(Dense::new(8).activation(Activation::Relu).input_shape(4))?;
//! model.add(Dense::new(3).activation(Activation::Softmax))?;
//! let bytes = onnx::to_onnx(&model)?;
//! let back = onnx::from_onnx(&bytes)?;
//! assert_eq!(back.summary(), model.summary());
//! assert_eq!(back.params().tensors()?, model.params().tensors()?);
//! # Ok::<(), neurite::Error>(())
//! ```

use std::collections::HashMap;
use std::path::Path;

mod graph;

pub use graph::{graph_to_onnx, save_graph_onnx};

use super::{NamedLayer, ReadBudget};
use crate::error::{shape_str, Error, Result};
use crate::nn::{Activation, LayerConfig, Mode, Padding};
use crate::tensor::Tensor;
use crate::train::Sequential;

/// The opset written: 17 is the first with every operator here in its current form and is
/// read by every ONNX Runtime since 1.13.
pub const OPSET: i64 = 17;
/// The IR version that goes with opset 17.
const IR_VERSION: i64 = 8;
/// ONNX's element type numbers.
const FLOAT: i64 = 1;
const INT64: i64 = 7;
const DOUBLE: i64 = 11;
/// AttributeProto types.
const ATTR_FLOAT: i64 = 1;
const ATTR_INT: i64 = 2;
const ATTR_INTS: i64 = 7;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Format(format!("ONNX: {what}"))
}

// ---------------------------------------------------------------------------------------
// Writing.

/// A protobuf message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field << 3 | u32::from(wire)));
    }
    fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }
    fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn str(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }
    fn msg(&mut self, field: u32, m: Msg) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

/// A TensorProto of `data_type` elements whose little-endian bytes are `raw`.
fn tensor_proto_raw(name: &str, dims: &[usize], data_type: i64, raw: &[u8]) -> Msg {
    let mut t = Msg::default();
    for &d in dims {
        t.int(1, d as i64);
    }
    t.int(2, data_type);
    t.str(8, name);
    t.bytes(9, raw);
    t
}

/// A TensorProto of f32 values (raw little-endian data).
fn tensor_proto(name: &str, dims: &[usize], values: &[f32]) -> Msg {
    tensor_proto_raw(name, dims, FLOAT, &values.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attributes: Vec<Msg>) -> Msg {
    let mut n = Msg::default();
    for i in inputs {
        n.str(1, i);
    }
    for o in outputs {
        n.str(2, o);
    }
    n.str(3, name).str(4, op);
    for a in attributes {
        n.msg(5, a);
    }
    n
}

fn attr_float(name: &str, v: f32) -> Msg {
    let mut a = Msg::default();
    a.str(1, name).float(2, v).int(20, ATTR_FLOAT);
    a
}

fn attr_int(name: &str, v: i64) -> Msg {
    let mut a = Msg::default();
    a.str(1, name).int(3, v).int(20, ATTR_INT);
    a
}

fn attr_ints(name: &str, values: &[i64]) -> Msg {
    let mut a = Msg::default();
    a.str(1, name);
    for &v in values {
        a.int(8, v);
    }
    a.int(20, ATTR_INTS);
    a
}

/// A 1-D int64 tensor (a Reshape's target shape).
fn tensor_proto_i64(name: &str, values: &[i64]) -> Msg {
    tensor_proto_raw(name, &[values.len()], INT64, &values.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
}

/// One dimension of a ValueInfoProto's shape.
enum Dim<'a> {
    /// A fixed size.
    Fixed(usize),
    /// A size named, not fixed (`batch`).
    Symbolic(&'a str),
}

/// A float tensor's ValueInfoProto with these dimensions.
fn value_info_dims(name: &str, dims: &[Dim]) -> Msg {
    let mut shape = Msg::default();
    for d in dims {
        let mut dim = Msg::default();
        match d {
            Dim::Fixed(n) => dim.int(1, *n as i64),
            Dim::Symbolic(s) => dim.str(2, s),
        };
        shape.msg(1, dim);
    }
    let mut tensor = Msg::default();
    tensor.int(1, FLOAT).msg(2, shape);
    let mut ty = Msg::default();
    ty.msg(1, tensor);
    let mut v = Msg::default();
    v.str(1, name).msg(2, ty);
    v
}

/// A float tensor's ValueInfoProto: the batch dimension symbolic, the others fixed.
fn value_info(name: &str, example: &[usize]) -> Msg {
    let dims: Vec<Dim> =
        std::iter::once(Dim::Symbolic("batch")).chain(example.iter().map(|&d| Dim::Fixed(d))).collect();
    value_info_dims(name, &dims)
}

/// The bytes of a ModelProto holding `graph`, at [`OPSET`] and its IR version, produced by
/// neurite.
fn model_proto(graph: Msg) -> Vec<u8> {
    let mut opset = Msg::default();
    opset.str(1, "").int(2, OPSET);
    let mut m = Msg::default();
    m.int(1, IR_VERSION).str(2, "neurite").str(3, env!("CARGO_PKG_VERSION")).msg(7, graph).msg(8, opset);
    m.0
}

/// The bytes of an ONNX model computing `model`'s outputs (in inference mode) from an input
/// named `input` of shape (batch, example shape) to an output named `output`: Dense as Gemm
/// (or MatMul) and its activation, BatchNormalization as BatchNormalization with the moving
/// statistics, Flatten and Reshape as themselves; Dropout, the identity at inference, is left
/// out.
pub fn to_onnx(model: &Sequential) -> Result<Vec<u8>> {
    super::exportable(model)?;
    let layers = model.layers();
    let input_shape = model.input_shape().ok_or_else(|| Error::Value("ONNX export: the model has no layers".into()))?;
    let params = model.params();
    let mut graph = Msg::default();
    let mut initializers = Vec::new();
    let mut current = "input".to_string();
    // The last layer that computes something writes `output`, unless its result is an image
    // in ONNX's channels-first order: then a final Transpose does.
    let last = layers.iter().rposition(|l| !l.is_view(Mode::Inference)).unwrap_or(0);
    let ends_channels_first = layers.get(last).is_some_and(|l| match l.config() {
        LayerConfig::GlobalAveragePooling2D(c) => c.keepdims,
        c => c.takes_images(),
    });
    // Whether the tensor in `current` is an image in ONNX's (N, C, H, W) order; neurite's and
    // the graph's input are (N, H, W, C).
    let mut channels_first = false;
    for (i, layer) in layers.iter().enumerate() {
        let name = layer.name().map_or_else(|| format!("layer_{i}"), str::to_string);
        let out = if i == last && !ends_channels_first { "output".to_string() } else { format!("{name}/output") };
        let get = |what: &str| params.get(&format!("{name}/{what}"));
        let config = layer.config();
        // Image layers work channels first, every other layer on neurite's order.
        let wants_channels_first = config.takes_images();
        let is_max = matches!(config, LayerConfig::MaxPooling2D(_));
        if wants_channels_first != channels_first && !matches!(config, LayerConfig::Dropout(_)) {
            let (perm, to) = if wants_channels_first { ([0, 3, 1, 2], "nchw") } else { ([0, 2, 3, 1], "nhwc") };
            let transposed = format!("{name}/input_{to}");
            graph.msg(
                1,
                node(
                    "Transpose",
                    &format!("{name}/Transpose"),
                    &[&current],
                    &[&transposed],
                    vec![attr_ints("perm", &perm)],
                ),
            );
            current = transposed;
            channels_first = wants_channels_first;
        }
        match config {
            LayerConfig::Dense(c) => {
                let kernel = get("kernel")?;
                let w_name = format!("{name}/kernel");
                initializers.push(tensor_proto(&w_name, kernel.shape(), &kernel.to_vec()));
                let activation = c.activation;
                let linear_out =
                    if activation == Activation::Identity { out.clone() } else { format!("{name}/linear") };
                // Gemm takes (batch, features); a dense layer over the last axis of a larger
                // input is MatMul (which broadcasts) then Add.
                let flat = layer.input_shape().len() == 1;
                if c.use_bias && flat {
                    let b_name = format!("{name}/bias");
                    let b = get("bias")?;
                    initializers.push(tensor_proto(&b_name, b.shape(), &b.to_vec()));
                    graph.msg(
                        1,
                        node("Gemm", &format!("{name}/Gemm"), &[&current, &w_name, &b_name], &[&linear_out], vec![]),
                    );
                } else if c.use_bias {
                    let b_name = format!("{name}/bias");
                    let b = get("bias")?;
                    initializers.push(tensor_proto(&b_name, b.shape(), &b.to_vec()));
                    let product = format!("{name}/product");
                    graph.msg(1, node("MatMul", &format!("{name}/MatMul"), &[&current, &w_name], &[&product], vec![]));
                    graph.msg(1, node("Add", &format!("{name}/Add"), &[&product, &b_name], &[&linear_out], vec![]));
                } else {
                    graph.msg(
                        1,
                        node("MatMul", &format!("{name}/MatMul"), &[&current, &w_name], &[&linear_out], vec![]),
                    );
                }
                activation_nodes(&mut graph, &mut initializers, &name, activation, [&linear_out, &out], -1);
                current = out;
            }
            LayerConfig::Conv2D(c) => {
                let window = crate::nn::window_plan(&name, layer.input_shape(), c.kernel_size, c.strides, c.padding)?;
                // Keras' (kh, kw, in, out) as ONNX's (out, in, kh, kw).
                let kernel = get("kernel")?.permute(&[3, 2, 0, 1])?.contiguous();
                let w_name = format!("{name}/kernel");
                initializers.push(tensor_proto(&w_name, kernel.shape(), &kernel.to_vec()));
                let mut inputs = vec![current.clone(), w_name];
                if c.use_bias {
                    let b_name = format!("{name}/bias");
                    let b = get("bias")?;
                    initializers.push(tensor_proto(&b_name, b.shape(), &b.to_vec()));
                    inputs.push(b_name);
                }
                let linear_out =
                    if c.activation == Activation::Identity { out.clone() } else { format!("{name}/linear") };
                let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                graph.msg(1, node("Conv", &format!("{name}/Conv"), &inputs, &[&linear_out], conv_attributes(&window)));
                // Channels are axis 1 here (a softmax is over them).
                activation_nodes(&mut graph, &mut initializers, &name, c.activation, [&linear_out, &out], 1);
                current = out;
            }
            LayerConfig::MaxPooling2D(c) | LayerConfig::AveragePooling2D(c) => {
                let window = c.window(&name, layer.input_shape())?;
                let op = if is_max { "MaxPool" } else { "AveragePool" };
                graph.msg(1, node(op, &format!("{name}/{op}"), &[&current], &[&out], pool_attributes(&window, is_max)));
                current = out;
            }
            LayerConfig::GlobalAveragePooling2D(c) => {
                if c.keepdims {
                    graph.msg(
                        1,
                        node("GlobalAveragePool", &format!("{name}/GlobalAveragePool"), &[&current], &[&out], vec![]),
                    );
                } else {
                    // (N, C, 1, 1), then (N, C).
                    let pooled = format!("{name}/pooled");
                    graph.msg(
                        1,
                        node(
                            "GlobalAveragePool",
                            &format!("{name}/GlobalAveragePool"),
                            &[&current],
                            &[&pooled],
                            vec![],
                        ),
                    );
                    graph.msg(
                        1,
                        node("Flatten", &format!("{name}/Flatten"), &[&pooled], &[&out], vec![attr_int("axis", 1)]),
                    );
                    channels_first = false;
                }
                current = out;
            }
            LayerConfig::BatchNormalization(c) => {
                let features = layer.input_shape().last().copied().unwrap_or(0);
                if layer.input_shape().len() != 1 {
                    return Err(Error::Value(format!(
                        "ONNX export: layer {name} normalises an input of {}; ONNX's BatchNormalization takes channels first, which is not supported yet for inputs of more than one axis",
                        shape_str(layer.input_shape())
                    )));
                }
                let tensor = |what: &str, t: Result<Tensor>, fill: f32| -> Result<Msg> {
                    let t = t.unwrap_or_else(|_| Tensor::full(&[features], fill));
                    Ok(tensor_proto(&format!("{name}/{what}"), t.shape(), &t.to_vec()))
                };
                initializers.push(tensor(
                    "gamma",
                    if c.scale { get("gamma") } else { Err(Error::Value(String::new())) },
                    1.0,
                )?);
                initializers.push(tensor(
                    "beta",
                    if c.center { get("beta") } else { Err(Error::Value(String::new())) },
                    0.0,
                )?);
                initializers.push(tensor("moving_mean", get("moving_mean"), 0.0)?);
                initializers.push(tensor("moving_variance", get("moving_variance"), 1.0)?);
                let inputs: Vec<String> =
                    ["gamma", "beta", "moving_mean", "moving_variance"].iter().map(|w| format!("{name}/{w}")).collect();
                graph.msg(
                    1,
                    node(
                        "BatchNormalization",
                        &format!("{name}/BatchNormalization"),
                        &[&current, &inputs[0], &inputs[1], &inputs[2], &inputs[3]],
                        &[&out],
                        vec![attr_float("epsilon", c.epsilon), attr_float("momentum", c.momentum)],
                    ),
                );
                current = out;
            }
            LayerConfig::Flatten(_) | LayerConfig::Reshape(_)
                if layer.output_shape(layer.input_shape())? == layer.input_shape() => {}
            LayerConfig::Flatten(_) | LayerConfig::Reshape(_) => {
                // The input is in neurite's order here (transposed back above, if it was an
                // image), so a following Dense's kernel applies unchanged.
                let target: Vec<i64> = std::iter::once(-1)
                    .chain(layer.output_shape(layer.input_shape())?.iter().map(|&d| d as i64))
                    .collect();
                let shape_name = format!("{name}/shape");
                initializers.push(tensor_proto_i64(&shape_name, &target));
                graph.msg(1, node("Reshape", &format!("{name}/Reshape"), &[&current, &shape_name], &[&out], vec![]));
                current = out;
            }
            // The identity at inference.
            LayerConfig::Dropout(_) => {}
        }
    }
    if ends_channels_first && channels_first {
        graph.msg(
            1,
            node("Transpose", "output/Transpose", &[&current], &["output"], vec![attr_ints("perm", &[0, 2, 3, 1])]),
        );
        current = "output".to_string();
    }
    if current != "output" {
        return Err(Error::Value("ONNX export: the model computes nothing (every layer is a view)".into()));
    }
    graph.str(2, model.name());
    for init in initializers {
        graph.msg(5, init);
    }
    graph.msg(11, value_info("input", &input_shape));
    graph.msg(12, value_info("output", &model.output_shape().unwrap_or_default()));
    Ok(model_proto(graph))
}

/// A window's `kernel_shape`, `strides` and `pads` (top, left, bottom, right: TensorFlow's
/// split of `same` padding, the smaller half before, written out).
fn window_attributes(w: &crate::kernels::window::Window) -> Vec<Msg> {
    let after = |out: usize, s: usize, k: usize, size: usize, before: usize| {
        ((out - 1) * s + k).saturating_sub(size).saturating_sub(before) as i64
    };
    let bottom = after(w.out_h, w.s_h, w.k_h, w.in_h, w.pad_top);
    let right = after(w.out_w, w.s_w, w.k_w, w.in_w, w.pad_left);
    vec![
        attr_ints("kernel_shape", &[w.k_h as i64, w.k_w as i64]),
        attr_ints("strides", &[w.s_h as i64, w.s_w as i64]),
        attr_ints("pads", &[w.pad_top as i64, w.pad_left as i64, bottom, right]),
    ]
}

/// ONNX's `Conv` attributes for a window: [`window_attributes`], no dilation, one group.
fn conv_attributes(w: &crate::kernels::window::Window) -> Vec<Msg> {
    let mut attrs = window_attributes(w);
    attrs.push(attr_ints("dilations", &[1, 1]));
    attrs.push(attr_int("group", 1));
    attrs
}

/// ONNX's `MaxPool` (or `AveragePool`) attributes for a window: [`window_attributes`], windows
/// only where they start inside the image (`ceil_mode` 0), and for an average Keras' division
/// by the image's cells alone, never the padding.
fn pool_attributes(w: &crate::kernels::window::Window, max: bool) -> Vec<Msg> {
    let mut attrs = window_attributes(w);
    if !max {
        attrs.push(attr_int("count_include_pad", 0));
    }
    attrs.push(attr_int("ceil_mode", 0));
    attrs
}

/// The nodes of `activation` from `from` to `to` (none for the identity, where `from` is
/// `to`); a softmax is over `axis`.
fn activation_nodes(
    graph: &mut Msg,
    initializers: &mut Vec<Msg>,
    name: &str,
    activation: Activation,
    [from, to]: [&str; 2],
    axis: i64,
) {
    let act = |op: &str, attrs: Vec<Msg>| node(op, &format!("{name}/{op}"), &[from], &[to], attrs);
    let act_node = match activation {
        Activation::Identity => None,
        Activation::Sigmoid => Some(act("Sigmoid", vec![])),
        Activation::Tanh => Some(act("Tanh", vec![])),
        Activation::Relu => Some(act("Relu", vec![])),
        Activation::Softplus => Some(act("Softplus", vec![])),
        Activation::LeakyRelu { alpha } => Some(act("LeakyRelu", vec![attr_float("alpha", alpha)])),
        Activation::Elu { alpha } => Some(act("Elu", vec![attr_float("alpha", alpha)])),
        Activation::Softmax => Some(act("Softmax", vec![attr_int("axis", axis)])),
        Activation::Step => {
            // 1 where x > 0, else 0: Greater, then Cast to float.
            let zero = format!("{name}/zero");
            initializers.push(tensor_proto(&zero, &[], &[0.0]));
            let mask = format!("{name}/positive");
            graph.msg(1, node("Greater", &format!("{name}/Greater"), &[from, &zero], &[&mask], vec![]));
            Some(node("Cast", &format!("{name}/Cast"), &[&mask], &[to], vec![attr_int("to", FLOAT)]))
        }
    };
    if let Some(n) = act_node {
        graph.msg(1, n);
    }
}

/// Writes `model` as an ONNX file, atomically.
pub fn save_onnx(model: &Sequential, path: &std::path::Path) -> Result<()> {
    super::write_atomic(path, &to_onnx(model)?)
}

// ---------------------------------------------------------------------------------------
// Reading.

/// One field of a protobuf message.
enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// The fields of a protobuf message, in order.
struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
}

fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf, at: 0 }
}

fn read_varint(buf: &[u8], at: &mut usize) -> Result<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at).ok_or_else(|| bad("truncated (a number runs past the end)"))?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(bad("a number longer than 10 bytes"))
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() {
            return None;
        }
        let item = (|| {
            let key = read_varint(self.buf, &mut self.at)?;
            let field = u32::try_from(key >> 3).map_err(|_| bad("a field number out of range"))?;
            let fixed = |n: usize, at: &mut usize| -> Result<&'a [u8]> {
                let b = self.buf.get(*at..at.saturating_add(n)).ok_or_else(|| bad("truncated field"))?;
                *at += n;
                Ok(b)
            };
            let value = match key & 7 {
                0 => Value::Varint(read_varint(self.buf, &mut self.at)?),
                1 => Value::Fixed64(u64::from_le_bytes(fixed(8, &mut self.at)?.try_into().unwrap_or([0; 8]))),
                2 => {
                    let len = read_varint(self.buf, &mut self.at)?;
                    let len =
                        usize::try_from(len).ok().filter(|&l| l <= self.buf.len() - self.at).ok_or_else(|| {
                            bad(format!("a field declares {len} bytes, {} remain", self.buf.len() - self.at))
                        })?;
                    Value::Bytes(fixed(len, &mut self.at)?)
                }
                5 => Value::Fixed32(u32::from_le_bytes(fixed(4, &mut self.at)?.try_into().unwrap_or([0; 4]))),
                w => return Err(bad(format!("wire type {w} (field {field}) is not one ONNX uses"))),
            };
            Ok((field, value))
        })();
        if item.is_err() {
            self.at = self.buf.len();
        }
        Some(item)
    }
}

fn text(b: &[u8]) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("a name is not UTF-8"))
}

/// A decoded TensorProto: f32 values (from float, double or raw data) or int64 values. The
/// f32 values are a [`Tensor`] made once, so that the layers that use one initializer share
/// it instead of copying it per node.
#[derive(Debug, Clone, Default)]
struct TensorData {
    name: String,
    dims: Vec<usize>,
    data_type: i64,
    floats: Option<Tensor>,
    ints: Option<Vec<i64>>,
    /// Where its data lies when the model keeps it in an external file.
    external: Option<External>,
}

/// A tensor's `external_data`: a file of the model's folder and the byte range in it.
#[derive(Debug, Clone, Default)]
struct External {
    location: String,
    offset: u64,
    length: Option<u64>,
}

/// Packed or unpacked repeated numbers of one field, appended to `out`.
fn numbers<T>(
    value: Value<'_>,
    out: &mut Vec<T>,
    from_varint: fn(u64) -> T,
    width: usize,
    from_le: fn(&[u8]) -> T,
) -> Result<()> {
    match value {
        Value::Varint(v) => out.push(from_varint(v)),
        Value::Fixed32(v) if width == 4 => out.push(from_le(&v.to_le_bytes())),
        Value::Fixed64(v) if width == 8 => out.push(from_le(&v.to_le_bytes())),
        Value::Bytes(b) if width == 0 => {
            let mut at = 0;
            while at < b.len() {
                out.push(from_varint(read_varint(b, &mut at)?));
            }
        }
        Value::Bytes(b) if b.len() % width == 0 => out.extend(b.chunks_exact(width).map(from_le)),
        _ => return Err(bad("a repeated number field of the wrong kind")),
    }
    Ok(())
}

/// The values a tensor's repeated fields hold, before they are checked against its shape.
#[derive(Default)]
struct Repeated {
    f32s: Vec<f32>,
    f64s: Vec<f64>,
    i64s: Vec<i64>,
}

fn parse_tensor(buf: &[u8]) -> Result<TensorData> {
    let mut t = TensorData::default();
    let mut dims: Vec<i64> = Vec::new();
    let mut repeated = Repeated::default();
    let mut raw = None;
    let mut external: Option<Vec<(String, String)>> = None;
    let mut location_external = false;
    for f in fields(buf) {
        match f? {
            (1, v) => numbers(v, &mut dims, |v| v as i64, 0, |_| 0)?,
            (2, Value::Varint(v)) => t.data_type = v as i64,
            (4, v) => numbers(
                v,
                &mut repeated.f32s,
                |v| v as u32 as f32,
                4,
                |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            )?,
            (7, v) => numbers(v, &mut repeated.i64s, |v| v as i64, 0, |_| 0)?,
            (8, Value::Bytes(b)) => t.name = text(b)?,
            (9, Value::Bytes(b)) => raw = Some(b),
            (10, v) => numbers(v, &mut repeated.f64s, f64::from_bits, 8, |b| {
                f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
            })?,
            // external_data: StringStringEntryProto { key = 1, value = 2 }.
            (13, Value::Bytes(b)) => {
                let (mut key, mut value) = (String::new(), String::new());
                for f in fields(b) {
                    match f? {
                        (1, Value::Bytes(k)) => key = text(k)?,
                        (2, Value::Bytes(v)) => value = text(v)?,
                        _ => {}
                    }
                }
                external.get_or_insert_with(Vec::new).push((key, value));
            }
            (14, Value::Varint(1)) => location_external = true,
            _ => {}
        }
    }
    t.dims = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("tensor {:?} has a negative dimension {d}", t.name))))
        .collect::<Result<_>>()?;
    if location_external || external.is_some() {
        let entries = external.unwrap_or_default();
        let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let number = |key: &str| -> Result<Option<u64>> {
            get(key)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| bad(format!("tensor {:?}: external data {key} {v:?} is not a number", t.name)))
                })
                .transpose()
        };
        let location = get("location")
            .ok_or_else(|| bad(format!("tensor {:?} keeps its data in an external file but names none", t.name)))?;
        t.external = Some(External {
            location: location.to_string(),
            offset: number("offset")?.unwrap_or(0),
            length: number("length")?,
        });
        return Ok(t);
    }
    fill(&mut t, raw, repeated)?;
    Ok(t)
}

/// Sets a tensor's values from its raw data or repeated fields, checked against its shape.
fn fill(t: &mut TensorData, raw: Option<&[u8]>, repeated: Repeated) -> Result<()> {
    let numel = t.dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let numel = numel.ok_or_else(|| bad(format!("tensor {:?}: the shape {} overflows", t.name, shape_str(&t.dims))))?;
    let count_error = |have: usize| {
        bad(format!("tensor {:?} of shape {} has {have} values, it needs {numel}", t.name, shape_str(&t.dims)))
    };
    match t.data_type {
        FLOAT => {
            let values: Vec<f32> = match raw {
                Some(b) => b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
                None => repeated.f32s,
            };
            if values.len() != numel || raw.is_some_and(|b| b.len() % 4 != 0) {
                return Err(count_error(values.len()));
            }
            t.floats = Some(Tensor::from_vec(values, &t.dims)?);
        }
        DOUBLE => {
            let values: Vec<f32> = match raw {
                Some(b) => {
                    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32).collect()
                }
                None => repeated.f64s.iter().map(|&v| v as f32).collect(),
            };
            if values.len() != numel || raw.is_some_and(|b| b.len() % 8 != 0) {
                return Err(count_error(values.len()));
            }
            t.floats = Some(Tensor::from_vec(values, &t.dims)?);
        }
        INT64 => {
            let values: Vec<i64> = match raw {
                Some(b) => b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
                None => repeated.i64s,
            };
            if values.len() != numel || raw.is_some_and(|b| b.len() % 8 != 0) {
                return Err(count_error(values.len()));
            }
            t.ints = Some(values);
        }
        d => {
            return Err(bad(format!(
                "tensor {:?} has element type {d}; neurite reads float, double and int64 tensors",
                t.name
            )))
        }
    }
    Ok(())
}

/// Reads an external tensor's data from the model's folder `dir`: the location must be a
/// plain relative path inside it (no absolute path, no `..`, no link that leads out), and
/// the byte range must lie inside the file. Only that range is read, and it is taken from
/// the budget first.
fn read_external(t: &mut TensorData, dir: Option<&Path>, budget: &mut ReadBudget) -> Result<()> {
    let Some(ext) = t.external.take() else { return Ok(()) };
    let name = t.name.clone();
    let dir = dir.ok_or_else(|| {
        bad(format!(
            "tensor {name:?} keeps its data in the external file {:?}; read the model from its file (neurite import model.onnx) so that its folder is known",
            ext.location
        ))
    })?;
    let refuse = |why: &str| bad(format!("tensor {name:?}: the external data location {:?} {why}", ext.location));
    let relative = Path::new(&ext.location);
    if ext.location.is_empty() || relative.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Err(refuse("is not a plain path inside the model's folder (no absolute path, no '..')"));
    }
    let path = dir.join(relative);
    let folder = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let real = path.canonicalize().map_err(|e| Error::io(&path, e))?;
    if !real.starts_with(&folder) {
        return Err(refuse("leads out of the model's folder (through a link)"));
    }
    let mut file = std::fs::File::open(&real).map_err(|e| Error::io(&path, e))?;
    let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let length = ext.length.unwrap_or(size.saturating_sub(ext.offset));
    if ext.offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(bad(format!(
            "tensor {name:?}: {length} bytes at offset {} lie beyond the end of {} ({size} bytes)",
            ext.offset,
            path.display()
        )));
    }
    budget.add_file(&real, size);
    budget.take(length, format_args!("ONNX: the external data of tensor {name:?} ({length} bytes)"))?;
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(ext.offset)).map_err(|e| Error::io(&path, e))?;
    let mut raw = Vec::with_capacity(length as usize);
    file.take(length).read_to_end(&mut raw).map_err(|e| Error::io(&path, e))?;
    if raw.len() as u64 != length {
        return Err(bad(format!("tensor {name:?}: {} ended after {} of {length} bytes", path.display(), raw.len())));
    }
    fill(t, Some(&raw), Repeated::default())
}

#[derive(Debug, Default)]
struct Attribute {
    name: String,
    f: Option<f32>,
    i: Option<i64>,
    s: Option<String>,
    ints: Vec<i64>,
    t: Option<TensorData>,
}

#[derive(Debug, Default)]
struct Node {
    op: String,
    name: String,
    domain: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    attributes: Vec<Attribute>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    fn int_attr(&self, name: &str, default: i64) -> i64 {
        self.attr(name).and_then(|a| a.i).unwrap_or(default)
    }
    fn ints_attr(&self, name: &str) -> Vec<i64> {
        self.attr(name).map(|a| a.ints.clone()).unwrap_or_default()
    }
    fn str_attr(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(|a| a.s.as_deref())
    }
    fn float_attr(&self, name: &str, default: f32) -> f32 {
        self.attr(name).and_then(|a| a.f).unwrap_or(default)
    }
    fn describe(&self) -> String {
        if self.name.is_empty() {
            format!("{} node", self.op)
        } else {
            format!("{} node {:?}", self.op, self.name)
        }
    }
}

fn parse_node(buf: &[u8]) -> Result<Node> {
    let mut n = Node::default();
    for f in fields(buf) {
        match f? {
            (1, Value::Bytes(b)) => n.inputs.push(text(b)?),
            (2, Value::Bytes(b)) => n.outputs.push(text(b)?),
            (3, Value::Bytes(b)) => n.name = text(b)?,
            (4, Value::Bytes(b)) => n.op = text(b)?,
            (7, Value::Bytes(b)) => n.domain = text(b)?,
            (5, Value::Bytes(b)) => {
                let mut a = Attribute::default();
                for f in fields(b) {
                    match f? {
                        (1, Value::Bytes(b)) => a.name = text(b)?,
                        (2, Value::Fixed32(v)) => a.f = Some(f32::from_bits(v)),
                        (3, Value::Varint(v)) => a.i = Some(v as i64),
                        (4, Value::Bytes(b)) => a.s = Some(text(b)?),
                        (8, v) => numbers(v, &mut a.ints, |v| v as i64, 0, |_| 0)?,
                        (5, Value::Bytes(b)) => a.t = Some(parse_tensor(b)?),
                        _ => {}
                    }
                }
                n.attributes.push(a);
            }
            _ => {}
        }
    }
    Ok(n)
}

/// A graph input or output: its name and, for an input, its dimensions (None: symbolic).
fn parse_value_info(buf: &[u8]) -> Result<(String, Vec<Option<u64>>)> {
    let mut name = String::new();
    let mut dims = Vec::new();
    for f in fields(buf) {
        match f? {
            (1, Value::Bytes(b)) => name = text(b)?,
            (2, Value::Bytes(ty)) => {
                for f in fields(ty) {
                    if let (1, Value::Bytes(tensor)) = f? {
                        for f in fields(tensor) {
                            if let (2, Value::Bytes(shape)) = f? {
                                for f in fields(shape) {
                                    if let (1, Value::Bytes(dim)) = f? {
                                        let mut d = None;
                                        for f in fields(dim) {
                                            if let (1, Value::Varint(v)) = f? {
                                                d = Some(v);
                                            }
                                        }
                                        dims.push(d);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok((name, dims))
}

/// One dense layer being read: `x W + b`, then an activation.
struct Layer {
    kernel: Tensor,
    /// The initializers' names, for messages about the values.
    kernel_name: String,
    bias: Option<(String, Tensor)>,
    activation: Option<Activation>,
    /// A BatchNormalization node after the layer (and its activation).
    norm_after: Option<Norm>,
}

/// A convolution being read: its kernel already in Keras' (kh, kw, in, out) order.
struct ConvLayer {
    kernel: (String, Tensor),
    bias: Option<(String, Tensor)>,
    strides: [usize; 2],
    padding: Padding,
    activation: Option<Activation>,
}

/// One layer being read.
enum Item {
    Dense(Box<Layer>),
    Conv(ConvLayer),
    Pool { max: bool, pool: [usize; 2], strides: [usize; 2], padding: Padding },
    GlobalAverage { keepdims: bool },
    Flatten,
}

/// A BatchNormalization node: scale, bias, mean and variance (by initializer name) and epsilon.
struct Norm {
    tensors: [(String, Tensor); 4],
    epsilon: f32,
}

/// The model an ONNX file describes, if it is an MLP of the operators listed in the module
/// documentation; otherwise an error that names the first operator or construct neurite
/// does not read. A model whose weights are in an external file is read by
/// [`load_onnx`] (or [`super::load_any`]), which know its folder.
pub fn from_onnx(bytes: &[u8]) -> Result<Sequential> {
    let mut budget = ReadBudget::for_file(bytes.len() as u64);
    super::model_from_named_layers(read_layers(bytes, None, &mut budget)?)
}

/// The layers of an ONNX model, each tensor named by its initializer, external data read
/// from the folder `dir`. Each layer takes its kernel and bias from `budget` (an
/// initializer that many nodes use is shared while reading, but each layer of the model
/// will hold its own copy: 100 MatMul nodes on one 4 MB initializer asked for 1.66 GB).
pub(crate) fn read_layers(bytes: &[u8], dir: Option<&Path>, budget: &mut ReadBudget) -> Result<Vec<NamedLayer>> {
    let mut graph = None;
    let mut opset = None;
    for f in fields(bytes) {
        match f? {
            (7, Value::Bytes(b)) => graph = Some(b),
            (8, Value::Bytes(b)) => {
                let (mut domain, mut version) = (String::new(), 0);
                for f in fields(b) {
                    match f? {
                        (1, Value::Bytes(d)) => domain = text(d)?,
                        (2, Value::Varint(v)) => version = v as i64,
                        _ => {}
                    }
                }
                if domain.is_empty() || domain == "ai.onnx" {
                    opset = Some(version);
                }
            }
            _ => {}
        }
    }
    let graph = graph.ok_or_else(|| bad("the file has no graph (not an ONNX model?)"))?;
    let opset = opset.unwrap_or(1);
    let mut nodes = Vec::new();
    let mut constants: HashMap<String, TensorData> = HashMap::new();
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for f in fields(graph) {
        match f? {
            (1, Value::Bytes(b)) => nodes.push(parse_node(b)?),
            (5, Value::Bytes(b)) => {
                let mut t = parse_tensor(b)?;
                read_external(&mut t, dir, budget)?;
                if constants.contains_key(&t.name) {
                    return Err(bad(format!("the initializer {:?} appears twice", t.name)));
                }
                constants.insert(t.name.clone(), t);
            }
            (11, Value::Bytes(b)) => inputs.push(parse_value_info(b)?),
            (12, Value::Bytes(b)) => outputs.push(parse_value_info(b)?.0),
            _ => {}
        }
    }
    // Constant nodes are initializers by another name.
    let mut kept = Vec::with_capacity(nodes.len());
    for mut n in nodes {
        if n.op == "Constant" && n.domain.is_empty() {
            let value = n.attributes.iter_mut().find(|a| a.name == "value").and_then(|a| a.t.take());
            if let (Some(out), Some(mut t)) = (n.outputs.first(), value) {
                read_external(&mut t, dir, budget)?;
                constants.insert(out.clone(), t);
                continue;
            }
        }
        kept.push(n);
    }
    let nodes = kept;
    let real_inputs: Vec<_> = inputs.iter().filter(|(n, _)| !constants.contains_key(n)).collect();
    let [(input, input_dims)] = real_inputs.as_slice() else {
        return Err(bad(format!(
            "the graph has {} inputs besides its weights; neurite reads models of one input",
            real_inputs.len()
        )));
    };
    let [output] = outputs.as_slice() else {
        return Err(bad(format!("the graph has {} outputs; neurite reads models of one output", outputs.len())));
    };
    // A weight is the initializer's tensor itself (shared, not copied), taken from the
    // budget once per use.
    let weight = |name: &str, node: &Node, budget: &mut ReadBudget| -> Result<Tensor> {
        let t = constants.get(name).ok_or_else(|| {
            bad(format!(
                "{}: its input {name:?} is not a constant weight; neurite reads MLPs with fixed weights",
                node.describe()
            ))
        })?;
        let values = t
            .floats
            .clone()
            .ok_or_else(|| bad(format!("{}: the weight {name:?} is not a float tensor", node.describe())))?;
        budget.take(
            4 * values.size() as u64,
            format_args!("ONNX: {} using the initializer {name:?} ({} values)", node.describe(), values.size()),
        )?;
        Ok(values)
    };

    let mut current = input.clone();
    let mut layers: Vec<Item> = Vec::new();
    let mut flattened_to: Option<i64> = None;
    // neurite's step activation is written as Greater(x, 0) then Cast(to=float).
    let mut after_greater = false;
    // The image in `current` as neurite's (height, width, channels), and whether ONNX holds
    // it channels first; the model's input when it is an image.
    let mut image: Option<[usize; 3]> = None;
    let mut channels_first = false;
    let mut input_image: Option<[usize; 3]> = None;
    // A flattening of a channels-first image (h, w, c): the next dense layer's input rows are
    // in (c, h, w) order and are put in neurite's (h, w, c) order.
    let mut flattened_image: Option<[usize; 3]> = None;
    let batch = input_dims.first().copied().flatten();
    // The input's (d1, d2, d3) after the batch, when it is a fixed 4-D tensor.
    let input_4d = || -> Result<[usize; 3]> {
        match input_dims.as_slice() {
            // An image's values must be countable (and each of its sizes a usize).
            [_, Some(a), Some(b), Some(c)] if a.checked_mul(*b).and_then(|n| n.checked_mul(*c)).is_some_and(|n| n < 1 << 48) => {
                Ok([*a as usize, *b as usize, *c as usize])
            }
            _ => Err(bad(format!(
                "the input {input:?} has dimensions {input_dims:?}; an image model's input is (batch, channels, height, width) with fixed sizes"
            ))),
        }
    };
    for node in &nodes {
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(bad(format!("{} of domain {:?} is not supported", node.describe(), node.domain)));
        }
        let [first, rest @ ..] = node.inputs.as_slice() else {
            return Err(bad(format!("{} has no input", node.describe())));
        };
        if *first != current {
            return Err(bad(format!(
                "{} does not continue the chain from the input (it reads {first:?}, the chain is at {current:?}); neurite reads sequential models",
                node.describe()
            )));
        }
        let out = node.outputs.first().ok_or_else(|| bad(format!("{} has no output", node.describe())))?.clone();
        let set_activation = |layers: &mut Vec<Item>, a: Activation| -> Result<()> {
            let follows = || {
                bad(format!(
                    "{} follows another activation or a BatchNormalization; neurite's layers have one activation each, before any normalisation",
                    node.describe()
                ))
            };
            match layers.last_mut() {
                None => Err(bad(format!("{} comes before any linear layer", node.describe()))),
                Some(Item::Dense(l)) if l.activation.is_some() || l.norm_after.is_some() => Err(follows()),
                Some(Item::Dense(l)) => {
                    l.activation = Some(a);
                    Ok(())
                }
                Some(Item::Conv(c)) if c.activation.is_some() => Err(follows()),
                Some(Item::Conv(c)) => {
                    c.activation = Some(a);
                    Ok(())
                }
                Some(_) => Err(bad(format!("{} does not follow a linear or convolution layer", node.describe()))),
            }
        };
        if after_greater && node.op != "Cast" {
            return Err(bad(format!(
                "{} follows a Greater; neurite reads Greater(x, 0) then Cast as the step activation",
                node.describe()
            )));
        }
        // The first image operator makes the input an image: channels first as PyTorch
        // exports, or channels last then a Transpose as neurite exports.
        let image_op = matches!(
            node.op.as_str(),
            "Conv" | "MaxPool" | "AveragePool" | "GlobalAveragePool" | "ReduceMean" | "Transpose"
        );
        if image_op && layers.is_empty() && image.is_none() && input_image.is_none() {
            let [a, b, c] = input_4d()?;
            let shape = if node.op == "Transpose" { [a, b, c] } else { [b, c, a] };
            input_image = Some(shape);
            image = Some(shape);
            channels_first = node.op != "Transpose";
        }
        match node.op.as_str() {
            "Identity" | "Dropout" => {}
            "Transpose" => {
                let perm = node.ints_attr("perm");
                match (image, perm.as_slice(), channels_first) {
                    (Some(_), [0, 3, 1, 2], false) => channels_first = true,
                    (Some(_), [0, 2, 3, 1], true) => channels_first = false,
                    _ => {
                        return Err(bad(format!(
                            "{} permutes {perm:?}; neurite reads the transposes between channels-last and channels-first images",
                            node.describe()
                        )))
                    }
                }
            }
            "Conv" => {
                let [h, w, c] = image_channels_first(image, channels_first, node)?;
                let w_name = rest.first().ok_or_else(|| bad(format!("{} has no weight", node.describe())))?;
                let kernel = weight(w_name, node, budget)?;
                let &[filters, inputs, kh, kw] = kernel.shape() else {
                    return Err(bad(format!(
                        "{}: the weight has shape {}, not (out, in, height, width)",
                        node.describe(),
                        shape_str(kernel.shape())
                    )));
                };
                if node.int_attr("group", 1) != 1 {
                    return Err(bad(format!("{} is a grouped convolution (group={}); neurite's Conv2D has one group", node.describe(), node.int_attr("group", 1))));
                }
                if inputs != c {
                    return Err(bad(format!("{}: the weight takes {inputs} channels, the image has {c}", node.describe())));
                }
                let shape = node.ints_attr("kernel_shape");
                if !shape.is_empty() && shape != [kh as i64, kw as i64] {
                    return Err(bad(format!("{}: kernel_shape {shape:?} is not the weight's {kh}x{kw}", node.describe())));
                }
                let strides = window_strides(node)?;
                let padding = window_padding(node, [h, w], [kh, kw], strides, false)?;
                let [out_h, out_w] = window_output(node, [h, w], [kh, kw], strides, padding)?;
                let bias = match rest.get(1).filter(|s| !s.is_empty()) {
                    Some(b_name) => {
                        let b = weight(b_name, node, budget)?;
                        if b.shape() != [filters] {
                            return Err(bad(format!("{}: a bias of shape {} for {filters} filters", node.describe(), shape_str(b.shape()))));
                        }
                        Some((b_name.clone(), b))
                    }
                    None => None,
                };
                // ONNX's (out, in, kh, kw) as Keras' (kh, kw, in, out).
                let kernel = kernel.permute(&[2, 3, 1, 0])?.contiguous();
                layers.push(Item::Conv(ConvLayer { kernel: (w_name.clone(), kernel), bias, strides, padding, activation: None }));
                image = Some([out_h, out_w, filters]);
            }
            "MaxPool" | "AveragePool" => {
                let [h, w, c] = image_channels_first(image, channels_first, node)?;
                if node.outputs.len() > 1 {
                    return Err(bad(format!("{} also returns the indices; neurite reads the pooled values only", node.describe())));
                }
                if node.int_attr("ceil_mode", 0) != 0 {
                    return Err(bad(format!("{} rounds its output size up (ceil_mode=1); neurite's pooling rounds down as Keras does", node.describe())));
                }
                let &[kh, kw] = node.ints_attr("kernel_shape").as_slice() else {
                    return Err(bad(format!("{} has no 2-D kernel_shape", node.describe())));
                };
                let kernel = [usize::try_from(kh).unwrap_or(0), usize::try_from(kw).unwrap_or(0)];
                let strides = window_strides(node)?;
                let max = node.op == "MaxPool";
                let padding = window_padding(node, [h, w], kernel, strides, !max && node.int_attr("count_include_pad", 0) != 0)?;
                let [out_h, out_w] = window_output(node, [h, w], kernel, strides, padding)?;
                layers.push(Item::Pool { max, pool: kernel, strides, padding });
                image = Some([out_h, out_w, c]);
            }
            "GlobalAveragePool" => {
                let [_, _, c] = image_channels_first(image, channels_first, node)?;
                layers.push(Item::GlobalAverage { keepdims: true });
                image = Some([1, 1, c]);
            }
            "ReduceMean" if image.is_some() => {
                let [_, _, c] = image.unwrap_or_default();
                // The axes: an attribute before opset 18, an input from 18.
                let axes = match rest.first() {
                    Some(a) => constants.get(a).and_then(|t| t.ints.clone()).unwrap_or_default(),
                    None => node.ints_attr("axes"),
                };
                let mut axes: Vec<i64> = axes.iter().map(|&a| if a < 0 { a + 4 } else { a }).collect();
                axes.sort_unstable();
                let spatial: [i64; 2] = if channels_first { [2, 3] } else { [1, 2] };
                if axes != spatial {
                    return Err(bad(format!(
                        "{} averages over the axes {axes:?}; neurite reads the mean over the image's height and width (global average pooling)",
                        node.describe()
                    )));
                }
                if node.int_attr("keepdims", 1) != 0 {
                    layers.push(Item::GlobalAverage { keepdims: true });
                    image = Some([1, 1, c]);
                } else {
                    layers.push(Item::GlobalAverage { keepdims: false });
                    image = None;
                }
            }
            "Greater" => {
                let zero = rest.first().and_then(|c| constants.get(c)).and_then(|t| t.floats.as_ref()).map(|t| t.to_vec());
                if zero.as_deref() != Some(&[0.0][..]) {
                    return Err(bad(format!("{} compares with something other than the constant 0", node.describe())));
                }
                if !matches!(layers.last(), Some(Item::Dense(l)) if l.activation.is_none() && l.norm_after.is_none()) {
                    return Err(bad(format!("{} does not follow a linear layer", node.describe())));
                }
                after_greater = true;
            }
            "Cast" if after_greater && node.int_attr("to", 0) == FLOAT => {
                after_greater = false;
                set_activation(&mut layers, Activation::Step)?
            }
            "Flatten" | "Reshape" if image.is_some() => {
                let [h, w, c] = image.unwrap_or_default();
                let features = h
                    .checked_mul(w)
                    .and_then(|n| n.checked_mul(c))
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| bad(format!("{}: an image of {h}x{w}x{c} values is too large", node.describe())))?;
                if node.op == "Flatten" && node.int_attr("axis", 1) != 1 {
                    return Err(bad(format!("{} flattens from axis {}; neurite reads axis 1", node.describe(), node.int_attr("axis", 1))));
                }
                if node.op == "Reshape" {
                    let shape = rest.first().and_then(|s| constants.get(s)).and_then(|t| t.ints.clone());
                    let keeps_batch = |b: i64| b == -1 || b == 0 || batch.is_some_and(|n| n as i64 == b);
                    if !matches!(shape.as_deref(), Some(&[b, k]) if keeps_batch(b) && (k == features || k == -1)) {
                        return Err(bad(format!(
                            "{} reshapes an image of {features} values to {shape:?}; neurite reads a flattening to (batch, features)",
                            node.describe()
                        )));
                    }
                }
                if let Some(Item::GlobalAverage { keepdims: keepdims @ true }) = layers.last_mut() {
                    // Global pooling then Flatten (PyTorch's AdaptiveAvgPool2d(1), Flatten) is
                    // Keras' GlobalAveragePooling2D.
                    *keepdims = false;
                } else {
                    if channels_first {
                        flattened_image = Some([h, w, c]);
                    }
                    layers.push(Item::Flatten);
                }
                image = None;
                channels_first = false;
            }
            "Flatten" | "Reshape" if layers.is_empty() => {
                if node.op == "Flatten" && node.int_attr("axis", 1) != 1 {
                    return Err(bad(format!("{} flattens from axis {}; neurite reads axis 1", node.describe(), node.int_attr("axis", 1))));
                }
                if node.op == "Reshape" {
                    let shape = rest
                        .first()
                        .and_then(|s| constants.get(s))
                        .and_then(|t| t.ints.clone())
                        .ok_or_else(|| bad(format!("{} has no constant target shape", node.describe())))?;
                    match shape.as_slice() {
                        [-1 | 0, k] if *k > 0 => flattened_to = Some(*k),
                        _ => return Err(bad(format!("{} reshapes to {shape:?}; neurite reads a flattening to (batch, features)", node.describe()))),
                    }
                }
            }
            "Gemm" | "MatMul" if image.is_some() => {
                return Err(bad(format!("{} multiplies an image; neurite reads a Flatten before the first dense layer after images", node.describe())))
            }
            "Gemm" => {
                if node.int_attr("transA", 0) != 0 {
                    return Err(bad(format!("{} transposes its input (transA=1)", node.describe())));
                }
                let b_name = rest.first().ok_or_else(|| bad(format!("{} has no weight", node.describe())))?;
                let mut kernel = weight(b_name, node, budget)?;
                if kernel.ndim() != 2 {
                    return Err(bad(format!("{}: the weight has shape {}, not 2-D", node.describe(), shape_str(kernel.shape()))));
                }
                if node.int_attr("transB", 0) != 0 {
                    kernel = kernel.t()?.contiguous();
                }
                let alpha = node.float_attr("alpha", 1.0);
                if alpha != 1.0 {
                    kernel = &kernel * alpha;
                }
                let kernel = rows_in_neurite_order(kernel, flattened_image.take(), node)?;
                let bias = match rest.get(1).filter(|s| !s.is_empty()) {
                    Some(c) => {
                        let b = weight(c, node, budget)?;
                        let units = kernel.shape()[1];
                        if b.size() != units || b.ndim() > 2 || (b.ndim() == 2 && b.shape()[1] != units) {
                            return Err(bad(format!(
                                "{}: a bias of shape {} for {units} outputs (neurite reads a bias per output)",
                                node.describe(),
                                shape_str(b.shape())
                            )));
                        }
                        let beta = node.float_attr("beta", 1.0);
                        Some((c.clone(), &b.reshape(&[units as isize])? * beta))
                    }
                    None => None,
                };
                layers.push(Item::Dense(Box::new(Layer {
                    kernel,
                    kernel_name: b_name.clone(),
                    bias,
                    activation: None,
                    norm_after: None,
                })));
            }
            "MatMul" => {
                let name = rest.first().ok_or_else(|| bad(format!("{} has one input", node.describe())))?;
                let kernel = weight(name, node, budget)?;
                if kernel.ndim() != 2 {
                    return Err(bad(format!("{}: the weight has shape {}, not 2-D", node.describe(), shape_str(kernel.shape()))));
                }
                let kernel = rows_in_neurite_order(kernel, flattened_image.take(), node)?;
                layers.push(Item::Dense(Box::new(Layer { kernel, kernel_name: name.clone(), bias: None, activation: None, norm_after: None })));
            }
            "Add" => {
                let layer = match layers.last_mut() {
                    Some(Item::Dense(l)) if l.bias.is_none() && l.activation.is_none() && l.norm_after.is_none() => l,
                    _ => return Err(bad(format!("{} does not add a bias right after a MatMul", node.describe()))),
                };
                let name = rest.first().ok_or_else(|| bad(format!("{} has one input", node.describe())))?;
                let b = weight(name, node, budget)?;
                let units = layer.kernel.shape()[1];
                if b.size() != units || b.shape().last() != Some(&units) {
                    return Err(bad(format!("{}: a bias of shape {} for {units} outputs", node.describe(), shape_str(b.shape()))));
                }
                layer.bias = Some((name.clone(), b.reshape(&[units as isize])?));
            }
            "BatchNormalization" => {
                // Inference form: (x - mean) / sqrt(var + epsilon) * scale + bias, over the
                // features of (batch, features) rows, after a dense layer.
                if node.int_attr("training_mode", 0) != 0 || node.outputs.len() > 1 {
                    return Err(bad(format!("{} is in training mode; neurite reads the inference form", node.describe())));
                }
                let layer = match layers.last_mut() {
                    Some(Item::Dense(l)) if l.norm_after.is_none() => l,
                    _ => {
                        return Err(bad(format!(
                            "{} does not follow a dense layer (or follows another normalisation)",
                            node.describe()
                        )))
                    }
                };
                let units = layer.kernel.shape()[1];
                let mut get = |i: usize| -> Result<(String, Tensor)> {
                    let name = rest.get(i).ok_or_else(|| bad(format!("{} has {} inputs, not 5", node.describe(), rest.len() + 1)))?;
                    let t = weight(name, node, budget)?;
                    if t.shape() != [units] {
                        return Err(bad(format!(
                            "{}: {name:?} has shape {} for {units} features",
                            node.describe(),
                            shape_str(t.shape())
                        )));
                    }
                    Ok((name.clone(), t))
                };
                let tensors = [get(0)?, get(1)?, get(2)?, get(3)?];
                layer.norm_after = Some(Norm { tensors, epsilon: node.float_attr("epsilon", 1e-5) });
            }
            "Relu" => set_activation(&mut layers, Activation::Relu)?,
            "Sigmoid" => set_activation(&mut layers, Activation::Sigmoid)?,
            "Tanh" => set_activation(&mut layers, Activation::Tanh)?,
            "Softplus" => set_activation(&mut layers, Activation::Softplus)?,
            "LeakyRelu" => set_activation(&mut layers, Activation::LeakyRelu { alpha: node.float_attr("alpha", 0.01) })?,
            "Elu" => set_activation(&mut layers, Activation::Elu { alpha: node.float_attr("alpha", 1.0) })?,
            "Softmax" => {
                // Before opset 13 Softmax flattens from `axis` (default 1); from 13 it works on
                // `axis` (default -1). On (batch, classes) both mean the last axis; on an
                // image, neurite's softmax is over the channels.
                let axis = node.int_attr("axis", if opset >= 13 { -1 } else { 1 });
                let over_classes = match image {
                    None => axis == -1 || axis == 1,
                    Some(_) if channels_first => axis == 1 || axis == -3,
                    Some(_) => axis == -1 || axis == 3,
                };
                if !over_classes {
                    return Err(bad(format!("{} is over axis {axis}; neurite's softmax is over the classes", node.describe())));
                }
                set_activation(&mut layers, Activation::Softmax)?
            }
            op => {
                return Err(bad(format!(
                    "the operator {op} ({}) is not supported; neurite reads models made of Gemm, MatMul, Add, Conv, MaxPool, \
                     AveragePool, GlobalAveragePool, Flatten, Reshape, Transpose, BatchNormalization, Relu, Sigmoid, Tanh, \
                     LeakyRelu, Elu, Softplus, Softmax and Identity",
                    node.describe()
                )))
            }
        }
        current = out;
    }
    if current != *output {
        return Err(bad(format!("the graph's output {output:?} is not the end of the layer chain ({current:?})")));
    }
    if image.is_some() && channels_first && !matches!(layers.last(), Some(Item::GlobalAverage { .. })) {
        return Err(bad(
            "the graph ends on a channels-first image; neurite's images are channels last (end with a Flatten, or Transpose to (N, H, W, C))",
        ));
    }
    let input_shape = match input_image {
        Some(shape) => shape.to_vec(),
        None => {
            let first = layers.iter().find_map(|l| if let Item::Dense(d) = l { Some(d) } else { None });
            let first = first.ok_or_else(|| bad("the graph has no Gemm or MatMul layer"))?;
            let features = first.kernel.shape()[0];
            if let Some(k) = flattened_to.filter(|&k| k as usize != features) {
                return Err(bad(format!("the input is flattened to {k} features, the first layer takes {features}")));
            }
            let static_dims: Option<Vec<u64>> = input_dims.iter().skip(1).copied().collect();
            if let Some(dims) = static_dims.filter(|d| !d.is_empty()) {
                let n = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
                if n != Some(features as u64) {
                    return Err(bad(format!("the input {input:?} has dimensions {dims:?} after the batch, the first layer takes {features} features")));
                }
            }
            vec![features]
        }
    };
    let mut out = Vec::with_capacity(layers.len() + 1);
    if input_image.is_some() {
        out.push(NamedLayer::Input(input_shape));
    }
    for item in layers {
        match item {
            Item::Dense(l) => {
                out.push(NamedLayer::Dense {
                    kernel: (l.kernel_name, l.kernel),
                    bias: l.bias,
                    activation: l.activation.unwrap_or(Activation::Identity),
                });
                if let Some(n) = l.norm_after {
                    out.push(NamedLayer::BatchNormalization { tensors: n.tensors, epsilon: n.epsilon });
                }
            }
            Item::Conv(c) => out.push(NamedLayer::Conv2D {
                kernel: c.kernel,
                bias: c.bias,
                strides: c.strides,
                padding: c.padding,
                activation: c.activation.unwrap_or(Activation::Identity),
            }),
            Item::Pool { max, pool, strides, padding } => {
                out.push(NamedLayer::Pooling2D { max, pool, strides, padding })
            }
            Item::GlobalAverage { keepdims } => out.push(NamedLayer::GlobalAveragePooling2D { keepdims }),
            Item::Flatten => out.push(NamedLayer::Flatten),
        }
    }
    Ok(out)
}

/// The image a window operator reads, (height, width, channels), which must be channels
/// first (ONNX's order).
fn image_channels_first(image: Option<[usize; 3]>, channels_first: bool, node: &Node) -> Result<[usize; 3]> {
    match image {
        Some(shape) if channels_first => Ok(shape),
        Some(_) => {
            Err(bad(format!("{} reads a channels-last image; ONNX's {} takes (N, C, H, W)", node.describe(), node.op)))
        }
        None => {
            Err(bad(format!("{} does not read an image (it follows a flattening or a dense layer)", node.describe())))
        }
    }
}

/// A window operator's strides (1 by default) with its dilations checked (all 1).
fn window_strides(node: &Node) -> Result<[usize; 2]> {
    let dilations = node.ints_attr("dilations");
    if dilations.iter().any(|&d| d != 1) {
        return Err(bad(format!("{} is dilated ({dilations:?}); neurite's windows are not", node.describe())));
    }
    match node.ints_attr("strides").as_slice() {
        [] => Ok([1, 1]),
        &[h, w] if h > 0 && w > 0 => Ok([h as usize, w as usize]),
        other => Err(bad(format!("{}: strides {other:?} are not two positive numbers", node.describe()))),
    }
}

/// A window operator's padding as Keras': none (`valid`), or TensorFlow's split of `same`
/// (the smaller half before); any other padding is an error that gives both. With
/// `counts_padding` (an AveragePool with count_include_pad=1), padding is an error too, since
/// Keras averages over the image's cells only.
fn window_padding(
    node: &Node,
    size: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    counts_padding: bool,
) -> Result<Padding> {
    // TensorFlow's `same`: (before, after) per axis.
    let same: Vec<[usize; 2]> = (0..2)
        .map(|a| {
            let out = size[a].div_ceil(strides[a]);
            let total = ((out.max(1) - 1) * strides[a] + kernel[a]).saturating_sub(size[a]);
            [total / 2, total - total / 2]
        })
        .collect();
    let same_pads = [same[0][0], same[1][0], same[0][1], same[1][1]].map(|p| p as i64);
    let padding = match node.str_attr("auto_pad").unwrap_or("NOTSET") {
        "VALID" => Padding::Valid,
        "SAME_UPPER" => Padding::Same,
        "SAME_LOWER" if same.iter().all(|[b, a]| b == a) => Padding::Same,
        "NOTSET" | "" => {
            let pads = node.ints_attr("pads");
            if pads.is_empty() || pads.iter().all(|&p| p == 0) {
                Padding::Valid
            } else if pads == same_pads {
                Padding::Same
            } else {
                return Err(bad(format!(
                    "{} pads {pads:?} (top, left, bottom, right); neurite pads as Keras does: none, or `same` padding, which here is {same_pads:?}",
                    node.describe()
                )));
            }
        }
        other => {
            return Err(bad(format!(
            "{} has auto_pad {other}; neurite pads as Keras does (SAME_UPPER, or SAME_LOWER when the padding is even)",
            node.describe()
        )))
        }
    };
    if counts_padding && padding == Padding::Same && same_pads.iter().any(|&p| p != 0) {
        return Err(bad(format!(
            "{} averages over its padding (count_include_pad=1); Keras' AveragePooling2D averages over the image's cells only",
            node.describe()
        )));
    }
    Ok(padding)
}

/// The output's (height, width) of a window operator, or an error when the window does not fit.
fn window_output(
    node: &Node,
    size: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
) -> Result<[usize; 2]> {
    match (padding.output_size(size[0], kernel[0], strides[0]), padding.output_size(size[1], kernel[1], strides[1])) {
        (Some(h), Some(w)) => Ok([h, w]),
        _ => Err(bad(format!(
            "{}: a {}x{} window does not fit in a {}x{} image",
            node.describe(),
            kernel[0],
            kernel[1],
            size[0],
            size[1]
        ))),
    }
}

/// A dense kernel (inputs, outputs) whose input rows follow a flattened channels-first image
/// `(h, w, c)`, with its rows put in neurite's channels-last order.
fn rows_in_neurite_order(kernel: Tensor, image: Option<[usize; 3]>, node: &Node) -> Result<Tensor> {
    let Some([h, w, c]) = image else { return Ok(kernel) };
    let (rows, units) = (kernel.shape()[0], kernel.shape()[1]);
    if Some(rows) != h.checked_mul(w).and_then(|n| n.checked_mul(c)) {
        return Err(bad(format!(
            "{}: the weight takes {rows} inputs, the flattened image ({h}x{w}x{c}) has {}",
            node.describe(),
            (h as u128) * (w as u128) * (c as u128)
        )));
    }
    let chw = kernel.reshape(&[c as isize, h as isize, w as isize, units as isize])?;
    chw.permute(&[1, 2, 0, 3])?.contiguous().reshape(&[rows as isize, units as isize])
}

/// Reads an ONNX file; tensors kept in external data files (`model.onnx.data`, as
/// `torch.onnx.export(..., dynamo=True)` writes them) are read from its folder.
pub fn load_onnx(path: &std::path::Path) -> Result<Sequential> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut budget = ReadBudget::for_file(bytes.len() as u64);
    read_layers(&bytes, Some(dir), &mut budget).and_then(super::model_from_named_layers).map_err(|e| match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Dense;

    fn model(activations: &[Activation]) -> Sequential {
        let mut m = Sequential::with_seed(3);
        m.add(Dense::new(5).activation(activations[0]).input_shape(4)).unwrap();
        for &a in &activations[1..] {
            m.add(Dense::new(3).activation(a)).unwrap();
        }
        m
    }

    #[test]
    fn every_activation_round_trips() {
        for a in Activation::ALL {
            let m = model(&[a, Activation::Softmax]);
            let back = from_onnx(&to_onnx(&m).unwrap()).unwrap();
            assert_eq!(back.config().layers, m.config().layers, "{a}");
            assert_eq!(back.params().tensors().unwrap(), m.params().tensors().unwrap());
        }
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let m = model(&[Activation::Relu, Activation::Softmax]);
        let bytes = to_onnx(&m).unwrap();
        // A protobuf cut between two fields is a shorter valid message: here, one without its
        // last field (the opset). Any other cut is an error.
        for cut in 0..bytes.len() {
            if let Ok(back) = from_onnx(&bytes[..cut]) {
                assert_eq!(back.params().tensors().unwrap(), m.params().tensors().unwrap(), "cut at {cut}");
            }
        }
        for i in (0..bytes.len()).step_by(3) {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            let _ = from_onnx(&b);
        }
    }

    #[test]
    fn unsupported_operators_are_named() {
        let mut graph = Msg::default();
        graph.msg(1, node("LSTM", "lstm1", &["input", "w"], &["output"], vec![]));
        graph.msg(5, tensor_proto("w", &[1, 1, 3, 3], &[0.0; 9]));
        graph.msg(11, value_info("input", &[4]));
        graph.msg(12, value_info("output", &[4]));
        let mut m = Msg::default();
        m.int(1, IR_VERSION).msg(7, graph);
        let err = from_onnx(&m.0).err().unwrap().to_string();
        assert!(err.contains("the operator LSTM (LSTM node \"lstm1\") is not supported"), "{err}");
    }

    /// A graph of one window operator on (batch, 1, 5, 5) images, then Flatten, then a Gemm.
    fn one_window(op: &str, attrs: Vec<Msg>) -> Vec<u8> {
        let mut graph = Msg::default();
        let mut inputs = vec!["input"];
        if op == "Conv" {
            inputs.push("w");
            graph.msg(5, tensor_proto("w", &[1, 1, 3, 3], &[0.5; 9]));
        }
        graph.msg(1, node(op, "window", &inputs, &["h"], attrs));
        graph.msg(1, node("Flatten", "flat", &["h"], &["f"], vec![attr_int("axis", 1)]));
        graph.msg(1, node("Gemm", "dense", &["f", "g"], &["output"], vec![]));
        // 5x5 images give at most 25 features; the Gemm's rows follow the window's output.
        graph.msg(5, tensor_proto("g", &[9, 2], &[0.25; 18]));
        graph.msg(11, value_info("input", &[1, 5, 5]));
        graph.msg(12, value_info("output", &[2]));
        let mut m = Msg::default();
        m.int(1, IR_VERSION).msg(7, graph);
        m.0
    }

    #[test]
    fn window_operators_that_do_not_map_are_named() {
        let conv = |extra: Vec<Msg>| {
            let mut attrs = vec![attr_ints("kernel_shape", &[3, 3])];
            attrs.extend(extra);
            from_onnx(&one_window("Conv", attrs)).map(|m| m.summary()).map_err(|e| e.to_string())
        };
        // 5x5, 3x3 kernel, valid: 3x3 outputs, 9 features. Reads.
        assert!(conv(vec![]).is_ok(), "{:?}", conv(vec![]));
        assert!(conv(vec![attr_ints("dilations", &[1, 1]), attr_int("group", 1)]).is_ok());
        for (attrs, want) in [
            (vec![attr_ints("dilations", &[2, 2])], "is dilated"),
            (vec![attr_int("group", 2)], "grouped convolution"),
            (vec![attr_ints("pads", &[0, 0, 1, 1])], "neurite pads as Keras does"),
        ] {
            let err = conv(attrs).unwrap_err();
            assert!(err.contains(want) && err.contains("Conv node \"window\""), "{err}");
        }
        let pool = |op: &str, extra: Vec<Msg>| {
            let mut attrs = vec![attr_ints("kernel_shape", &[3, 3]), attr_ints("strides", &[1, 1])];
            attrs.extend(extra);
            from_onnx(&one_window(op, attrs)).map(|m| m.summary()).map_err(|e| e.to_string())
        };
        assert!(pool("MaxPool", vec![]).is_ok());
        assert!(pool("AveragePool", vec![attr_int("count_include_pad", 1)]).is_ok(), "no padding, nothing to count");
        let err = pool("MaxPool", vec![attr_int("ceil_mode", 1)]).unwrap_err();
        assert!(err.contains("ceil_mode=1"), "{err}");
        // `same` 3x3 on 5x5 pads 1 all round: 25 features, not the Gemm's 9, but the padding
        // is refused first when the average would count it.
        let err =
            pool("AveragePool", vec![attr_ints("pads", &[1, 1, 1, 1]), attr_int("count_include_pad", 1)]).unwrap_err();
        assert!(err.contains("count_include_pad=1"), "{err}");
        let err = pool("MaxPool", vec![attr_ints("pads", &[1, 1, 1, 1])]).unwrap_err();
        assert!(err.contains("the weight takes 9 inputs, the flattened image (5x5x1) has 25"), "{err}");
    }

    #[test]
    fn damaged_convnet_files_are_errors_not_panics() {
        use crate::nn::{AveragePooling2D, Conv2D, Flatten};
        let mut m = Sequential::with_seed(2);
        m.add(Conv2D::new(2, 2).strides(2, 1).padding(Padding::Same).input_shape(&[5, 4, 3])).unwrap();
        m.add(AveragePooling2D::new(2).padding(Padding::Same)).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(2)).unwrap();
        let bytes = to_onnx(&m).unwrap();
        for cut in 0..bytes.len() {
            let _ = from_onnx(&bytes[..cut]);
        }
        for i in 0..bytes.len() {
            for flip in [0xff, 0x01, 0x40] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let _ = from_onnx(&b);
            }
        }
        // An input whose image sizes overflow when multiplied.
        let mut graph = Msg::default();
        graph.msg(1, node("GlobalAveragePool", "g", &["input"], &["h"], vec![]));
        graph.msg(1, node("Flatten", "f", &["h"], &["output"], vec![]));
        graph.msg(11, value_info("input", &[1 << 40, 1 << 40, 1 << 40]));
        graph.msg(12, value_info("output", &[2]));
        let mut big = Msg::default();
        big.int(1, IR_VERSION).msg(7, graph);
        let err = from_onnx(&big.0).err().unwrap().to_string();
        assert!(err.contains("with fixed sizes"), "{err}");
    }

    #[test]
    fn a_convnet_round_trips_with_the_channel_order_handled() {
        use crate::nn::{Conv2D, Flatten, MaxPooling2D};
        let mut m = Sequential::with_seed(4);
        m.add(Conv2D::new(3, 3).padding(Padding::Same).activation(Activation::Relu).input_shape(&[6, 5, 2])).unwrap();
        m.add(MaxPooling2D::new(2)).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(4).activation(Activation::Softmax)).unwrap();
        let back = from_onnx(&to_onnx(&m).unwrap()).unwrap();
        assert_eq!(back.config().layers.len(), 4);
        assert_eq!(
            back.params().tensors().unwrap().iter().map(|t| t.1.clone()).collect::<Vec<_>>(),
            m.params().tensors().unwrap().iter().map(|t| t.1.clone()).collect::<Vec<_>>()
        );
        assert_eq!(back.input_shape().unwrap(), [6, 5, 2]);
    }

    /// A model of `layers` MatMul nodes that all use the initializer "w" (`n` x `n`), whose
    /// data is inside or, with `external`, in the file `external` names.
    fn shared_matmuls(layers: usize, n: usize, external: Option<(&str, u64, u64)>) -> Vec<u8> {
        let mut graph = Msg::default();
        for i in 0..layers {
            let from = if i == 0 { "input".to_string() } else { format!("h{i}") };
            let to = if i + 1 == layers { "output".to_string() } else { format!("h{}", i + 1) };
            graph.msg(1, node("MatMul", &format!("m{i}"), &[&from, "w"], &[&to], vec![]));
        }
        let w = match external {
            None => tensor_proto("w", &[n, n], &vec![0.5; n * n]),
            Some((location, offset, length)) => {
                let mut t = Msg::default();
                t.int(1, n as i64).int(1, n as i64).int(2, FLOAT).str(8, "w");
                for (k, v) in
                    [("location", location.to_string()), ("offset", offset.to_string()), ("length", length.to_string())]
                {
                    let mut entry = Msg::default();
                    entry.str(1, k).str(2, &v);
                    t.msg(13, entry);
                }
                t.int(14, 1);
                t
            }
        };
        graph.msg(5, w);
        graph.msg(11, value_info("input", &[n]));
        graph.msg(12, value_info("output", &[n]));
        let mut m = Msg::default();
        m.int(1, IR_VERSION).msg(7, graph);
        m.0
    }

    #[test]
    fn an_initializer_shared_by_many_nodes_is_counted_per_node() {
        // Issue 26: 100 MatMul nodes on one 4 MB initializer took 1.66 GB (a copy per node).
        // Here 100 nodes on 1 MB: refused before the layers are built.
        let err = from_onnx(&shared_matmuls(100, 512, None)).err().unwrap().to_string();
        assert!(err.contains("MatMul node \"m") && err.contains("using the initializer \"w\""), "{err}");
        assert!(err.contains("4 times the file"), "{err}");
        // Two layers on one initializer (tied weights) read.
        let tied = from_onnx(&shared_matmuls(2, 512, None)).unwrap();
        assert_eq!(tied.param_count(), 2 * 512 * 512);
    }

    #[test]
    fn external_data_is_read_from_the_models_folder_only() {
        let dir = std::env::temp_dir().join(format!("neurite-onnx-external-{}", std::process::id()));
        let inside = dir.join("model");
        std::fs::create_dir_all(&inside).unwrap();
        let values: Vec<u8> = (0..4).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let mut data = vec![0xAB; 16];
        data.extend_from_slice(&values);
        std::fs::write(inside.join("model.onnx.data"), &data).unwrap();
        std::fs::write(dir.join("secret.data"), &data).unwrap();
        let load = |location: &str, offset: u64, length: u64| {
            let path = inside.join("model.onnx");
            std::fs::write(&path, shared_matmuls(1, 2, Some((location, offset, length)))).unwrap();
            load_onnx(&path).map(|m| m.params().tensors().unwrap()[0].1.to_vec()).map_err(|e| e.to_string())
        };
        assert_eq!(load("model.onnx.data", 16, 16).unwrap(), [0.0, 1.0, 2.0, 3.0]);
        for (location, offset, length, want) in [
            ("../secret.data", 16, 16, "is not a plain path inside the model's folder"),
            (dir.join("secret.data").to_str().unwrap(), 16, 16, "is not a plain path inside the model's folder"),
            ("model.onnx.data", 8, 24, "has 6 values, it needs 4"),
            ("model.onnx.data", 16, 1 << 40, "lie beyond the end of"),
            ("model.onnx.data", u64::MAX, 16, "lie beyond the end of"),
            ("missing.data", 0, 16, "missing.data"),
        ] {
            let err = load(location, offset, length).unwrap_err();
            assert!(err.contains(want), "{location} {offset} {length}: {err}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("secret.data"), inside.join("link.data")).unwrap();
            let err = load("link.data", 16, 16).unwrap_err();
            assert!(err.contains("leads out of the model's folder"), "{err}");
        }
        // Without a folder (bytes alone), a clear error.
        let err = from_onnx(&shared_matmuls(1, 2, Some(("model.onnx.data", 16, 16)))).err().unwrap().to_string();
        assert!(err.contains("keeps its data in the external file"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn shapes_that_lie_are_errors() {
        // A tensor that declares 10^12 values but holds 4 bytes.
        let t = tensor_proto("w", &[1_000_000, 1_000_000], &[1.0]);
        assert!(parse_tensor(&t.0).unwrap_err().to_string().contains("has 1 values, it needs 1000000000000"));
        let t = tensor_proto("w", &[usize::MAX, 3], &[1.0]);
        assert!(parse_tensor(&t.0).is_err());
    }
}
