//! PyTorch's state_dicts, both ways: as safetensors (`safetensors.torch.save_file`, and what
//! `torch.nn.Sequential.load_state_dict` takes), and as the `.pt`/`.pth` files that
//! `torch.save(model.state_dict(), path)` writes, read without running anything.
//!
//! A state_dict names a `Linear` layer's tensors `<module>.weight`, of shape (outputs,
//! inputs), and `<module>.bias`. neurite's kernel is (inputs, outputs), so the weight is
//! transposed each way. An `nn.Sequential` numbers its modules, activations included: the
//! export of a 784-50-10 sigmoid/softmax model is `0.weight, 0.bias, 2.weight, 2.bias` for
//! `Sequential(Linear(784, 50), Sigmoid(), Linear(50, 10), Softmax(dim=-1))`
//! ([`torch_modules`] spells it out). A state_dict does not record the activations, so
//! importing one takes them as arguments.
//!
//! A `.pt` file is a zip: `<name>/data.pkl` (the pickle, read by `io/pickle.rs`, which
//! calls nothing), `<name>/data/<key>` (each storage's raw bytes) and `<name>/byteorder`.
//!
//! Any named tensors, not only a neurite model's, are written as that zip by
//! [`state_dict_to_pt_bytes`] and [`save_state_dict_pt`] (what `neurite.torch.save(
//! model.state_dict(), path)` calls): f32 tensors as `FloatStorage`s and int64 ones (a
//! `BatchNorm1d`'s `num_batches_tracked`) as `LongStorage`s, 0-d tensors included, each a
//! [`TorchValue`]. [`read_state_dict_values`] reads such a file, or PyTorch's, back with the
//! integers exact; [`read_state_dict`], which gives f32 tensors for models, reads an int64
//! tensor as the nearest f32 values (exact up to 2^24).

use super::pickle::{self, StorageType, TensorRef};
use super::zip;
use crate::error::{shape_str, Error, Result};
use crate::nn::{Activation, LayerConfig};
use crate::tensor::Tensor;
use crate::train::Sequential;

/// The state_dict of `model` as a `torch.nn.Sequential` of `Linear` layers and activation
/// modules names it: `(key, tensor)` with weights of shape (outputs, inputs).
///
/// ```
/// use neurite::{io::torch, nn::{Activation, Dense}, train::Sequential};
/// let mut model = Sequential::with_seed(0);
/// model.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(784))?;
/// model.add(Dense::new(10).activation(Activation::Softmax))?;
/// let keys: Vec<String> = torch::state_dict(&model)?.into_iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(torch::torch_modules(&model)?, "nn.Sequential(nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 10), nn.Softmax(dim=-1))");
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn state_dict(model: &Sequential) -> Result<Vec<(String, Tensor)>> {
    super::exportable(model)?;
    Ok(torch_layers(model)?.into_iter().flat_map(|m| m.tensors).collect())
}

/// One neurite layer as the `torch.nn` modules that compute it: their Python, and the
/// state_dict entries of the first (under its index in the `nn.Sequential`).
struct TorchLayer {
    modules: Vec<String>,
    tensors: Vec<(String, Tensor)>,
}

/// Every layer of `model` as `torch.nn` modules, numbered as an `nn.Sequential` numbers them.
/// Dense is `Linear` (weight transposed) and its activation; Dropout is `Dropout`;
/// BatchNormalization of flat rows is `BatchNorm1d` with Keras' epsilon and PyTorch's momentum
/// (`1 - momentum`), `gamma`/`beta`/moving statistics as `weight`/`bias`/`running_mean`/
/// `running_var`; Flatten is `Flatten` and Reshape `Unflatten`.
fn torch_layers(model: &Sequential) -> Result<Vec<TorchLayer>> {
    let params = model.params();
    let mut out = Vec::new();
    let mut index = 0;
    // A flattened image (h, w, c): the next Linear takes PyTorch's channels-first rows.
    let mut flattened_image: Option<[usize; 3]> = None;
    for layer in model.layers() {
        let name = layer.name().unwrap_or_default().to_string();
        let get = |what: &str| params.get(&format!("{name}/{what}"));
        let input = layer.input_shape().to_vec();
        let config = layer.config();
        if flattened_image.is_some() && !matches!(config, LayerConfig::Dense(_) | LayerConfig::Dropout(_)) {
            return Err(Error::Value(format!(
                "layer {name}: PyTorch export reads a Linear right after a Flatten of an image (PyTorch flattens channels first), not a {}",
                layer.class_name()
            )));
        }
        // The index of the module that holds the layer's tensors, counted from `index`.
        let mut at = 0;
        let (modules, tensors) = match config {
            LayerConfig::Dense(_) if input.len() != 1 => {
                return Err(Error::Value(format!(
                    "layer {name}: a dense layer over an input of {} is not a torch.nn.Linear of channels-first images",
                    shape_str(&input)
                )))
            }
            LayerConfig::Dense(c) => {
                let kernel = get("kernel")?;
                let weight = match flattened_image.take() {
                    // neurite's rows are (h, w, c), PyTorch's columns (c, h, w).
                    Some([h, w, ch]) => kernel
                        .reshape(&[h as isize, w as isize, ch as isize, c.units as isize])?
                        .permute(&[3, 2, 0, 1])?
                        .contiguous()
                        .reshape(&[c.units as isize, (h * w * ch) as isize])?,
                    None => kernel.t()?.contiguous(),
                };
                let mut tensors = vec![(format!("{index}.weight"), weight)];
                if c.use_bias {
                    tensors.push((format!("{index}.bias"), get("bias")?));
                }
                let bias = if c.use_bias { "" } else { ", bias=False" };
                let mut modules = vec![format!("nn.Linear({}, {}{bias})", input[0], c.units)];
                modules.extend(module(c.activation)?);
                (modules, tensors)
            }
            LayerConfig::Conv2D(c) => {
                let window = crate::nn::window_plan(&name, &input, c.kernel_size, c.strides, c.padding)?;
                let [top, left, bottom, right] = pads(&window);
                let mut modules = vec![];
                let padding = if top == bottom && left == right {
                    if top == 0 && left == 0 {
                        String::new()
                    } else {
                        format!(", padding=({top}, {left})")
                    }
                } else {
                    // TensorFlow's uneven `same` split, as its own module.
                    modules.push(format!("nn.ZeroPad2d(({left}, {right}, {top}, {bottom}))"));
                    at = 1;
                    String::new()
                };
                let bias = if c.use_bias { "" } else { ", bias=False" };
                modules.push(format!(
                    "nn.Conv2d({}, {}, ({}, {}), stride=({}, {}){padding}{bias})",
                    window.channels, c.filters, c.kernel_size[0], c.kernel_size[1], c.strides[0], c.strides[1]
                ));
                // Keras' (kh, kw, in, out) as PyTorch's (out, in, kh, kw).
                let mut tensors =
                    vec![(format!("{}.weight", index + at), get("kernel")?.permute(&[3, 2, 0, 1])?.contiguous())];
                if c.use_bias {
                    tensors.push((format!("{}.bias", index + at), get("bias")?));
                }
                match c.activation {
                    // Over the channels, axis 1 of (N, C, H, W).
                    Activation::Softmax => modules.push("nn.Softmax(dim=1)".into()),
                    a => modules.extend(module(a)?),
                }
                (modules, tensors)
            }
            LayerConfig::MaxPooling2D(c) | LayerConfig::AveragePooling2D(c) => {
                let max = matches!(layer.config(), LayerConfig::MaxPooling2D(_));
                let window = c.window(&name, &input)?;
                let [top, left, bottom, right] = pads(&window);
                let mut modules = vec![];
                let even = top == bottom && left == right;
                if !even && !max {
                    return Err(Error::Value(format!(
                        "layer {name}: `same` padding of {top}, {left}, {bottom}, {right} cells (top, left, bottom, right) is uneven; PyTorch's AvgPool2d pads evenly, and an average that leaves the padding out cannot be written otherwise"
                    )));
                }
                if !even {
                    // Padding a max never wins: -inf cells, as their own module.
                    modules.push(format!("nn.ConstantPad2d(({left}, {right}, {top}, {bottom}), float('-inf'))"));
                }
                let (k, s) = (c.pool_size, c.strides.unwrap_or(c.pool_size));
                let padding =
                    if !even || (top == 0 && left == 0) { String::new() } else { format!(", padding=({top}, {left})") };
                let module = if max {
                    format!("nn.MaxPool2d(({}, {}), stride=({}, {}){padding})", k[0], k[1], s[0], s[1])
                } else {
                    // Keras averages over the image's cells only.
                    let count = if padding.is_empty() { "" } else { ", count_include_pad=False" };
                    format!("nn.AvgPool2d(({}, {}), stride=({}, {}){padding}{count})", k[0], k[1], s[0], s[1])
                };
                modules.push(module);
                (modules, vec![])
            }
            LayerConfig::GlobalAveragePooling2D(c) => {
                let mut modules = vec!["nn.AdaptiveAvgPool2d(1)".to_string()];
                if !c.keepdims {
                    modules.push("nn.Flatten()".into());
                }
                (modules, vec![])
            }
            LayerConfig::Dropout(c) => (vec![format!("nn.Dropout(p={})", c.rate)], vec![]),
            LayerConfig::BatchNormalization(c) => {
                if input.len() != 1 || c.scale != c.center {
                    return Err(Error::Value(format!(
                        "layer {name}: PyTorch export reads batch normalisation of flat rows with both gamma and beta or neither (BatchNorm1d), not an input of {} with scale={} and center={}",
                        shape_str(&input), c.scale, c.center
                    )));
                }
                let features = input[0];
                let affine = if c.scale { "" } else { ", affine=False" };
                let modules = vec![format!(
                    "nn.BatchNorm1d({features}, eps={}, momentum={}{affine})",
                    c.epsilon,
                    // PyTorch's running = (1 - m) running + m batch; Keras' the other way round
                    // (rounded to 6 places, so that 0.99 in f32 is written 0.01).
                    ((1.0 - f64::from(c.momentum)) * 1e6).round() / 1e6
                )];
                let mut tensors = vec![];
                if c.scale {
                    tensors.push((format!("{index}.weight"), get("gamma")?));
                    tensors.push((format!("{index}.bias"), get("beta")?));
                }
                tensors.push((format!("{index}.running_mean"), get("moving_mean")?));
                tensors.push((format!("{index}.running_var"), get("moving_variance")?));
                (modules, tensors)
            }
            LayerConfig::Flatten(_) if input.len() == 3 => {
                // Channels first in PyTorch: the next Linear's columns are permuted to match.
                flattened_image = Some([input[0], input[1], input[2]]);
                (vec!["nn.Flatten()".into()], vec![])
            }
            LayerConfig::Flatten(_) if input.len() > 1 => {
                return Err(Error::Value(format!(
                    "layer {name}: PyTorch flattens channels first; exporting a Flatten of {} is not supported yet",
                    shape_str(&input)
                )))
            }
            LayerConfig::Flatten(_) => (vec!["nn.Flatten()".into()], vec![]),
            LayerConfig::Reshape(_) => {
                let shape = layer.output_shape(&input)?;
                if shape.len() > 1 {
                    return Err(Error::Value(format!(
                        "layer {name}: PyTorch's images are channels first; exporting a Reshape to {} is not supported yet",
                        shape_str(&shape)
                    )));
                }
                let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
                (vec![format!("nn.Unflatten(1, ({},))", dims.join(", "))], vec![])
            }
        };
        index += modules.len();
        out.push(TorchLayer { modules, tensors });
    }
    if flattened_image.is_some() {
        return Err(Error::Value("PyTorch export: the model ends on a Flatten of an image".into()));
    }
    Ok(out)
}

/// A window's padding (top, left, bottom, right): TensorFlow's split of `same`.
pub(super) fn pads(w: &crate::kernels::window::Window) -> [usize; 4] {
    let after = |out: usize, s: usize, k: usize, size: usize, before: usize| {
        ((out - 1) * s + k).saturating_sub(size).saturating_sub(before)
    };
    [
        w.pad_top,
        w.pad_left,
        after(w.out_h, w.s_h, w.k_h, w.in_h, w.pad_top),
        after(w.out_w, w.s_w, w.k_w, w.in_w, w.pad_left),
    ]
}

/// PyTorch's module for an activation (None for the identity).
fn module(a: Activation) -> Result<Option<String>> {
    Ok(match a {
        Activation::Identity => None,
        Activation::Sigmoid => Some("nn.Sigmoid()".into()),
        Activation::Tanh => Some("nn.Tanh()".into()),
        Activation::Relu => Some("nn.ReLU()".into()),
        Activation::Softplus => Some("nn.Softplus()".into()),
        Activation::LeakyRelu { alpha } => Some(format!("nn.LeakyReLU({alpha})")),
        Activation::Elu { alpha } => Some(format!("nn.ELU({alpha})")),
        Activation::Softmax => Some("nn.Softmax(dim=-1)".into()),
        Activation::Step => {
            return Err(Error::Value(
                "PyTorch has no step (Heaviside) module; this model cannot be a torch.nn.Sequential".into(),
            ))
        }
    })
}

/// The `torch.nn.Sequential` whose `load_state_dict` takes [`state_dict`]'s keys, as Python.
pub fn torch_modules(model: &Sequential) -> Result<String> {
    let modules: Vec<String> = torch_layers(model)?.into_iter().flat_map(|m| m.modules).collect();
    Ok(format!("nn.Sequential({})", modules.join(", ")))
}

/// The bytes of a safetensors file holding [`state_dict`] (what `safetensors.torch.load_file`
/// reads), with the Python of the matching `nn.Sequential` in its metadata
/// (`neurite.torch_modules`).
pub fn state_dict_bytes(model: &Sequential) -> Result<Vec<u8>> {
    let architecture =
        serde_json::to_string(&model.config()).map_err(|e| Error::Value(format!("the architecture as JSON: {e}")))?;
    let metadata = std::collections::HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (MODULES_KEY.to_string(), torch_modules(model)?),
        (ARCHITECTURE_KEY.to_string(), architecture),
    ]);
    super::safetensors::to_bytes(&state_dict(model)?, metadata)
}

/// Writes [`state_dict_bytes`] to `path`, atomically; a path ending in `.pt` or `.pth` gets
/// [`pt_bytes`] instead, the zip that `torch.save(model.state_dict(), path)` writes.
pub fn save_state_dict(model: &Sequential, path: &std::path::Path) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("pt" | "pth") => pt_bytes(model)?,
        _ => state_dict_bytes(model)?,
    };
    super::write_atomic(path, &bytes)
}

/// The entry of a `.pt` zip neurite writes that holds the model's architecture (neurite's
/// JSON); PyTorch ignores records it does not know.
pub(crate) const PT_ARCHITECTURE_ENTRY: &str = "archive/neurite_architecture.json";

/// The architecture a `.pt` zip neurite wrote records ([`PT_ARCHITECTURE_ENTRY`]), if any.
pub(crate) fn pt_architecture(bytes: &[u8]) -> Result<Option<crate::train::ModelConfig>> {
    let archive = zip::Archive::new(bytes)?;
    let Some(entry) = archive.entries().iter().find(|e| e.name.ends_with("/neurite_architecture.json")) else {
        return Ok(None);
    };
    if entry.size() > bytes.len() as u64 {
        return Err(Error::Format(format!("torch file: {} claims {} bytes", entry.name, entry.size())));
    }
    let text = archive.read(entry)?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::Format(format!("torch file: the architecture in {} is not valid: {e}", entry.name)))
}

/// The bytes of the zip `torch.save(model.state_dict(), path)` writes for [`state_dict`] (what
/// `torch.load(path, weights_only=True)` reads): [`state_dict_to_pt_bytes`] of its tensors
/// with the architecture, so that `neurite import` needs no flags.
pub fn pt_bytes(model: &Sequential) -> Result<Vec<u8>> {
    let tensors: Vec<(String, TorchValue)> =
        state_dict(model)?.into_iter().map(|(k, t)| (k, TorchValue::F32(t))).collect();
    let architecture =
        serde_json::to_string(&model.config()).map_err(|e| Error::Value(format!("the architecture as JSON: {e}")))?;
    state_dict_to_pt_bytes(&tensors, Some(&architecture))
}

/// One entry of a state_dict as `torch.save` writes it and [`read_state_dict_values`] reads
/// it: f32 values (a `FloatStorage`), or 64-bit integers (a `LongStorage`, what a
/// `BatchNorm1d`'s `num_batches_tracked` is: a 0-d int64 tensor). Either may be 0-d (shape
/// `()`).
#[derive(Debug, Clone, PartialEq)]
pub enum TorchValue {
    /// A float tensor (`torch.float32`).
    F32(Tensor),
    /// An integer tensor (`torch.int64`): its shape and its values, row-major.
    I64 {
        /// The shape (`vec![]` for a 0-d tensor).
        shape: Vec<usize>,
        /// The values, as many as the shape holds.
        values: Vec<i64>,
    },
}

impl TorchValue {
    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            TorchValue::F32(t) => t.shape(),
            TorchValue::I64 { shape, .. } => shape,
        }
    }

    /// PyTorch's name for its element type: `float32` or `int64`.
    pub fn dtype(&self) -> &'static str {
        match self {
            TorchValue::F32(_) => "float32",
            TorchValue::I64 { .. } => "int64",
        }
    }

    /// The values as f32 (integers rounded to the nearest f32, exact up to 2^24 in size).
    pub fn to_f32(&self) -> Result<Tensor> {
        match self {
            TorchValue::F32(t) => Ok(t.clone()),
            TorchValue::I64 { shape, values } => Tensor::from_vec(values.iter().map(|&v| v as f32).collect(), shape),
        }
    }
}

impl From<Tensor> for TorchValue {
    fn from(t: Tensor) -> TorchValue {
        TorchValue::F32(t)
    }
}

/// The bytes of the zip that `torch.save(state_dict, path)` writes for the named tensors
/// `tensors`, in their order (what `torch.load(path, weights_only=True)` reads back as an
/// `OrderedDict` of tensors): `archive/data.pkl`, a protocol-2 pickle of an `OrderedDict` of
/// `torch._utils._rebuild_tensor_v2` calls on `FloatStorage`s (f32) and `LongStorage`s
/// (int64), `archive/data/<i>` each tensor's little-endian values, `archive/byteorder` and
/// `archive/version`; with `architecture`, neurite's JSON description of the model in
/// `archive/neurite_architecture.json` too (PyTorch ignores it). Tensors of any shape are
/// written, 0-d ones (shape `()`) included, and any values (PyTorch saves NaN as it is).
///
/// A key that appears twice, an int64 tensor whose values do not fill its shape, or a
/// tensor too large for the pickle's 32-bit sizes (2^31 elements) is an error naming it.
///
/// ```
/// use neurite::{io::torch::{self, TorchValue}, tensor::Tensor};
/// let tensors = vec![
///     ("0.weight".to_string(), TorchValue::F32(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?)),
///     ("1.num_batches_tracked".to_string(), TorchValue::I64 { shape: vec![], values: vec![7] }),
/// ];
/// let bytes = torch::state_dict_to_pt_bytes(&tensors, None)?;
/// assert_eq!(torch::read_state_dict_values(&bytes)?, tensors);
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn state_dict_to_pt_bytes(tensors: &[(String, TorchValue)], architecture: Option<&str>) -> Result<Vec<u8>> {
    let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(".to_vec();
    let text = |p: &mut Vec<u8>, s: &str| -> Result<()> {
        let len = u32::try_from(s.len())
            .map_err(|_| Error::Value(format!("torch file: a key of {} bytes is too long", s.len())))?;
        p.push(b'X');
        p.extend_from_slice(&len.to_le_bytes());
        p.extend_from_slice(s.as_bytes());
        Ok(())
    };
    let int = |p: &mut Vec<u8>, v: usize, key: &str| -> Result<()> {
        let v = i32::try_from(v).map_err(|_| {
            Error::Value(format!("torch file: tensor {key}: {v} does not fit the pickle's 32-bit integers"))
        })?;
        p.push(b'J');
        p.extend_from_slice(&v.to_le_bytes());
        Ok(())
    };
    let mut seen = std::collections::HashSet::with_capacity(tensors.len());
    let mut files = Vec::with_capacity(tensors.len() + 4);
    for (i, (key, t)) in tensors.iter().enumerate() {
        if !seen.insert(key.as_str()) {
            return Err(Error::Value(format!("torch file: the key {key:?} appears twice in the state_dict")));
        }
        let shape = t.shape();
        let numel = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| Error::Shape(format!("torch file: tensor {key}: shape {} overflows", shape_str(shape))))?;
        let (storage, data): (&[u8], Vec<u8>) = match t {
            TorchValue::F32(t) => (b"FloatStorage", t.to_vec().iter().flat_map(|x| x.to_le_bytes()).collect()),
            TorchValue::I64 { shape, values } => {
                if values.len() != numel {
                    return Err(Error::Shape(format!(
                        "torch file: int64 tensor {key} of shape {} needs {numel} values, it has {}",
                        shape_str(shape),
                        values.len()
                    )));
                }
                (b"LongStorage", values.iter().flat_map(|x| x.to_le_bytes()).collect())
            }
        };
        text(&mut p, key)?;
        p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n((");
        text(&mut p, "storage")?;
        p.extend_from_slice(b"ctorch\n");
        p.extend_from_slice(storage);
        p.push(b'\n');
        text(&mut p, &i.to_string())?;
        text(&mut p, "cpu")?;
        int(&mut p, numel, key)?;
        p.extend_from_slice(b"tQ");
        int(&mut p, 0, key)?;
        p.push(b'(');
        for &d in shape {
            int(&mut p, d, key)?;
        }
        p.extend_from_slice(b"t(");
        for s in crate::tensor::shape::contiguous_strides(shape) {
            int(&mut p, s, key)?;
        }
        p.extend_from_slice(b"t\x89ccollections\nOrderedDict\n)RtR");
        files.push((format!("archive/data/{i}"), data));
    }
    p.extend_from_slice(b"u.");
    files.insert(0, ("archive/data.pkl".to_string(), p));
    files.insert(1, ("archive/byteorder".to_string(), b"little".to_vec()));
    files.push(("archive/version".to_string(), b"3\n".to_vec()));
    if let Some(architecture) = architecture {
        files.push((PT_ARCHITECTURE_ENTRY.to_string(), architecture.as_bytes().to_vec()));
    }
    zip::write_stored(&files)
}

/// Writes [`state_dict_to_pt_bytes`] to `path` atomically (a temporary file beside it,
/// renamed into place), whatever its extension: what `neurite.torch.save(state_dict, path)`
/// does. Errors name the path.
pub fn save_state_dict_pt(
    tensors: &[(String, TorchValue)],
    architecture: Option<&str>,
    path: &std::path::Path,
) -> Result<()> {
    let bytes = state_dict_to_pt_bytes(tensors, architecture).map_err(|e| e.context(path.display()))?;
    super::write_atomic(path, &bytes)
}

/// The tensors of a state_dict file, either format, as they are stored: like
/// [`read_state_dict`], but an int64 tensor of a `.pt` file (a `LongStorage`, such as
/// `num_batches_tracked`) comes back as [`TorchValue::I64`] with its exact values instead of
/// f32; every other storage type (float32, float64, float16, bfloat16) and every safetensors
/// tensor is read as [`TorchValue::F32`]. Bounded by the file as [`read_state_dict`] is.
pub fn read_state_dict_values(bytes: &[u8]) -> Result<Vec<(String, TorchValue)>> {
    let mut budget = super::ReadBudget::for_file(bytes.len() as u64);
    if zip::is_zip(bytes) {
        return read_pt(bytes, &mut budget, true);
    }
    Ok(read_state_dict_within(bytes, &mut budget)?.into_iter().map(|(k, t)| (k, TorchValue::F32(t))).collect())
}

/// [`read_state_dict_values`] of the file at `path`; errors name it.
pub fn load_state_dict_values(path: &std::path::Path) -> Result<Vec<(String, TorchValue)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_state_dict_values(&bytes).map_err(|e| e.context(path.display()))
}

/// The tensors of a state_dict file, either format, in module order: a `.pt` file's own
/// order, a safetensors file's keys in natural order (`2.weight` before `10.weight`), since
/// safetensors sorts them by name.
///
/// A `.pt` file's memory is bounded by its [`ReadBudget`](super::ReadBudget): each storage's
/// inflated size and each tensor's f32 values are taken from it before anything is read, a
/// storage that many tensors view counted once as a storage and once per tensor (500
/// tensors viewing one 4 MB storage of a 12 KB file asked for 2 GB).
pub fn read_state_dict(bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    read_state_dict_within(bytes, &mut super::ReadBudget::for_file(bytes.len() as u64))
}

/// [`read_state_dict`] within a budget shared with the rest of a model file's reading.
pub(crate) fn read_state_dict_within(bytes: &[u8], budget: &mut super::ReadBudget) -> Result<Vec<(String, Tensor)>> {
    if zip::is_zip(bytes) {
        return read_pt(bytes, budget, false)?.into_iter().map(|(k, v)| v.to_f32().map(|t| (k, t))).collect();
    }
    let (mut tensors, _) = super::safetensors::from_bytes(bytes)?;
    tensors.sort_by_key(|(name, _)| natural_key(name));
    Ok(tensors)
}

/// `fc10.weight` as `[("fc", 0), ("", 10), (".weight", 0)]`-like parts that sort numbers by
/// value.
fn natural_key(s: &str) -> Vec<(String, u128)> {
    let mut parts = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            parts.push((String::new(), rest[..digits].parse().unwrap_or(u128::MAX)));
            rest = &rest[digits..];
        } else {
            let text = rest.chars().take_while(|c| !c.is_ascii_digit()).map(char::len_utf8).sum();
            parts.push((rest[..text].to_string(), 0));
            rest = &rest[text..];
        }
    }
    parts
}

/// The tensors of a `torch.save` zip file, in the state_dict's order: every storage as f32,
/// or, with `exact_integers`, a `LongStorage` as its int64 values.
fn read_pt(bytes: &[u8], budget: &mut super::ReadBudget, exact_integers: bool) -> Result<Vec<(String, TorchValue)>> {
    let archive = zip::Archive::new(bytes)?;
    let pickles: Vec<_> = archive.entries().iter().filter(|e| e.name.ends_with("data.pkl")).collect();
    let [pkl] = pickles.as_slice() else {
        return Err(Error::Format(format!(
            "not a torch.save file: the zip holds {} data.pkl entries (it needs one)",
            pickles.len()
        )));
    };
    let prefix = &pkl.name[..pkl.name.len() - "data.pkl".len()];
    let big_endian = match archive.find(&format!("{prefix}byteorder")) {
        Some(e) => match archive.read(e)?.as_slice() {
            b"little" => false,
            b"big" => true,
            other => {
                return Err(Error::Format(format!(
                    "torch file: byte order {:?} is unknown",
                    String::from_utf8_lossy(other)
                )))
            }
        },
        None => false,
    };
    budget.take(pkl.size(), format_args!("torch file: the pickle {} ({} bytes)", pkl.name, pkl.size()))?;
    let refs = pickle::state_dict(&archive.read(pkl)?)?;
    // What the tensors will take, before any storage is read: each storage once (as its
    // bytes), each tensor once per reference (as f32), whatever views what.
    let mut entries: std::collections::HashMap<&str, &zip::Entry> = std::collections::HashMap::new();
    for r in &refs {
        if !entries.contains_key(r.storage.as_str()) {
            let name = format!("{prefix}data/{}", r.storage);
            let entry = archive
                .find(&name)
                .ok_or_else(|| Error::Format(format!("torch file: tensor {}'s storage {name} is missing", r.name)))?;
            budget.take(entry.size(), format_args!("torch file: the storage {name} ({} bytes)", entry.size()))?;
            entries.insert(&r.storage, entry);
        }
        let numel = r.size.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).unwrap_or(u64::MAX);
        let esize = if exact_integers && r.dtype == StorageType::I64 { 8 } else { 4 };
        budget.take(
            numel.saturating_mul(esize),
            format_args!("torch file: tensor {} ({numel} values of storage {})", r.name, r.storage),
        )?;
    }
    // Each storage is inflated when a tensor first needs it and dropped after the last one
    // that views it, so that the storages of a state_dict are not all held at once.
    let last: std::collections::HashMap<&str, usize> =
        refs.iter().enumerate().map(|(i, r)| (r.storage.as_str(), i)).collect();
    let mut storages: std::collections::HashMap<&str, Vec<u8>> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(refs.len());
    for (i, r) in refs.iter().enumerate() {
        let key = r.storage.as_str();
        if !storages.contains_key(key) {
            storages.insert(key, archive.read(entries[key])?);
        }
        let value = if exact_integers && r.dtype == StorageType::I64 {
            let (shape, values) = materialise_with(r, &storages[key], |b| {
                let b: [u8; 8] = b.try_into().unwrap_or([0; 8]);
                if big_endian {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                }
            })?;
            TorchValue::I64 { shape, values }
        } else {
            TorchValue::F32(materialise(r, &storages[key], big_endian)?)
        };
        out.push((r.name.clone(), value));
        if last.get(key) == Some(&i) {
            storages.remove(key);
        }
    }
    Ok(out)
}

/// The tensor a reference describes, read from its storage's bytes with its strides, as f32.
/// Every index is checked against the storage, and the tensor may not hold more elements
/// than its storage (a stride-0 view of a tiny storage could otherwise ask for gigabytes).
fn materialise(r: &TensorRef, data: &[u8], big_endian: bool) -> Result<Tensor> {
    let (shape, values) = materialise_with(r, data, |b| match (r.dtype, big_endian) {
        (StorageType::F32, false) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        (StorageType::F32, true) => f32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        (StorageType::F64, false) => f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32,
        (StorageType::F64, true) => f64::from_be_bytes(b.try_into().unwrap_or([0; 8])) as f32,
        (StorageType::F16, be) => {
            f16_to_f32(if be { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) })
        }
        (StorageType::BF16, be) => {
            let bits = if be { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) };
            f32::from_bits(u32::from(bits) << 16)
        }
        (StorageType::I64, false) => i64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32,
        (StorageType::I64, true) => i64::from_be_bytes(b.try_into().unwrap_or([0; 8])) as f32,
    })?;
    Tensor::from_vec(values, &shape)
}

/// The shape and the values (each element's bytes given to `read`) of the tensor a
/// reference describes, walked with its strides; the checks of [`materialise`].
fn materialise_with<T>(r: &TensorRef, data: &[u8], read: impl Fn(&[u8]) -> T) -> Result<(Vec<usize>, Vec<T>)> {
    let esize = r.dtype.size() as u64;
    let err = |why: String| Error::Format(format!("torch file: tensor {}: {why}", r.name));
    if r.storage_numel.checked_mul(esize) != Some(data.len() as u64) {
        return Err(err(format!(
            "its storage declares {} elements, the file holds {} bytes",
            r.storage_numel,
            data.len()
        )));
    }
    let numel =
        r.size.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).ok_or_else(|| err("its size overflows".into()))?;
    if numel > r.storage_numel {
        return Err(err(format!("{numel} elements from a storage of {}", r.storage_numel)));
    }
    if numel > 0 {
        let last = r
            .size
            .iter()
            .zip(&r.stride)
            .try_fold(r.offset, |acc, (&d, &s)| (d - 1).checked_mul(s).and_then(|x| acc.checked_add(x)));
        if last.is_none_or(|l| l >= r.storage_numel) {
            return Err(err(format!(
                "size {:?}, stride {:?} and offset {} reach past its storage of {} elements",
                r.size, r.stride, r.offset, r.storage_numel
            )));
        }
    }
    let shape: Vec<usize> = r.size.iter().map(|&d| d as usize).collect();
    let mut values = Vec::with_capacity(numel as usize);
    let mut index = vec![0u64; shape.len()];
    for _ in 0..numel {
        let at = r.offset + index.iter().zip(&r.stride).map(|(i, s)| i * s).sum::<u64>();
        let at = (at * esize) as usize;
        values.push(read(&data[at..at + esize as usize]));
        for d in (0..index.len()).rev() {
            index[d] += 1;
            if index[d] < r.size[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok((shape, values))
}

/// IEEE half precision to single.
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: normalise.
            let shift = f.leading_zeros() - 21;
            sign | ((127 - 15 + 1 - shift) << 23) | ((f << shift) & 0x3ff) << 13
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// The metadata key of the `nn.Sequential` a state_dict neurite writes is for.
pub(crate) const MODULES_KEY: &str = "neurite.torch_modules";
/// The metadata key of the model's architecture (neurite's JSON) in a state_dict neurite
/// writes, so that importing it needs no flags, convolutions and pooling included.
pub(crate) const ARCHITECTURE_KEY: &str = "neurite.torch_architecture";

/// A model of the architecture `config` from the state_dict of the `nn.Sequential` that
/// [`torch_modules`] prints for it (what neurite's export writes, or PyTorch's
/// `torch.save(model.state_dict())` of that network), its tensors in module order:
/// `Linear` weights (outputs, inputs) transposed, and the first `Linear` after a `Flatten`
/// of an image taken from PyTorch's channels-first order (c, h, w) to neurite's (h, w, c);
/// `Conv2d` weights (out, in, kh, kw) as Keras' (kh, kw, in, out); `BatchNorm1d`'s
/// `weight`, `bias`, `running_mean`, `running_var` (`num_batches_tracked` skipped). A
/// tensor of the wrong shape, a missing one or one too many is an error that names it.
pub fn model_from_state_dict_for(
    config: &crate::train::ModelConfig,
    tensors: &[(String, Tensor)],
) -> Result<Sequential> {
    // The architecture must describe as many values as the file holds before any layer is
    // made (an architecture in a file's metadata could otherwise ask for any memory).
    let held = tensors
        .iter()
        .filter(|(k, _)| !k.ends_with(".num_batches_tracked"))
        .try_fold(0usize, |n, (_, t)| n.checked_add(t.size()));
    match (config.param_count(), held) {
        (Ok(described), Some(held)) if described == held => {}
        (Ok(described), held) => {
            return Err(Error::Format(format!(
                "the architecture describes {described} parameter values, the state_dict holds {}",
                held.map_or_else(|| "more than can be counted".to_string(), |h| h.to_string())
            )))
        }
        (Err(e), _) => return Err(Error::Format(format!("the architecture is not valid: {e}"))),
    }
    // The layers' shapes, from the architecture.
    let shapes = Sequential::from_config(config, 0)?;
    // The tensors of each module, modules in order (safetensors sorts `0.bias` before
    // `0.weight`: within a module, tensors are found by kind).
    // (module, [(kind, key, tensor)]).
    type Module<'a> = (&'a str, Vec<(&'a str, &'a String, &'a Tensor)>);
    let mut modules: Vec<Module> = Vec::new();
    for (key, t) in tensors {
        let (module, kind) = key.rsplit_once('.').unwrap_or(("", key.as_str()));
        if kind == "num_batches_tracked" {
            continue;
        }
        match modules.last_mut() {
            Some((m, kinds)) if *m == module => kinds.push((kind, key, t)),
            _ => modules.push((module, vec![(kind, key, t)])),
        }
    }
    let mut given = modules.into_iter();
    let mut state = Vec::new();
    let mut flattened_image: Option<[usize; 3]> = None;
    for layer in shapes.layers() {
        let name = layer.name().unwrap_or_default().to_string();
        let input = layer.input_shape().to_vec();
        if !matches!(
            layer.config(),
            LayerConfig::Dense(_) | LayerConfig::Conv2D(_) | LayerConfig::BatchNormalization(_)
        ) {
            if let LayerConfig::Flatten(_) = layer.config() {
                if input.len() == 3 {
                    flattened_image = Some([input[0], input[1], input[2]]);
                }
            }
            continue;
        }
        let (module, mut kinds) = given.next().ok_or_else(|| {
            Error::Format(format!("the state_dict ends before layer {name} ({})", layer.class_name()))
        })?;
        let mut take = |what: &str, shape: &[usize]| -> Result<Tensor> {
            let at = kinds.iter().position(|(k, _, _)| *k == what).ok_or_else(|| {
                Error::Format(format!(
                    "state_dict: module {module:?} has no {what} for layer {name} ({})",
                    shape_str(shape)
                ))
            })?;
            let (_, key, t) = kinds.remove(at);
            if t.shape() != shape {
                return Err(Error::Format(format!(
                    "state_dict key {key:?} has shape {}; layer {name}'s {what} is {}",
                    shape_str(t.shape()),
                    shape_str(shape)
                )));
            }
            Ok(t.clone())
        };
        match layer.config() {
            LayerConfig::Dense(c) => {
                let features: usize = input.iter().product();
                let w = take("weight", &[c.units, features])?;
                let kernel = match flattened_image.take() {
                    Some([h, wd, ch]) => w
                        .reshape(&[c.units as isize, ch as isize, h as isize, wd as isize])?
                        .permute(&[2, 3, 1, 0])?
                        .contiguous()
                        .reshape(&[features as isize, c.units as isize])?,
                    None => w.t()?.contiguous(),
                };
                state.push((format!("{name}/kernel"), kernel));
                if c.use_bias {
                    state.push((format!("{name}/bias"), take("bias", &[c.units])?));
                }
            }
            LayerConfig::Conv2D(c) => {
                let channels = input.last().copied().unwrap_or(0);
                let [kh, kw] = c.kernel_size;
                let w = take("weight", &[c.filters, channels, kh, kw])?;
                state.push((format!("{name}/kernel"), w.permute(&[2, 3, 1, 0])?.contiguous()));
                if c.use_bias {
                    state.push((format!("{name}/bias"), take("bias", &[c.filters])?));
                }
            }
            LayerConfig::BatchNormalization(c) => {
                let features = [input.last().copied().unwrap_or(0)];
                if c.scale {
                    state.push((format!("{name}/gamma"), take("weight", &features)?));
                }
                if c.center {
                    state.push((format!("{name}/beta"), take("bias", &features)?));
                }
                state.push((format!("{name}/moving_mean"), take("running_mean", &features)?));
                state.push((format!("{name}/moving_variance"), take("running_var", &features)?));
            }
            _ => {}
        }
        if let Some((_, key, _)) = kinds.first() {
            return Err(Error::Format(format!("state_dict key {key:?} is not a tensor of layer {name}")));
        }
    }
    if let Some((module, _)) = given.next() {
        return Err(Error::Format(format!(
            "state_dict module {module:?} is left over: the architecture has no layer for it"
        )));
    }
    super::model_from_state(config, &super::checked(state)?)
}

/// The `(epsilon, Keras momentum)` of each `nn.BatchNorm1d(..., eps=E, momentum=M)` in the
/// Python of [`torch_modules`], in order.
pub(crate) fn batch_norm_settings(modules: &str) -> Vec<(f32, f32)> {
    modules
        .split("nn.BatchNorm1d(")
        .skip(1)
        .map(|rest| {
            let args = rest.split(')').next().unwrap_or("");
            let value = |key: &str| -> Option<f32> {
                args.split(',').map(str::trim).find_map(|a| a.strip_prefix(key)).and_then(|v| v.parse().ok())
            };
            (value("eps=").unwrap_or(1e-5), 1.0 - value("momentum=").unwrap_or(0.1))
        })
        .collect()
}

/// A model from a state_dict of an `nn.Sequential` of `Linear` and `BatchNorm1d` modules (in
/// module order), with `hidden` after every `Linear` but the last and `output` after the last;
/// modules without parameters (activations, `Dropout`, `Flatten`) leave no keys and are not
/// needed at inference. The names are mapped to the model's: `<m>.weight` of shape (outputs,
/// inputs) transposed to `dense/kernel`, `<m>.bias` to `dense/bias`; a module with
/// `running_mean` is a batch normalisation, its `weight`, `bias`, `running_mean`,
/// `running_var` becoming `gamma`, `beta`, `moving_mean`, `moving_variance`
/// (`num_batches_tracked` is dropped; epsilon and momentum, which a state_dict does not
/// record, are PyTorch's defaults, 1e-5 and 0.1, Keras' momentum 0.9). Anything else, or
/// layers whose sizes do not chain, is an error that names the key.
pub fn model_from_state_dict(
    tensors: &[(String, Tensor)],
    hidden: Activation,
    output: Activation,
) -> Result<Sequential> {
    model_from_state_dict_with(tensors, hidden, output, &[])
}

/// [`model_from_state_dict`] with each batch normalisation's `(epsilon, Keras momentum)`
/// known (PyTorch's defaults for those not given).
pub(crate) fn model_from_state_dict_with(
    tensors: &[(String, Tensor)],
    hidden: Activation,
    output: Activation,
    norm_settings: &[(f32, f32)],
) -> Result<Sequential> {
    // The keys of each module, in order.
    let mut modules: Vec<(String, Vec<(&str, &Tensor)>)> = Vec::new();
    for (key, t) in tensors {
        let (module, kind) = key.rsplit_once('.').ok_or_else(|| {
            Error::Format(format!("state_dict key {key:?} is not <module>.weight, .bias or a batch norm's statistic"))
        })?;
        if !["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].contains(&kind) {
            return Err(Error::Format(format!(
                "state_dict key {key:?}: neurite reads Linear and BatchNorm1d modules (weight, bias, running_mean, running_var, num_batches_tracked), not {kind:?}"
            )));
        }
        match modules.iter_mut().find(|m| m.0 == module) {
            Some(m) if m.1.iter().any(|(k, _)| *k == kind) => {
                return Err(Error::Format(format!("state_dict key {key:?} appears twice")))
            }
            Some(m) => m.1.push((kind, t)),
            None => modules.push((module.to_string(), vec![(kind, t)])),
        }
    }
    let linears = modules.iter().filter(|m| !m.1.iter().any(|(k, _)| *k == "running_mean")).count();
    let (mut layers, mut named) = (Vec::new(), Vec::new());
    let (mut dense, mut norms) = (0, 0);
    let mut input = None;
    for (module, keys) in &modules {
        let get = |kind: &str| keys.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t);
        if let Some(mean) = get("running_mean") {
            let name = crate::nn::layer::numbered("batch_normalization", norms);
            norms += 1;
            let var = get("running_var").ok_or_else(|| {
                Error::Format(format!("state_dict: module {module:?} has running_mean but no running_var"))
            })?;
            let affine = match (get("weight"), get("bias")) {
                (Some(w), Some(b)) => Some((w, b)),
                (None, None) => None,
                _ => {
                    return Err(Error::Format(format!(
                        "state_dict: module {module:?} has a weight or a bias, not both"
                    )))
                }
            };
            if input.is_none() {
                input = Some(mean.size());
            }
            if let Some((w, b)) = affine {
                named.push((format!("{name}/gamma"), w.clone()));
                named.push((format!("{name}/beta"), b.clone()));
            }
            named.push((format!("{name}/moving_mean"), mean.clone()));
            named.push((format!("{name}/moving_variance"), var.clone()));
            let (epsilon, momentum) = norm_settings.get(norms - 1).copied().unwrap_or((1e-5, 0.9));
            layers.push(LayerConfig::BatchNormalization(crate::nn::BatchNormalizationConfig {
                momentum,
                epsilon,
                center: affine.is_some(),
                scale: affine.is_some(),
                name: Some(name),
            }));
            continue;
        }
        let w = get("weight")
            .ok_or_else(|| Error::Format(format!("state_dict: module {module:?} has a bias but no weight")))?;
        if w.ndim() == 4 {
            return Err(Error::Format(format!(
                "state_dict: {module}.weight of shape {} is a Conv2d weight; a state_dict does not record a convnet's architecture: give it (neurite import --layers conv:...,flatten,dense:... --input-shape H,W,C; torch::model_from_state_dict_for)",
                shape_str(w.shape())
            )));
        }
        if w.ndim() != 2 {
            return Err(Error::Format(format!(
                "state_dict: {module}.weight has shape {}; a Linear weight is (outputs, inputs)",
                shape_str(w.shape())
            )));
        }
        let name = crate::nn::layer::numbered("dense", dense);
        dense += 1;
        if input.is_none() {
            input = Some(w.shape()[1]);
        }
        named.push((format!("{name}/kernel"), w.t()?.contiguous()));
        if let Some(b) = get("bias") {
            named.push((format!("{name}/bias"), b.clone()));
        }
        layers.push(LayerConfig::Dense(crate::nn::DenseConfig {
            units: w.shape()[0],
            input_dim: None,
            activation: if dense == linears { output } else { hidden },
            use_bias: get("bias").is_some(),
            kernel_initializer: crate::nn::Initializer::GlorotUniform,
            bias_initializer: crate::nn::Initializer::Zeros,
            name: Some(name),
        }));
    }
    if dense == 0 {
        return Err(Error::Format("the state_dict has no Linear layer".into()));
    }
    let config = crate::train::ModelConfig::new(input.map(|n| vec![n]), layers);
    super::model_from_state(&config, &super::checked(named)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_converts_exactly() {
        for (h, f) in [
            (0x3c00u16, 1.0f32),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x0001, 5.960_464_5e-8),
            (0x7bff, 65504.0),
            (0, 0.0),
        ] {
            assert_eq!(f16_to_f32(h), f, "{h:#x}");
        }
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
    }

    #[test]
    fn strided_and_lying_references() {
        let data: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let r = TensorRef {
            name: "w".into(),
            dtype: StorageType::F32,
            storage: "0".into(),
            storage_numel: 6,
            offset: 0,
            size: vec![3, 2],
            stride: vec![1, 3],
        };
        assert_eq!(materialise(&r, &data, false).unwrap().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let past = TensorRef { offset: 1, ..r.clone() };
        assert!(materialise(&past, &data, false).unwrap_err().to_string().contains("reach past"));
        let broadcast = TensorRef { size: vec![1 << 40, 1 << 20], stride: vec![0, 0], ..r.clone() };
        assert!(materialise(&broadcast, &data, false)
            .unwrap_err()
            .to_string()
            .contains("elements from a storage of 6"));
        let overflow = TensorRef { size: vec![u64::MAX, 2], ..r.clone() };
        assert!(materialise(&overflow, &data, false).is_err());
        let short = TensorRef { storage_numel: 7, ..r };
        assert!(materialise(&short, &data, false).unwrap_err().to_string().contains("declares 7 elements"));
    }

    /// A protocol-2 pickle of an OrderedDict of `n` tensors of `rows` x `cols`, every one a
    /// view of storage "0" of `rows * cols` floats.
    fn shared_storage_pickle(n: usize, rows: u32, cols: u32) -> Vec<u8> {
        let text = |p: &mut Vec<u8>, s: &str| {
            p.push(b'X');
            p.extend_from_slice(&(s.len() as u32).to_le_bytes());
            p.extend_from_slice(s.as_bytes());
        };
        let int = |p: &mut Vec<u8>, v: u32| {
            p.push(b'J');
            p.extend_from_slice(&v.to_le_bytes());
        };
        let mut p = b"\x80\x02ccollections\nOrderedDict\n)R(".to_vec();
        for i in 0..n {
            text(&mut p, &format!("{i}.weight"));
            p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n((");
            text(&mut p, "storage");
            p.extend_from_slice(b"ctorch\nFloatStorage\n");
            text(&mut p, "0");
            text(&mut p, "cpu");
            int(&mut p, rows * cols);
            p.extend_from_slice(b"tQK\x00(");
            int(&mut p, rows);
            int(&mut p, cols);
            p.extend_from_slice(b"t(");
            int(&mut p, cols);
            int(&mut p, 1);
            p.extend_from_slice(b"t\x89)tR");
        }
        p.extend_from_slice(b"u.");
        p
    }

    #[test]
    fn tensors_that_share_one_storage_are_counted_per_reference() {
        // Issue 26: 500 tensors viewing one 4 MB storage asked for 2 GB. Each reference is
        // counted: the file is refused before any tensor is made.
        let storage = vec![0u8; 4 * 1000 * 1000];
        let pt = |n: usize| {
            zip::write_stored(&[
                ("m/data.pkl".to_string(), shared_storage_pickle(n, 1000, 1000)),
                ("m/data/0".to_string(), storage.clone()),
            ])
            .unwrap()
        };
        let err = read_state_dict(&pt(500)).unwrap_err().to_string();
        assert!(
            err.contains("torch file: tensor ") && err.contains("past") && err.contains("4 times the file"),
            "{err}"
        );
        // Two views of one storage (tied weights) are read.
        let tied = read_state_dict(&pt(2)).unwrap();
        assert_eq!(tied.len(), 2);
        assert_eq!(tied[1].1.shape(), &[1000, 1000]);
    }

    #[test]
    fn natural_order() {
        let mut keys = vec!["10.weight", "2.bias", "2.weight", "0.weight", "fc10.bias", "fc2.bias"];
        keys.sort_by_key(|k| natural_key(k));
        assert_eq!(keys, ["0.weight", "2.bias", "2.weight", "10.weight", "fc2.bias", "fc10.bias"]);
    }
}
