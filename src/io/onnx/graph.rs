//! ONNX export of a traced autograd graph ([`graph_to_onnx`], documented there).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{
    activation_nodes, attr_int, attr_ints, model_proto, node, tensor_proto, tensor_proto_i64, tensor_proto_raw,
    value_info_dims, Dim, Msg,
};
use crate::autograd::{Op, Var};
use crate::error::{shape_str, Error, Result};
use crate::nn::{Activation, LayerConfig};

/// ONNX's element type number of booleans.
const BOOL: i64 = 9;

/// The bytes of an ONNX model computing `outputs` from `inputs`, from the graph neurite's
/// autograd recorded between them: what `torch.onnx.export(model, example, path)` does for
/// a `neurite.torch` module.
///
/// The forward pass is run once on an example input **with gradient recording on** and the
/// input marked as requiring a gradient (so that every operation is recorded, see
/// [`Var::op`]); this function then walks the recorded graph from the outputs back to the
/// inputs (matched by [`Var::id`]) and writes one ONNX operator (a few for some) per
/// recorded operation, with the writer, opset ([`OPSET`](crate::io::onnx::OPSET)) and IR version of
/// [`to_onnx`](crate::io::onnx::to_onnx).
///
/// A variable computed under [`no_grad`](crate::autograd::no_grad), or from constants only,
/// was not recorded: it is a leaf holding its value, and is written as a constant
/// initializer, whatever computed it. An input that no output depends on through recorded
/// operations is therefore an error (the forward was traced without recording).
///
/// Operations written (neurite's [`Op`] → ONNX): `add`, `sub`, `mul`, `div`, `pow` →
/// `Add`, `Sub`, `Mul`, `Div`, `Pow` (broadcasting as NumPy); `maximum`, `minimum` → `Max`,
/// `Min`; `add_scalar`, `mul_scalar`, `powf` → `Add`, `Mul`, `Pow` with a scalar initializer;
/// `neg`, `exp`, `log`, `sqrt`, `abs` → `Neg`, `Exp`, `Log`, `Sqrt`, `Abs`; `clamp` → `Clip`;
/// the activations `relu`, `sigmoid`, `tanh`, `leaky_relu`, `elu`, `softplus`, `softmax` (last
/// axis; another axis is recorded as transposes around it) → their operators as
/// [`to_onnx`](crate::io::onnx::to_onnx) writes them (`step` → `Greater` and `Cast`, `linear` →
/// `Identity`); `log_softmax` → `LogSoftmax`; `matmul` → `MatMul` (1-D, 2-D and batched with
/// broadcasting, the same rules); `sum`, `mean`, `max` and their `_axis` forms (with
/// `keepdim`) → `ReduceSum`, `ReduceMean`, `ReduceMax`; `reshape` (also `flatten`,
/// `squeeze`, `unsqueeze`) → `Reshape`, or `Squeeze`/`Unsqueeze`; `transpose`, `t`,
/// `permute` → `Transpose`; `broadcast_to` → `Expand`; `cat` (and `stack`, recorded as
/// unsqueezes and a `cat`) → `Concat`; `narrow` → `Slice`; `index_select` → `Gather`; `where`
/// → `Where` with the condition as a boolean initializer. Of the custom operations (layers
/// and losses run as one, [`Var::custom`]), a `Dropout` whose output equals its input (at
/// inference) is `Identity` and a `Flatten` or `Reshape` layer is `Reshape`; any other
/// (`Dense`, `Conv2D`, `BatchNormalization`, the losses, a dropout in training mode) is
/// refused with an error naming it.
///
/// With `dynamic_batch`, the first axis of every input is named `batch` instead of fixed,
/// and the graph follows that axis through the operations so that it stays free: a reshape
/// keeps it (`-1` where it lands, also when it merges it with the axes after it, as a
/// flatten of the whole batch does, or splits such an axis back) and an output declares it
/// where it ends up (`batch`, or `batch_times_<n>` for a merged axis). A reshape
/// that splits the batch axis among others cannot be written so and is refused; export
/// with a fixed batch then. Trace with a batch of more than one example: with one, a
/// reshape cannot tell the batch axis from another of size 1.
///
/// * `inputs`: the graph's inputs, each named, as the forward pass received them (their
///   values give the example shape);
/// * `outputs`: the results the forward pass returned, named;
/// * `parameters`: the model's parameters by name (`fc1.weight`), matched by [`Var::id`]:
///   each one the graph uses becomes an initializer under its name. Any other leaf the
///   graph reaches (a constant tensor, or a value computed without recording) becomes an
///   initializer named `constant_<n>`;
/// * `dynamic_batch`: the first axis of every input is symbolic (`batch`).
///
/// The forward pass must have been run with gradient recording on (not under
/// [`no_grad`](crate::autograd::no_grad)) and every input must require a gradient, or the
/// operations on it were not recorded: an input no output depends on is an error that says
/// so. Names must be non-empty and distinct; a parameter holding NaN or an infinite value is
/// refused with its name.
///
/// ```
/// use neurite::{io, Tensor, Var};
/// let x = Var::parameter(Tensor::from_vec(vec![1.0, -2.0, 3.0, -4.0, 5.0, -6.0], &[2, 3])?);
/// let w = Var::parameter(Tensor::from_vec(vec![0.5; 6], &[3, 2])?);
/// let b = Var::parameter(Tensor::from_vec(vec![0.1, 0.2], &[2])?);
/// let y = x.matmul(&w)?.add(&b)?.relu()?;
/// let bytes = io::graph_to_onnx(
///     &[("x".into(), x)],
///     &[("y".into(), y)],
///     &[("fc.weight".into(), w), ("fc.bias".into(), b)],
///     true,
/// )?;
/// assert!(bytes.windows(6).any(|w| w == b"MatMul"));
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn graph_to_onnx(
    inputs: &[(String, Var)],
    outputs: &[(String, Var)],
    parameters: &[(String, Var)],
    dynamic_batch: bool,
) -> Result<Vec<u8>> {
    Exporter::new(dynamic_batch).export(inputs, outputs, parameters)
}

/// Writes [`graph_to_onnx`]'s model to `path` atomically (a temporary file beside it,
/// renamed into place). Errors name the path.
pub fn save_graph_onnx(
    inputs: &[(String, Var)],
    outputs: &[(String, Var)],
    parameters: &[(String, Var)],
    dynamic_batch: bool,
    path: &Path,
) -> Result<()> {
    let bytes = graph_to_onnx(inputs, outputs, parameters, dynamic_batch).map_err(|e| e.context(path.display()))?;
    crate::io::write_atomic(path, &bytes)
}

fn err(what: impl std::fmt::Display) -> Error {
    Error::Value(format!("onnx export: {what}"))
}

/// The error for an operation with no ONNX counterpart here.
fn refuse(op: &str, from: &str) -> Error {
    err(format!("the operation `{op}` ({from}) has no ONNX counterpart here"))
}

fn ints(values: &[usize]) -> Vec<i64> {
    values.iter().map(|&v| v as i64).collect()
}

/// Where a value's batch lies: the axis, and the factor its size is of the batch (1, or
/// more once the batch axis was merged with the axes after it: (batch, 6) flattened is
/// (batch * 6,)). The batch is the outer part of that axis.
type Batch = Option<(usize, usize)>;

/// The batch of a broadcast result of `out_n` axes from an input of `in_n` axes whose batch
/// is `b`.
fn broadcast_axis(out_n: usize, in_n: usize, b: Batch) -> Batch {
    b.and_then(|(b, f)| Some(((out_n + b).checked_sub(in_n)?, f)))
}

/// `b` with its axis mapped by `f` (None: the batch axis is gone).
fn moved(b: Batch, f: impl FnOnce(usize) -> Option<usize>) -> Batch {
    b.and_then(|(axis, factor)| Some((f(axis)?, factor)))
}

struct Exporter {
    /// The nodes, as a GraphProto's field 1.
    nodes: Msg,
    initializers: Vec<Msg>,
    /// Each variable's value name, by id.
    names: HashMap<u64, String>,
    /// Each variable's batch, by id, when the batch is dynamic and it has one.
    batch: HashMap<u64, Batch>,
    /// The batch the graph was traced with.
    traced_batch: usize,
    used: HashSet<String>,
    counter: usize,
    dynamic: bool,
}

impl Exporter {
    fn new(dynamic: bool) -> Exporter {
        Exporter {
            nodes: Msg::default(),
            initializers: Vec::new(),
            names: HashMap::new(),
            batch: HashMap::new(),
            used: HashSet::new(),
            traced_batch: 1,
            counter: 0,
            dynamic,
        }
    }

    /// A name no value, node or initializer has yet, from `hint`.
    fn fresh(&mut self, hint: &str) -> String {
        loop {
            let name = format!("{hint}_{}", self.counter);
            self.counter += 1;
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }

    fn add_node(&mut self, op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<Msg>) {
        let name = self.fresh(op);
        self.nodes.msg(1, node(op, &name, inputs, outputs, attrs));
    }

    fn const_i64(&mut self, hint: &str, values: &[i64]) -> String {
        let name = self.fresh(hint);
        self.initializers.push(tensor_proto_i64(&name, values));
        name
    }

    fn const_f32(&mut self, hint: &str, value: f32) -> String {
        let name = self.fresh(hint);
        self.initializers.push(tensor_proto(&name, &[], &[value]));
        name
    }

    fn name(&self, v: &Var) -> Result<String> {
        self.names.get(&v.id()).cloned().ok_or_else(|| err(format!("internal: variable {} has no name", v.id())))
    }

    fn batch_of(&self, v: &Var) -> Batch {
        self.batch.get(&v.id()).copied().flatten()
    }

    fn export(
        mut self,
        inputs: &[(String, Var)],
        outputs: &[(String, Var)],
        parameters: &[(String, Var)],
    ) -> Result<Vec<u8>> {
        if outputs.is_empty() {
            return Err(err("no outputs to export"));
        }
        // Every given name once.
        let mut given = HashSet::new();
        for (kind, list) in [("input", inputs), ("output", outputs), ("parameter", parameters)] {
            for (name, _) in list {
                if name.is_empty() {
                    return Err(err(format!("an {kind} with an empty name")));
                }
                if !given.insert(name.as_str()) {
                    return Err(err(format!(
                        "the name `{name}` is given twice (the {kind} names must be distinct from every other)"
                    )));
                }
            }
        }
        self.used.extend(given.iter().map(|s| s.to_string()));
        let mut params: HashMap<u64, &str> = HashMap::new();
        for (name, v) in parameters {
            params.entry(v.id()).or_insert(name.as_str());
        }
        for (name, v) in inputs {
            if params.contains_key(&v.id()) {
                return Err(err(format!("the input `{name}` is also the parameter `{}`", params[&v.id()])));
            }
            if self.names.insert(v.id(), name.clone()).is_some() {
                return Err(err(format!("the input `{name}` is the same variable as another input")));
            }
            let shape = v.shape();
            let b = if self.dynamic {
                let Some(&batch) = shape.first() else {
                    return Err(err(format!("the input `{name}` is 0-d: it has no batch axis to make dynamic")));
                };
                if self.names.len() > 1 && batch != self.traced_batch {
                    return Err(err(format!(
                        "the input `{name}` has a batch of {batch}, the one before {}: a dynamic batch is one size for every input",
                        self.traced_batch
                    )));
                }
                self.traced_batch = batch;
                Some((0, 1))
            } else {
                None
            };
            self.batch.insert(v.id(), b);
        }

        // The recorded operations from the outputs back to the inputs, inputs first
        // (iterative, so that a deep graph cannot overflow the stack).
        let mut order: Vec<Var> = Vec::new();
        let mut leaves: Vec<Var> = Vec::new();
        let mut seen: HashSet<u64> = HashSet::new();
        let mut stack: Vec<(Var, bool)> = outputs.iter().rev().map(|(_, v)| (v.clone(), false)).collect();
        while let Some((v, expanded)) = stack.pop() {
            if expanded {
                order.push(v);
                continue;
            }
            if !seen.insert(v.id()) || self.names.contains_key(&v.id()) {
                continue;
            }
            match v.op() {
                None => leaves.push(v),
                Some(op) => {
                    let ins = op.inputs();
                    stack.push((v.clone(), true));
                    for i in ins.into_iter().rev() {
                        if !seen.contains(&i.id()) {
                            stack.push((i, false));
                        }
                    }
                }
            }
        }
        // Every input must be reached.
        let reached: HashSet<u64> = order
            .iter()
            .flat_map(|v| v.op().map(Op::inputs).unwrap_or_default())
            .chain(outputs.iter().map(|(_, v)| v.clone()))
            .map(|v| v.id())
            .collect();
        for (name, v) in inputs {
            if !reached.contains(&v.id()) {
                return Err(err(format!(
                    "no output depends on the input `{name}` through recorded operations: trace the forward pass with \
                     gradient recording on (not under no_grad) and the input marked as requiring grad"
                )));
            }
        }

        // Leaves: parameters under their names, any other as a constant.
        for v in &leaves {
            let value = v.value();
            let name = match params.get(&v.id()) {
                Some(&name) => {
                    crate::io::check_finite(&[(name.to_string(), value.clone())])
                        .map_err(|e| e.context("onnx export"))?;
                    name.to_string()
                }
                None => self.fresh("constant"),
            };
            self.initializers.push(tensor_proto(&name, value.shape(), &value.to_vec()));
            self.names.insert(v.id(), name);
            self.batch.insert(v.id(), None);
        }

        // The operations, each output written under its output name when it is one.
        let mut output_of: HashMap<u64, &str> = HashMap::new();
        for (name, v) in outputs {
            output_of.entry(v.id()).or_insert(name.as_str());
        }
        for v in &order {
            let Some(op) = v.op() else { continue };
            let out = match output_of.get(&v.id()) {
                Some(&name) => name.to_string(),
                None => self.fresh(op.name()),
            };
            let b = self.emit(v, op, &out).map_err(|e| e.context(format!("operation `{}`", op.name())))?;
            self.names.insert(v.id(), out);
            self.batch.insert(v.id(), if self.dynamic { b } else { None });
        }
        // Outputs that are another value (an input, a leaf, the same variable twice) are
        // copied to their name.
        for (name, v) in outputs {
            let from = self.name(v)?;
            if &from != name {
                self.add_node("Identity", &[&from], &[name], vec![]);
            }
        }

        let mut graph = self.nodes;
        graph.str(2, "neurite_graph");
        for init in self.initializers {
            graph.msg(5, init);
        }
        for (name, v) in inputs {
            let shape = v.shape();
            let dims: Vec<Dim> = shape
                .iter()
                .enumerate()
                .map(|(i, &d)| if self.dynamic && i == 0 { Dim::Symbolic("batch") } else { Dim::Fixed(d) })
                .collect();
            graph.msg(11, value_info_dims(name, &dims));
        }
        for (name, v) in outputs {
            let shape = v.shape();
            let b = self.batch.get(&v.id()).copied().flatten();
            let merged = b.map(|(_, f)| format!("batch_times_{f}"));
            let dims: Vec<Dim> = shape
                .iter()
                .enumerate()
                .map(|(i, &d)| match b {
                    Some((axis, 1)) if axis == i => Dim::Symbolic("batch"),
                    Some((axis, _)) if axis == i => Dim::Symbolic(merged.as_deref().unwrap_or("batch")),
                    _ => Dim::Fixed(d),
                })
                .collect();
            graph.msg(12, value_info_dims(name, &dims));
        }
        Ok(model_proto(graph))
    }

    /// Writes the nodes of `op` (which computed `v`) into the value `out`; returns the
    /// result's batch axis.
    fn emit(&mut self, v: &Var, op: &Op, out: &str) -> Result<Batch> {
        let out_shape = v.shape();
        let out_n = out_shape.len();
        let ins = op.inputs();
        let names = ins.iter().map(|i| self.name(i)).collect::<Result<Vec<_>>>()?;
        let x = names.first().map(String::as_str).unwrap_or("");
        let xb = ins.first().and_then(|i| self.batch_of(i));
        let x_n = ins.first().map_or(0, |i| i.shape().len());
        // The batch axis of an element-wise result of several inputs.
        let elementwise =
            |this: &Exporter| ins.iter().find_map(|i| broadcast_axis(out_n, i.shape().len(), this.batch_of(i)));
        match op {
            Op::Add(..) | Op::Sub(..) | Op::Mul(..) | Op::Div(..) | Op::Pow(..) | Op::Maximum(..) | Op::Minimum(..) => {
                let onnx = match op {
                    Op::Add(..) => "Add",
                    Op::Sub(..) => "Sub",
                    Op::Mul(..) => "Mul",
                    Op::Div(..) => "Div",
                    Op::Pow(..) => "Pow",
                    Op::Maximum(..) => "Max",
                    _ => "Min",
                };
                self.add_node(onnx, &[x, &names[1]], &[out], vec![]);
                Ok(elementwise(self))
            }
            Op::AddScalar(_, s) | Op::MulScalar(_, s) | Op::PowScalar(_, s) => {
                let (onnx, hint) = match op {
                    Op::AddScalar(..) => ("Add", "addend"),
                    Op::MulScalar(..) => ("Mul", "factor"),
                    _ => ("Pow", "exponent"),
                };
                let c = self.const_f32(hint, *s);
                self.add_node(onnx, &[x, &c], &[out], vec![]);
                Ok(xb)
            }
            Op::Neg(_) | Op::Exp(_) | Op::Log(_) | Op::Sqrt(_) | Op::Abs(_) => {
                let onnx = match op {
                    Op::Neg(_) => "Neg",
                    Op::Exp(_) => "Exp",
                    Op::Log(_) => "Log",
                    Op::Sqrt(_) => "Sqrt",
                    _ => "Abs",
                };
                self.add_node(onnx, &[x], &[out], vec![]);
                Ok(xb)
            }
            Op::Clamp(_, lo, hi) => {
                let (lo, hi) = (self.const_f32("min", *lo), self.const_f32("max", *hi));
                self.add_node("Clip", &[x, &lo, &hi], &[out], vec![]);
                Ok(xb)
            }
            Op::Activation(_, activation, _) => {
                if *activation == Activation::Identity {
                    self.add_node("Identity", &[x], &[out], vec![]);
                } else {
                    let name = self.fresh(activation.name());
                    activation_nodes(&mut self.nodes, &mut self.initializers, &name, *activation, [x, out], -1);
                }
                Ok(xb)
            }
            Op::LogSoftmax(_, axis) => {
                self.add_node("LogSoftmax", &[x], &[out], vec![attr_int("axis", *axis as i64)]);
                Ok(xb)
            }
            Op::MatMul(a, b) => {
                self.add_node("MatMul", &[x, &names[1]], &[out], vec![]);
                let (na, nb) = (a.shape().len(), b.shape().len());
                let (ba, bb) = (self.batch_of(a), self.batch_of(b));
                Ok(match (na, nb) {
                    (1, 1) => None,
                    (_, 1) => moved(ba, |i| (i + 1 < na).then_some(i)),
                    (1, _) => moved(bb, |j| {
                        if j + 2 < nb {
                            Some(j)
                        } else if j + 1 == nb {
                            Some(nb - 2)
                        } else {
                            None
                        }
                    }),
                    _ => moved(ba, |i| (i + 1 < na).then(|| out_n + i - na))
                        .or_else(|| moved(bb, |j| (j + 2 != nb).then(|| out_n + j - nb))),
                })
            }
            Op::Linear(input, _, bias) => {
                let x_n = input.shape().len();
                if x_n == 2 {
                    // ONNX's Gemm is PyTorch's linear on a batch: A B^T + C.
                    let mut inputs = vec![x, names[1].as_str()];
                    if bias.is_some() {
                        inputs.push(names[2].as_str());
                    }
                    self.add_node("Gemm", &inputs, &[out], vec![attr_int("transB", 1)]);
                } else {
                    let w_t = self.fresh("weight_t");
                    self.add_node("Transpose", &[&names[1]], &[&w_t], vec![attr_ints("perm", &[1, 0])]);
                    if bias.is_some() {
                        let product = self.fresh("linear");
                        self.add_node("MatMul", &[x, &w_t], &[&product], vec![]);
                        self.add_node("Add", &[&product, &names[2]], &[out], vec![]);
                    } else {
                        self.add_node("MatMul", &[x, &w_t], &[out], vec![]);
                    }
                }
                Ok(moved(xb, |i| (i + 1 < x_n).then_some(i)))
            }
            Op::Sum(_) | Op::Mean(_) | Op::Max(_) => {
                let onnx = match op {
                    Op::Sum(_) => "ReduceSum",
                    Op::Mean(_) => "ReduceMean",
                    _ => "ReduceMax",
                };
                self.add_node(onnx, &[x], &[out], vec![attr_int("keepdims", 0)]);
                Ok(None)
            }
            Op::SumAxis(_, axis, keepdim) | Op::MeanAxis(_, axis, keepdim) | Op::MaxAxis(_, axis, keepdim) => {
                let keep = attr_int("keepdims", i64::from(*keepdim));
                match op {
                    Op::SumAxis(..) => {
                        // Opset 13 on: the axes are an input.
                        let axes = self.const_i64("axes", &[*axis as i64]);
                        self.add_node("ReduceSum", &[x, &axes], &[out], vec![keep]);
                    }
                    Op::MeanAxis(..) => {
                        self.add_node("ReduceMean", &[x], &[out], vec![attr_ints("axes", &[*axis as i64]), keep])
                    }
                    _ => self.add_node("ReduceMax", &[x], &[out], vec![attr_ints("axes", &[*axis as i64]), keep]),
                }
                Ok(moved(xb, |b| match b.cmp(axis) {
                    std::cmp::Ordering::Equal => None,
                    std::cmp::Ordering::Less => Some(b),
                    std::cmp::Ordering::Greater => Some(if *keepdim { b } else { b - 1 }),
                }))
            }
            Op::Reshape(a) => self.reshape(x, xb, &a.shape(), &out_shape, out),
            Op::Transpose(_, d0, d1) => {
                let mut perm: Vec<usize> = (0..x_n).collect();
                if *d0 >= x_n || *d1 >= x_n {
                    return Err(err(format!("axes {d0} and {d1} of a {x_n}-d tensor")));
                }
                perm.swap(*d0, *d1);
                self.add_node("Transpose", &[x], &[out], vec![attr_ints("perm", &ints(&perm))]);
                Ok(moved(xb, |b| perm.iter().position(|&p| p == b)))
            }
            Op::Permute(_, order) => {
                self.add_node("Transpose", &[x], &[out], vec![attr_ints("perm", &ints(order))]);
                Ok(moved(xb, |b| order.iter().position(|&p| p == b)))
            }
            Op::BroadcastTo(_) => {
                let b = broadcast_axis(out_n, x_n, xb);
                let mut target = ints(&out_shape);
                if let Some((b, _)) = b.filter(|_| self.dynamic) {
                    // 1 broadcasts to whatever the batch is.
                    target[b] = 1;
                }
                let shape = self.const_i64("shape", &target);
                self.add_node("Expand", &[x, &shape], &[out], vec![]);
                Ok(b)
            }
            Op::Cat(parts, axis) => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                self.add_node("Concat", &refs, &[out], vec![attr_int("axis", *axis as i64)]);
                Ok(parts.iter().find_map(|p| self.batch_of(p)).filter(|(b, _)| b != axis))
            }
            Op::Narrow(_, axis, start) => {
                let len = out_shape.get(*axis).copied().unwrap_or(0);
                let starts = self.const_i64("starts", &[*start as i64]);
                let ends = self.const_i64("ends", &[(*start + len) as i64]);
                let axes = self.const_i64("axes", &[*axis as i64]);
                self.add_node("Slice", &[x, &starts, &ends, &axes], &[out], vec![]);
                Ok(xb.filter(|(b, _)| b != axis))
            }
            Op::IndexSelect(_, axis, indices) => {
                let indices = self.const_i64("indices", &ints(indices));
                self.add_node("Gather", &[x, &indices], &[out], vec![attr_int("axis", *axis as i64)]);
                Ok(xb.filter(|(b, _)| b != axis))
            }
            Op::Where(cond, ..) => {
                let name = self.fresh("condition");
                let raw: Vec<u8> = cond.to_vec().iter().map(|&c| u8::from(c != 0.0)).collect();
                self.initializers.push(tensor_proto_raw(&name, cond.shape(), BOOL, &raw));
                self.add_node("Where", &[&name, x, &names[1]], &[out], vec![]);
                Ok(elementwise(self))
            }
            Op::Custom { name, inputs, described, .. } => match (name.to_ascii_lowercase().as_str(), inputs.as_slice()) {
                ("conv2d" | "maxpooling2d", [input, ..]) if described.is_some() => {
                    self.window_layer(name, described.as_deref().unwrap_or(""), input, &names, out, xb)
                }
                ("dropout", [input, ..]) => {
                    if input.value() != v.value() {
                        return Err(refuse(
                            name,
                            "a dropout that dropped values: put the model in evaluation mode before exporting",
                        ));
                    }
                    self.add_node("Identity", &[x], &[out], vec![]);
                    Ok(xb)
                }
                ("flatten" | "reshape", [input]) => self.reshape(x, xb, &input.shape(), &out_shape, out),
                _ => Err(refuse(
                    name,
                    "a layer or loss run as one custom operation; write it with tensor operations (matmul, add, ...) to export it",
                )),
            },
        }
    }

    /// A convolution or a max pooling the library ran channels last (`(N, H, W, C)`, a kernel
    /// `(kh, kw, in, out)`): ONNX's `Conv` or `MaxPool`, which are channels first, between two
    /// `Transpose`s (and the kernel transposed to `(out, in, kh, kw)`). The window's geometry
    /// comes from the layer's configuration recorded with the operation.
    fn window_layer(
        &mut self,
        op: &str,
        described: &str,
        input: &Var,
        names: &[String],
        out: &str,
        xb: Batch,
    ) -> Result<Batch> {
        let config: LayerConfig = serde_json::from_str(described)
            .map_err(|e| refuse(op, &format!("its recorded configuration is not readable ({e})")))?;
        let shape = input.shape();
        if shape.len() != 4 {
            return Err(refuse(op, "an input that is not a batch of images"));
        }
        let image = &shape[1..];
        let nchw = self.fresh("nchw");
        self.add_node("Transpose", &[&names[0]], &[&nchw], vec![attr_ints("perm", &[0, 3, 1, 2])]);
        let result = self.fresh("nchw_out");
        match &config {
            LayerConfig::Conv2D(c) => {
                if c.activation != Activation::Identity {
                    return Err(refuse(op, "a convolution with its activation inside"));
                }
                let window = crate::nn::window_plan(op, image, c.kernel_size, c.strides, c.padding)?;
                let kernel = self.fresh("kernel_oihw");
                self.add_node("Transpose", &[&names[1]], &[&kernel], vec![attr_ints("perm", &[3, 2, 0, 1])]);
                let mut inputs = vec![nchw.as_str(), kernel.as_str()];
                if let Some(bias) = names.get(2) {
                    inputs.push(bias);
                }
                self.add_node("Conv", &inputs, &[&result], super::conv_attributes(&window));
            }
            LayerConfig::MaxPooling2D(c) => {
                let window = c.window(op, image)?;
                self.add_node("MaxPool", &[&nchw], &[&result], super::pool_attributes(&window, true));
            }
            _ => return Err(refuse(op, "a layer this exporter does not write")),
        }
        self.add_node("Transpose", &[&result], &[out], vec![attr_ints("perm", &[0, 2, 3, 1])]);
        Ok(xb)
    }

    /// A reshape of `x` (shape `from`, batch `b`) to `to`: `Squeeze` or `Unsqueeze` where it
    /// only removes or inserts an axis of 1, else `Reshape`, with `-1` where the batch lands
    /// when the batch is dynamic.
    fn reshape(&mut self, x: &str, b: Batch, from: &[usize], to: &[usize], out: &str) -> Result<Batch> {
        let same_count = from.iter().product::<usize>() == to.iter().product::<usize>();
        if !same_count {
            return Err(Error::Shape(format!(
                "onnx export: a reshape from {} to {} changes the number of elements",
                shape_str(from),
                shape_str(to)
            )));
        }
        let empty = from.contains(&0) || to.contains(&0);
        let Some((b, factor)) = b.filter(|&(b, _)| self.dynamic && !empty && self.traced_batch > 0 && b < from.len())
        else {
            let shape = self.const_i64("shape", &ints(to));
            // allowzero: a 0 in the target is a size of 0, not "copy the input's".
            self.add_node("Reshape", &[x, &shape], &[out], if empty { vec![attr_int("allowzero", 1)] } else { vec![] });
            return Ok(None);
        };
        if to.len() == from.len() + 1 {
            if let Some(k) = (0..to.len()).find(|&k| to[k] == 1 && to[..k] == from[..k] && to[k + 1..] == from[k..]) {
                let axes = self.const_i64("axes", &[k as i64]);
                self.add_node("Unsqueeze", &[x, &axes], &[out], vec![]);
                return Ok(Some((if k <= b { b + 1 } else { b }, factor)));
            }
        }
        if to.len() + 1 == from.len() {
            let found =
                (0..from.len()).find(|&k| k != b && from[k] == 1 && from[..k] == to[..k] && from[k + 1..] == to[k..]);
            if let Some(k) = found {
                let axes = self.const_i64("axes", &[k as i64]);
                self.add_node("Squeeze", &[x, &axes], &[out], vec![]);
                return Ok(Some((if k < b { b - 1 } else { b }, factor)));
            }
        }
        // The output axis where the batch lands: one that starts where the batch axis starts
        // and takes the batch with a part of its factor ((batch * 6,) to (batch, 6)), or one
        // that holds the batch axis's whole block ((batch, 2, 3) to (batch * 6,)).
        let batch = self.traced_batch;
        let before: usize = from[..b].iter().product();
        let through = before * from[b];
        let mut prefix = 1usize;
        let mut found = None;
        for (k, &d) in to.iter().enumerate() {
            let next = prefix * d;
            if prefix == before && d % batch == 0 && factor % (d / batch).max(1) == 0 && d >= batch {
                found = Some((k, Some((k, d / batch))));
                break;
            }
            if prefix <= before && next >= through && before.is_multiple_of(prefix) && next.is_multiple_of(through) {
                found = Some((k, (prefix == before).then_some((k, d / batch))));
                break;
            }
            prefix = next;
        }
        let Some((k, batch)) = found else {
            return Err(Error::Shape(format!(
                "onnx export: a reshape from {} to {} splits the batch axis ({b}) among others; export with a fixed batch \
                 (dynamic_batch false)",
                shape_str(from),
                shape_str(to),
            )));
        };
        let mut target = ints(to);
        target[k] = -1;
        let shape = self.const_i64("shape", &target);
        self.add_node("Reshape", &[x, &shape], &[out], vec![]);
        Ok(batch)
    }
}
