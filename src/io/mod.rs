//! Models that outlive the process. The parameter store is in the middle: a model is its
//! architecture (a [`ModelConfig`]), its [`ParamStore`](crate::ParamStore)'s named tensors,
//! and, when it was compiled, its loss and the optimiser's state by name. Each file format is
//! a thin reader and writer of that description, one file per format:
//!
//! * `safetensors.rs`: neurite's own model file, the named tensors with the
//!   architecture, loss and optimiser as JSON metadata;
//! * `checkpoint.rs`: a model file plus where its fit stands ([`Checkpointer`],
//!   [`load_checkpoint`]), to continue a fit bit for bit;
//! * [`npy`]: NumPy's `.npy` and `.npz`; a network stored as arrays `W1, b1, W2, b2, ...`
//!   ([`model_from_arrays`], [`model_to_arrays`]);
//! * [`torch`]: PyTorch state_dicts, as safetensors and as `torch.save`'s `.pt` files (read
//!   by `pickle.rs`, a pickle machine that calls nothing, from `zip.rs`'s archives); any
//!   named tensors, f32 or int64, as the file `torch.save(state_dict)` writes
//!   ([`state_dict_to_pt_bytes`], [`save_state_dict_pt`]) and back
//!   ([`read_state_dict_values`]);
//! * [`onnx`]: ONNX models, written and read by hand-written protobuf messages; a graph
//!   that neurite's autograd recorded, as the model `torch.onnx.export` writes
//!   ([`graph_to_onnx`], [`save_graph_onnx`]);
//! * [`keras`]: Keras' JSON descriptions of models (`model.to_json()`) and layers, read into a
//!   [`ModelConfig`].
//!
//! [`read_model`] tells the formats apart by their bytes. Every reader is meant for files
//! from strangers: sizes are checked against the file before anything is allocated, no
//! arithmetic on a declared size can overflow, and a damaged file is an error that says what
//! is wrong, never a panic.
//!
//! Every reader's memory is bounded by its file: the tensors a file becomes (each reference
//! to a shared storage or initializer counted again, every inflated zip entry counted) may
//! not exceed a [`ReadBudget`] of [`EXPANSION`] times the file's size or the read cap
//! ([`READ_CAP`], raised by [`set_read_cap`] or `NEURITE_READ_CAP_MIB`), whichever is
//! larger; the check comes before the allocation. And every tensor a reader returns passes
//! [`check_finite`]: a NaN or infinite weight is refused with the tensor's name.
//!
//! Every file is written to a temporary file beside its destination and renamed into place,
//! so a crash never leaves a half-written model.

mod checkpoint;
pub mod keras;
pub mod npy;
pub mod onnx;
mod pickle;
mod safetensors;
pub mod torch;
mod zip;

use std::collections::HashMap;
use std::path::Path;

use crate::error::{shape_str, Error, Result};
use crate::nn::{Activation, Dense, DenseConfig, LayerConfig, Loss};
use crate::optim::{Optimizer, OptimizerState};
use crate::tensor::Tensor;
use crate::train::{Metric, ModelConfig, Sequential};
use safetensors::NamedTensors;

pub use checkpoint::{checkpoint_from_bytes, load_checkpoint, Checkpoint, Checkpointer, CHECKPOINT_FILE};

pub use crate::fs::write_atomic;
pub use onnx::{graph_to_onnx, save_graph_onnx};
pub use torch::{
    load_state_dict_values, read_state_dict_values, save_state_dict_pt, state_dict_to_pt_bytes, TorchValue,
};

/// The metadata key holding the architecture.
const ARCHITECTURE_KEY: &str = "neurite.architecture";
/// The metadata key holding the loss and the optimiser, for a compiled model.
const TRAINING_KEY: &str = "neurite.training";
/// The metadata key holding the data description (a [`crate::data::Schema`]: table columns
/// and standardisation, or picture size and colour, and class names), for a model trained
/// on a table or a folder of pictures. Files without it (MNIST models, files written
/// before it existed) load as they did.
const DATA_KEY: &str = "neurite.data";
/// The metadata key holding the format version.
const FORMAT_KEY: &str = "neurite.format";
/// Version 2: the architecture is a [`ModelConfig`], tensors are named as the store names
/// them (`dense/kernel`), and the optimiser's state may follow (`optimizer/m/dense/kernel`).
/// Version 1 (a list of dense configurations, `dense.weight`) is still read.
const FORMAT_VERSION: &str = "2";
/// Prefix of the optimiser's tensors.
const OPTIMIZER_PREFIX: &str = "optimizer/";

/// How many bytes of tensors a model file may become per byte of the file: f16 and bf16
/// values double when read as f32, and a tensor may be shared by a layer or two (tied
/// weights); more than that is a file built to exhaust memory (500 tensors viewing one
/// storage, 100 layers on one initializer, a deflated entry of zeros).
pub const EXPANSION: u64 = 4;

/// The bytes of tensors any model file may become, whatever its size: 64 MiB, a 16-million
/// parameter network, so that a small compressed file of a sparse model still reads.
/// [`set_read_cap`] or the environment variable `NEURITE_READ_CAP_MIB` raise it.
pub const READ_CAP: u64 = 64 << 20;

/// The cap set by [`set_read_cap`] (0: none set).
static READ_CAP_SET: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Raises (or lowers) the read cap of every later [`ReadBudget`] for this process: for a
/// file that legitimately expands beyond [`EXPANSION`] times its size (a compressed `.npz`
/// of mostly zeros larger than [`READ_CAP`]).
pub fn set_read_cap(bytes: u64) {
    READ_CAP_SET.store(bytes.max(1), std::sync::atomic::Ordering::Relaxed);
}

/// The read cap in force: [`set_read_cap`]'s, else `NEURITE_READ_CAP_MIB`'s, else [`READ_CAP`].
pub fn read_cap() -> u64 {
    match READ_CAP_SET.load(std::sync::atomic::Ordering::Relaxed) {
        0 => std::env::var("NEURITE_READ_CAP_MIB")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(READ_CAP, |mib| mib.saturating_mul(1 << 20)),
        set => set,
    }
}

/// What one model file may still allocate for its tensors: [`EXPANSION`] times the file's
/// size or [`read_cap`], whichever is larger. A reader takes from it, before allocating,
/// every inflated zip entry and every tensor it will build (a second reference to the same
/// storage or initializer is taken again), so that the bytes held are bounded by the file.
#[derive(Debug, Clone)]
pub struct ReadBudget {
    limit: u64,
    left: u64,
    file: u64,
    /// The other files read for this one (an ONNX model's external data), counted once.
    others: Vec<std::path::PathBuf>,
}

impl ReadBudget {
    /// The budget of a file of `file_bytes` bytes.
    pub fn for_file(file_bytes: u64) -> ReadBudget {
        let limit = file_bytes.saturating_mul(EXPANSION).max(read_cap());
        ReadBudget { limit, left: limit, file: file_bytes, others: Vec::new() }
    }

    /// Counts a second file of `bytes` bytes as part of this one (an ONNX model's external
    /// data file), once however many tensors it holds: the budget grows by [`EXPANSION`]
    /// times its size, less what the read cap already allowed.
    pub(crate) fn add_file(&mut self, path: &Path, bytes: u64) {
        if self.others.iter().any(|p| p == path) {
            return;
        }
        self.others.push(path.to_path_buf());
        self.file = self.file.saturating_add(bytes);
        let limit = self.file.saturating_mul(EXPANSION).max(self.limit);
        self.left = self.left.saturating_add(limit - self.limit);
        self.limit = limit;
    }

    /// Takes `bytes` for `what` (a tensor or an archive entry, named), or says why not.
    pub fn take(&mut self, bytes: u64, what: impl std::fmt::Display) -> Result<()> {
        if bytes > self.left {
            return Err(Error::Format(format!(
                "{what} would take the tensors read from this {}-byte file past {} bytes ({EXPANSION} times the file or the read cap of {} bytes, \
                 whichever is larger); a file that expands this much is refused (raise the cap with NEURITE_READ_CAP_MIB if the file is yours)",
                self.file,
                self.limit,
                read_cap()
            )));
        }
        self.left -= bytes;
        Ok(())
    }
}

/// Refuses a tensor holding NaN or an infinite value, naming it and the first such value:
/// every reader's tensors pass through here ([`read_model`], [`model_from_bytes`],
/// checkpoints), so a model with broken weights is refused when it is loaded, not used.
pub fn check_finite(tensors: &[(String, Tensor)]) -> Result<()> {
    for (name, t) in tensors {
        let values = t.contiguous();
        let values = values.as_slice().unwrap_or(&[]);
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Format(format!(
                "tensor {name} (shape {}) holds {} at flat index {i}{}; a model's weights must be finite numbers",
                shape_str(t.shape()),
                values[i],
                match values.iter().filter(|v| !v.is_finite()).count() {
                    1 => String::new(),
                    n => format!(" ({n} such values in all)"),
                }
            )));
        }
    }
    Ok(())
}

/// Refuses to export a model whose weights are not all finite, naming the tensor: another
/// framework would run the NaN without a word. Every exporter (ONNX, PyTorch, NumPy) starts here.
pub(crate) fn exportable(model: &Sequential) -> Result<()> {
    check_finite(&model.params().tensors()?).map_err(|e| e.context("export"))
}

/// How a compiled model was trained, stored with it so that training can go on.
#[derive(serde::Serialize, serde::Deserialize)]
struct Training {
    loss: Loss,
    optimizer: Optimizer,
    iterations: u64,
}

/// Saves a model: its architecture, its parameters and, when it was compiled, its loss and
/// optimiser state.
///
/// ```
/// use neurite::{io, nn::{Activation, Dense}, train::Sequential};
/// let mut model = Sequential::with_seed(0);
/// model.add(Dense::new(4).activation(Activation::Relu).input_shape(3))?;
/// model.add(Dense::new(2).activation(Activation::Softmax))?;
/// let path = std::env::temp_dir().join(format!("neurite-doc-{}.safetensors", std::process::id()));
/// io::save_model(&model, &path)?;
/// let back = io::load_model(&path)?;
/// assert_eq!(back.summary(), model.summary());
/// assert_eq!(back.params().tensors()?, model.params().tensors()?);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn save_model(model: &Sequential, path: &Path) -> Result<()> {
    write_atomic(path, &model_bytes(model)?)
}

/// The bytes of a model file.
pub fn model_bytes(model: &Sequential) -> Result<Vec<u8>> {
    let training = model.loss().zip(model.optimizer_state());
    let (tensors, mut metadata) = model_parts(&model.config(), model.params(), training)?;
    if let Some(schema) = model.schema() {
        metadata.insert(DATA_KEY.to_string(), to_json(schema)?);
    }
    safetensors::to_bytes(&tensors, metadata)
}

/// A model as named tensors (parameters, then the optimiser's state) and metadata
/// (architecture, loss and optimiser): what a model file and a checkpoint hold.
fn model_parts(
    config: &ModelConfig,
    params: &crate::autograd::ParamStore,
    training: Option<(Loss, &OptimizerState)>,
) -> Result<(NamedTensors, HashMap<String, String>)> {
    let mut metadata = HashMap::from([
        (FORMAT_KEY.to_string(), FORMAT_VERSION.to_string()),
        (ARCHITECTURE_KEY.to_string(), to_json(config)?),
    ]);
    let mut tensors = params.tensors()?;
    if let Some((loss, state)) = training {
        let training = Training { loss, optimizer: state.optimizer(), iterations: state.iterations() };
        metadata.insert(TRAINING_KEY.to_string(), to_json(&training)?);
        tensors.extend(state.tensors()?.into_iter().map(|(n, t)| (format!("{OPTIMIZER_PREFIX}{n}"), t)));
    }
    Ok((tensors, metadata))
}

/// Loads a model saved by [`save_model`]: compiled, with its optimiser state, when it was
/// saved compiled.
pub fn load_model(path: &Path) -> Result<Sequential> {
    // The file's bytes are dropped once its tensors are read, before the model is built.
    let parts = {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        safetensors::from_bytes(&bytes)
    };
    parts.and_then(|(tensors, metadata)| model_from_parts(tensors, &metadata)).map_err(|e| e.context(path.display()))
}

/// A model from the bytes of a model file.
pub fn model_from_bytes(bytes: &[u8]) -> Result<Sequential> {
    let (tensors, metadata) = safetensors::from_bytes(bytes)?;
    model_from_parts(tensors, &metadata)
}

/// A model from named tensors and metadata as [`model_parts`] gives them.
fn model_from_parts(tensors: NamedTensors, metadata: &HashMap<String, String>) -> Result<Sequential> {
    let tensors = checked(tensors)?;
    let architecture =
        metadata.get(ARCHITECTURE_KEY).ok_or_else(|| Error::Format("no neurite architecture in the file".into()))?;
    let (config, tensors) = match metadata.get(FORMAT_KEY).map(String::as_str) {
        Some(FORMAT_VERSION) => (
            serde_json::from_str::<ModelConfig>(architecture)
                .map_err(|e| Error::Format(format!("the architecture is not valid: {e}")))?,
            tensors,
        ),
        Some("1") => version_1(architecture, tensors)?,
        other => return Err(Error::Format(format!("unsupported neurite format {other:?}"))),
    };
    let (params, optimizer): (Vec<_>, Vec<_>) =
        tensors.into_iter().partition(|(n, _)| !n.starts_with(OPTIMIZER_PREFIX));
    let mut model = model_from_state(&config, &params)?;
    if let Some(training) = metadata.get(TRAINING_KEY) {
        let training: Training = serde_json::from_str(training)
            .map_err(|e| Error::Format(format!("the training record is not valid: {e}")))?;
        model.compile(training.optimizer, training.loss, &[Metric::Accuracy])?;
        let mut state = OptimizerState::new(training.optimizer, model.params())?;
        state.set_iterations(training.iterations);
        let named: Vec<(String, Tensor)> =
            optimizer.into_iter().map(|(n, t)| (n[OPTIMIZER_PREFIX.len()..].to_string(), t)).collect();
        state.set_tensors(&named)?;
        model.set_optimizer_state(state)?;
    }
    if let Some(data) = metadata.get(DATA_KEY) {
        let schema: crate::data::Schema =
            serde_json::from_str(data).map_err(|e| Error::Format(format!("the data description is not valid: {e}")))?;
        model.set_schema(Some(schema))?;
    }
    Ok(model)
}

/// A model from its description and its named tensors, each named as the model's store names
/// it (`dense/kernel`, `batch_normalization/moving_mean`): where every reader ends once its
/// format's names are mapped. The description is counted against the tensors before any
/// layer is built (one that lies, `units` 1e12, would otherwise allocate what it says); then
/// every tensor must be there, with its shape, and no other.
pub fn model_from_state(config: &ModelConfig, tensors: &[(String, Tensor)]) -> Result<Sequential> {
    if config.layers.is_empty() {
        return Err(Error::Format("the file describes no layers".into()));
    }
    let held = tensors.iter().map(|(_, t)| t.size()).try_fold(0usize, usize::checked_add);
    match (config.param_count(), held) {
        (Ok(described), Some(held)) if described == held => {}
        (Ok(described), held) => {
            let mut listed: Vec<String> =
                tensors.iter().map(|(n, t)| format!("{n} {}", crate::error::shape_str(t.shape()))).collect();
            listed.sort_unstable();
            listed.truncate(6);
            return Err(Error::Format(format!(
                "the architecture describes {described} parameter values, the file holds {} ({}{}): tensors are missing, or the architecture does not describe them",
                held.map_or_else(|| "more than can be counted".to_string(), |h| h.to_string()),
                if listed.is_empty() { "no tensor".to_string() } else { listed.join(", ") },
                if tensors.len() > 6 { format!(", ... {} tensors in all", tensors.len()) } else { String::new() }
            )));
        }
        (Err(e), _) => return Err(Error::Format(format!("the architecture is not valid: {e}"))),
    }
    let model = Sequential::from_config(config, 0)?;
    let store = model.params();
    for info in store.infos() {
        let (_, value) = tensors
            .iter()
            .find(|(n, _)| *n == info.name)
            .ok_or_else(|| Error::Format(format!("tensor {} is missing", info.name)))?;
        if value.shape() != info.shape.as_slice() {
            return Err(Error::Format(format!(
                "tensor {}: shape {} where the architecture needs {}",
                info.name,
                crate::error::shape_str(value.shape()),
                crate::error::shape_str(&info.shape)
            )));
        }
        store.set(&info.name, value)?;
    }
    if let Some(extra) = tensors.iter().find(|(n, _)| store.infos().iter().all(|i| i.name != *n)) {
        return Err(Error::Format(format!("tensor {} belongs to no layer of the architecture", extra.0)));
    }
    Ok(model)
}

/// A version-1 file: a list of dense configurations and tensors named `<layer>.weight`.
fn version_1(architecture: &str, tensors: Vec<(String, Tensor)>) -> Result<(ModelConfig, Vec<(String, Tensor)>)> {
    let layers: Vec<DenseConfig> =
        serde_json::from_str(architecture).map_err(|e| Error::Format(format!("the architecture is not valid: {e}")))?;
    let renamed = tensors
        .into_iter()
        .map(|(n, t)| (n.replacen(".weight", "/kernel", 1).replacen(".bias", "/bias", 1), t))
        .collect();
    Ok((ModelConfig::new(None, layers.into_iter().map(LayerConfig::Dense).collect()), renamed))
}

/// JSON for the metadata.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Format(format!("metadata: {e}")))
}

/// A model from its layers: each a kernel of shape (inputs, outputs), an optional bias of
/// shape (outputs,) and an activation. Sizes must chain: each layer's outputs are the next
/// one's inputs. Every importer ends here.
///
/// ```
/// use neurite::{io, nn::Activation, Tensor};
/// let w1 = Tensor::zeros(&[4, 3]);
/// let w2 = Tensor::zeros(&[3, 2]);
/// let model = io::sequential_from_layers(vec![
///     (w1, Some(Tensor::zeros(&[3])), Activation::Relu),
///     (w2.clone(), None, Activation::Softmax),
/// ])?;
/// assert_eq!(model.param_count(), 4 * 3 + 3 + 3 * 2);
/// // Layers that do not chain are an error that names both shapes.
/// let err = io::sequential_from_layers(vec![(w2.clone(), None, Activation::Relu), (w2, None, Activation::Relu)]);
/// assert!(err.err().unwrap().to_string().contains("layer 2's kernel (3, 2) does not take the 2 outputs of layer 1"));
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn sequential_from_layers(layers: Vec<(Tensor, Option<Tensor>, Activation)>) -> Result<Sequential> {
    if layers.is_empty() {
        return Err(Error::Format("the file describes no layers".into()));
    }
    let mut model = Sequential::with_seed(0);
    let mut previous: Option<usize> = None;
    for (i, (kernel, bias, activation)) in layers.into_iter().enumerate() {
        if kernel.ndim() != 2 {
            return Err(Error::Shape(format!(
                "layer {}: a kernel of shape {} is not 2-D",
                i + 1,
                shape_str(kernel.shape())
            )));
        }
        if let Some(p) = previous.filter(|&p| p != kernel.shape()[0]) {
            return Err(Error::Shape(format!(
                "layer {}'s kernel {} does not take the {p} outputs of layer {i}",
                i + 1,
                shape_str(kernel.shape())
            )));
        }
        previous = Some(kernel.shape()[1]);
        let layer = Dense::from_weights(kernel, bias, activation).map_err(|e| {
            Error::Shape(format!("layer {}: {}", i + 1, e.to_string().trim_start_matches("shape error: ")))
        })?;
        model.add(layer)?;
    }
    Ok(model)
}

/// A model from arrays named as the book behind note 001 names its networks: `W1, b1, W2,
/// b2, ...` with `W` of shape (inputs, outputs), `hidden` after every layer but the last,
/// `output` after the last. A missing bias, a gap in the numbering, an unknown array or
/// shapes that do not chain are errors.
///
/// ```
/// use neurite::{io, nn::Activation, Tensor};
/// let arrays = vec![
///     ("W1".to_string(), Tensor::zeros(&[784, 50])), ("b1".to_string(), Tensor::zeros(&[50])),
///     ("W2".to_string(), Tensor::zeros(&[50, 10])), ("b2".to_string(), Tensor::zeros(&[10])),
/// ];
/// let model = io::model_from_arrays(&arrays, Activation::Sigmoid, Activation::Softmax)?;
/// assert_eq!(model.param_count(), 39_760);
/// assert_eq!(io::model_to_arrays(&model)?, arrays);
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn model_from_arrays(arrays: &[(String, Tensor)], hidden: Activation, output: Activation) -> Result<Sequential> {
    if arrays.iter().any(|(name, _)| name.contains('/')) {
        return model_from_named_arrays(arrays, hidden, output);
    }
    let mut weights: Vec<(usize, &Tensor)> = Vec::new();
    let mut biases: Vec<(usize, &Tensor)> = Vec::new();
    for (name, t) in arrays {
        let number = |prefix: char| name.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok()).filter(|&n| n > 0);
        match (number('W'), number('b')) {
            (Some(n), _) => weights.push((n, t)),
            (_, Some(n)) => biases.push((n, t)),
            _ => {
                return Err(Error::Format(format!(
                    "array {name:?} is not one of W1, b1, W2, b2, ... (the arrays are {})",
                    arrays.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                )))
            }
        }
    }
    let count = weights.len();
    let mut layers = Vec::with_capacity(count);
    for n in 1..=count {
        let w = weights.iter().filter(|(i, _)| *i == n).collect::<Vec<_>>();
        let b = biases.iter().filter(|(i, _)| *i == n).collect::<Vec<_>>();
        match (w.as_slice(), b.as_slice()) {
            ([(_, w)], [(_, b)]) => {
                let activation = if n == count { output } else { hidden };
                layers.push(((*w).clone(), Some((*b).clone()), activation));
            }
            ([], _) => return Err(Error::Format(format!("W{n} is missing (there are {count} weight arrays)"))),
            (_, []) => return Err(Error::Format(format!("b{n} is missing"))),
            _ => return Err(Error::Format(format!("W{n} or b{n} appears twice"))),
        }
    }
    if let Some((n, _)) = biases.iter().find(|(n, _)| *n > count) {
        return Err(Error::Format(format!("b{n} has no W{n}")));
    }
    sequential_from_layers(layers)
}

/// A model's parameters as the arrays `W1, b1, W2, b2, ...` of [`model_from_arrays`] (a
/// layer without a bias gets a zero one), for [`npy::npz_bytes`].
pub fn model_to_arrays(model: &Sequential) -> Result<Vec<(String, Tensor)>> {
    exportable(model)?;
    let mut out = Vec::new();
    if model.layers().iter().any(|l| l.as_dense().is_none()) {
        // Not a stack of dense layers: the arrays are named as the model's store names them
        // (`dense/kernel`, `batch_normalization/moving_mean`), which model_from_arrays reads.
        return model.params().tensors();
    }
    for (i, layer) in model.dense_layers().into_iter().enumerate() {
        let w = layer.weight().ok_or_else(|| Error::Value(format!("layer {} is not built", i + 1)))?.value();
        let b = layer.bias().map(|b| b.value()).unwrap_or_else(|| Tensor::zeros(&[layer.units()]));
        out.push((format!("W{}", i + 1), w));
        out.push((format!("b{}", i + 1), b));
    }
    Ok(out)
}

/// A model from arrays named as a model's store names them (`dense/kernel`, `dense/bias`,
/// `batch_normalization/gamma`, ..., in the model's order, as [`model_to_arrays`] writes a
/// model that is not a stack of dense layers): each `<layer>/kernel` is a dense layer (`hidden`
/// after each but the last, `output` after the last), each `<layer>/moving_mean` a batch
/// normalisation (Keras' epsilon 1e-3 and momentum 0.99). Layers without weights (Dropout,
/// Flatten) are not in the arrays and not needed at inference.
fn model_from_named_arrays(arrays: &[(String, Tensor)], hidden: Activation, output: Activation) -> Result<Sequential> {
    let mut layers: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, _) in arrays {
        let (layer, what) = name
            .rsplit_once('/')
            .ok_or_else(|| Error::Format(format!("array {name:?} is not <layer>/<weight> like its neighbours")))?;
        match layers.iter_mut().find(|l| l.0 == layer) {
            Some(l) => l.1.push(what),
            None => layers.push((layer.to_string(), vec![what])),
        }
    }
    let count = layers.iter().filter(|l| l.1.contains(&"kernel")).count();
    let get = |name: String| {
        arrays
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| Error::Format(format!("array {name} is missing")))
    };
    let (mut configs, mut input, mut dense) = (Vec::new(), None, 0);
    for (layer, weights) in &layers {
        let mut sorted = weights.clone();
        sorted.sort_unstable();
        match sorted.as_slice() {
            ["bias", "kernel"] | ["kernel"] => {
                let kernel = get(format!("{layer}/kernel"))?;
                if kernel.ndim() != 2 {
                    return Err(Error::Format(format!("array {layer}/kernel has shape {}, not 2-D", shape_str(kernel.shape()))));
                }
                input.get_or_insert(kernel.shape()[0]);
                dense += 1;
                configs.push(LayerConfig::Dense(DenseConfig {
                    units: kernel.shape()[1],
                    input_dim: None,
                    activation: if dense == count { output } else { hidden },
                    use_bias: sorted.len() == 2,
                    kernel_initializer: crate::nn::Initializer::GlorotUniform,
                    bias_initializer: crate::nn::Initializer::Zeros,
                    name: Some(layer.clone()),
                }));
            }
            ["beta", "gamma", "moving_mean", "moving_variance"] | ["moving_mean", "moving_variance"] => {
                input.get_or_insert(get(format!("{layer}/moving_mean"))?.size());
                configs.push(LayerConfig::BatchNormalization(crate::nn::BatchNormalizationConfig {
                    center: sorted.len() == 4,
                    scale: sorted.len() == 4,
                    name: Some(layer.clone()),
                    ..Default::default()
                }));
            }
            other => {
                return Err(Error::Format(format!(
                    "layer {layer}: arrays {other:?} are neither a dense layer's (kernel, bias) nor a batch normalisation's (gamma, beta, moving_mean, moving_variance)"
                )))
            }
        }
    }
    model_from_state(&ModelConfig::new(input.map(|n| vec![n]), configs), arrays)
}

/// The activations a file format does not record (NumPy arrays, PyTorch state_dicts):
/// `hidden` after every layer but the last, `output` after the last.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Activations {
    /// After the hidden layers.
    pub hidden: Option<Activation>,
    /// After the output layer.
    pub output: Option<Activation>,
}

impl Activations {
    fn get(&self, what: &str) -> Result<(Activation, Activation)> {
        match (self.hidden, self.output) {
            (Some(h), Some(o)) => Ok((h, o)),
            _ => Err(Error::Value(format!(
                "{what} does not record the activations: give them (--activation for the hidden layers, --output for the last, e.g. sigmoid and softmax)"
            ))),
        }
    }
}

/// What kind of model file some bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// neurite's own safetensors file, with its architecture.
    Neurite,
    /// A safetensors file without neurite's architecture: a PyTorch state_dict.
    TorchSafetensors,
    /// A `torch.save` zip.
    TorchPt,
    /// A NumPy `.npz` archive.
    Npz,
    /// A single NumPy array.
    Npy,
    /// An ONNX model.
    Onnx,
    /// A pickled dict of NumPy arrays (`pickle.dump` of `{'W1': ..., 'b1': ...}`), as the
    /// book behind note 001 ships its `sample_weight.pkl`.
    Pickle,
}

impl Format {
    /// Recognises a model file by its first bytes (and a zip by what it holds).
    pub fn detect(bytes: &[u8]) -> Result<Format> {
        if bytes.starts_with(b"\x93NUMPY") {
            return Ok(Format::Npy);
        }
        if zip::is_zip(bytes) {
            let archive = zip::Archive::new(bytes)?;
            if archive.entries().iter().any(|e| e.name.ends_with("data.pkl")) {
                return Ok(Format::TorchPt);
            }
            return Ok(Format::Npz);
        }
        // safetensors: an 8-byte header length, then a JSON object.
        if bytes.len() >= 9 && bytes[8] == b'{' {
            let (_, metadata) = safetensors::from_bytes(bytes)?;
            return Ok(if metadata.contains_key(ARCHITECTURE_KEY) {
                Format::Neurite
            } else {
                Format::TorchSafetensors
            });
        }
        // ONNX: a protobuf ModelProto starts with its IR version (field 1, a varint).
        if bytes.first() == Some(&0x08) {
            return Ok(Format::Onnx);
        }
        // A pickle of protocol 2 or later starts with PROTO (0x80) and its version.
        if bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1]) {
            return Ok(Format::Pickle);
        }
        Err(Error::Format(
            "not a model file neurite reads (neurite or PyTorch safetensors, a torch.save .pt, NumPy .npz, ONNX, a pickle of NumPy arrays)"
                .into(),
        ))
    }
}

/// Reads a model from any format neurite knows ([`Format::detect`] tells which);
/// `activations` are needed for the formats that do not record them. An ONNX model that
/// keeps its weights in external files needs its folder: [`read_model_in`].
pub fn read_model(bytes: &[u8], activations: Activations) -> Result<Sequential> {
    read_model_with(bytes, activations, None)
}

/// [`read_model`] for a file of the folder `dir`, where an ONNX model's external data files
/// (`model.onnx.data`) are looked for.
pub fn read_model_in(bytes: &[u8], activations: Activations, dir: &Path) -> Result<Sequential> {
    read_model_with(bytes, activations, Some(dir))
}

fn read_model_with(bytes: &[u8], activations: Activations, dir: Option<&Path>) -> Result<Sequential> {
    read_parts(bytes, activations, dir)?.build()
}

/// What a reader gives, before a model is built from it: apart, so that a caller can drop
/// the file's bytes first ([`load_any`]).
enum Parts {
    /// neurite's own file: its tensors and metadata.
    Neurite(NamedTensors, HashMap<String, String>),
    /// A PyTorch state_dict, the activations it does not record, and its batch
    /// normalisations' epsilon and momentum when neurite wrote it (else PyTorch's defaults).
    StateDict(NamedTensors, Activation, Activation, Vec<(f32, f32)>),
    /// A PyTorch state_dict and the architecture it is for (neurite's export records it).
    TorchFor(NamedTensors, ModelConfig),
    /// Arrays `W1, b1, ...` (`.npz`, pickle), and the activations.
    Arrays(NamedTensors, Activation, Activation),
    /// Layers with their activations (ONNX).
    Layers(Vec<NamedLayer>),
}

impl Parts {
    fn build(self) -> Result<Sequential> {
        match self {
            Parts::Neurite(tensors, metadata) => model_from_parts(tensors, &metadata),
            Parts::StateDict(tensors, h, o, norms) => torch::model_from_state_dict_with(&tensors, h, o, &norms),
            Parts::TorchFor(tensors, config) => torch::model_from_state_dict_for(&config, &tensors),
            Parts::Arrays(arrays, h, o) => model_from_arrays(&arrays, h, o),
            Parts::Layers(layers) => model_from_named_layers(layers),
        }
    }
}

/// Reads `bytes` as the format [`Format::detect`] finds, within its [`ReadBudget`]; every
/// reader's named tensors go through [`checked`] (neurite's own in [`model_from_parts`],
/// ONNX's in [`model_from_named_layers`]).
fn read_parts(bytes: &[u8], activations: Activations, dir: Option<&Path>) -> Result<Parts> {
    let mut budget = ReadBudget::for_file(bytes.len() as u64);
    Ok(match Format::detect(bytes)? {
        Format::Neurite => {
            let (tensors, metadata) = safetensors::from_bytes(bytes)?;
            Parts::Neurite(tensors, metadata)
        }
        Format::TorchSafetensors if safetensors::metadata(bytes)?.contains_key(torch::ARCHITECTURE_KEY) => {
            // neurite wrote it, with the architecture: convolutions, pooling and activations.
            let architecture = safetensors::metadata(bytes)?.remove(torch::ARCHITECTURE_KEY).unwrap_or_default();
            let config: ModelConfig = serde_json::from_str(&architecture)
                .map_err(|e| Error::Format(format!("the state_dict's architecture is not valid: {e}")))?;
            Parts::TorchFor(checked(torch::read_state_dict_within(bytes, &mut budget)?)?, config)
        }
        Format::TorchPt if torch::pt_architecture(bytes)?.is_some() => {
            let config = torch::pt_architecture(bytes)?.unwrap_or_else(|| ModelConfig::new(None, vec![]));
            Parts::TorchFor(checked(torch::read_state_dict_within(bytes, &mut budget)?)?, config)
        }
        format @ (Format::TorchSafetensors | Format::TorchPt) => {
            let (h, o) = activations.get("a PyTorch state_dict")?;
            // A state_dict neurite wrote names its modules, batch normalisations' epsilon and
            // momentum included, in its metadata.
            let norms = match format {
                Format::TorchSafetensors => safetensors::metadata(bytes)?
                    .get(torch::MODULES_KEY)
                    .map_or_else(Vec::new, |m| torch::batch_norm_settings(m)),
                _ => vec![],
            };
            Parts::StateDict(checked(torch::read_state_dict_within(bytes, &mut budget)?)?, h, o, norms)
        }
        Format::Npz => {
            let (h, o) = activations.get("a NumPy .npz of W1, b1, ...")?;
            Parts::Arrays(checked(npy::read_npz_within(bytes, &mut budget)?)?, h, o)
        }
        Format::Pickle => {
            let (h, o) = activations.get("a pickle of NumPy arrays W1, b1, ...")?;
            Parts::Arrays(checked(pickle::numpy_arrays(bytes)?)?, h, o)
        }
        Format::Npy => {
            return Err(Error::Format(
                "a .npy file holds one array; a network is an .npz of W1, b1, W2, b2, ... (np.savez)".into(),
            ))
        }
        Format::Onnx => Parts::Layers(onnx::read_layers(bytes, dir, &mut budget)?),
    })
}

/// The one gate between the readers and the models: a reader's named tensors, refused when
/// one holds NaN or an infinite value ([`check_finite`]).
pub(crate) fn checked(tensors: NamedTensors) -> Result<NamedTensors> {
    check_finite(&tensors)?;
    Ok(tensors)
}

/// One layer as an importer read it, its tensors named as the file names them (an ONNX
/// initializer's name).
pub(crate) enum NamedLayer {
    /// The model's input shape, when it is an image (height, width, channels); first if
    /// present. Without it, the input is the first dense layer's rows.
    Input(Vec<usize>),
    /// A dense layer: kernel (inputs, outputs), bias, activation.
    Dense { kernel: (String, Tensor), bias: Option<(String, Tensor)>, activation: Activation },
    /// Batch normalisation at inference: scale, bias, mean, variance, and epsilon.
    BatchNormalization { tensors: [(String, Tensor); 4], epsilon: f32 },
    /// A convolution: kernel in Keras' (kh, kw, in, out) order, bias, window, activation.
    Conv2D {
        kernel: (String, Tensor),
        bias: Option<(String, Tensor)>,
        strides: [usize; 2],
        padding: crate::nn::Padding,
        activation: Activation,
    },
    /// Max (`max`) or average pooling.
    Pooling2D { max: bool, pool: [usize; 2], strides: [usize; 2], padding: crate::nn::Padding },
    /// The mean of each channel.
    GlobalAveragePooling2D { keepdims: bool },
    /// An image as one row (channels last, as neurite flattens).
    Flatten,
}

/// A layer's kind and settings, its tensors taken out.
enum Kind {
    Dense(Activation, bool),
    Norm(f32),
    Conv(Activation, bool, [usize; 2], crate::nn::Padding),
    Pool(bool, [usize; 2], [usize; 2], crate::nn::Padding),
    Global(bool),
    Flatten,
}

/// A model from layers read with their names, through [`checked`] (so that a NaN is named by
/// the file's name for it): a stack of dense layers through [`sequential_from_layers`], any
/// other stack through a description and [`model_from_state`].
pub(crate) fn model_from_named_layers(layers: Vec<NamedLayer>) -> Result<Sequential> {
    let mut named = Vec::with_capacity(2 * layers.len());
    let mut kinds = Vec::with_capacity(layers.len());
    let mut input = None;
    for l in layers {
        match l {
            NamedLayer::Input(shape) => input = Some(shape),
            NamedLayer::Dense { kernel, bias, activation } => {
                kinds.push(Kind::Dense(activation, bias.is_some()));
                named.push(kernel);
                named.extend(bias);
            }
            NamedLayer::BatchNormalization { tensors, epsilon } => {
                kinds.push(Kind::Norm(epsilon));
                named.extend(tensors);
            }
            NamedLayer::Conv2D { kernel, bias, strides, padding, activation } => {
                kinds.push(Kind::Conv(activation, bias.is_some(), strides, padding));
                named.push(kernel);
                named.extend(bias);
            }
            NamedLayer::Pooling2D { max, pool, strides, padding } => {
                kinds.push(Kind::Pool(max, pool, strides, padding))
            }
            NamedLayer::GlobalAveragePooling2D { keepdims } => kinds.push(Kind::Global(keepdims)),
            NamedLayer::Flatten => kinds.push(Kind::Flatten),
        }
    }
    let mut tensors = checked(named)?.into_iter().map(|(_, t)| t);
    let mut next = || tensors.next().ok_or_else(|| Error::Format("a layer without its tensors".into()));
    if input.is_none() && kinds.iter().all(|k| matches!(k, Kind::Dense(..))) {
        let mut out = Vec::with_capacity(kinds.len());
        for kind in kinds {
            if let Kind::Dense(activation, has_bias) = kind {
                let kernel = next()?;
                let bias = if has_bias { Some(next()?) } else { None };
                out.push((kernel, bias, activation));
            }
        }
        return sequential_from_layers(out);
    }
    let (mut layers, mut state) = (Vec::new(), Vec::new());
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut name_of = |base: &'static str| {
        let k = counts.entry(base).or_insert(0);
        *k += 1;
        crate::nn::layer::numbered(base, *k - 1)
    };
    for kind in kinds {
        match kind {
            Kind::Dense(activation, has_bias) => {
                let name = name_of("dense");
                let kernel = next()?;
                if kernel.ndim() != 2 {
                    return Err(Error::Shape(format!(
                        "{name}: a kernel of shape {} is not 2-D",
                        shape_str(kernel.shape())
                    )));
                }
                input.get_or_insert(vec![kernel.shape()[0]]);
                let units = kernel.shape()[1];
                state.push((format!("{name}/kernel"), kernel));
                if has_bias {
                    state.push((format!("{name}/bias"), next()?));
                }
                layers.push(LayerConfig::Dense(DenseConfig {
                    units,
                    input_dim: None,
                    activation,
                    use_bias: has_bias,
                    kernel_initializer: crate::nn::Initializer::GlorotUniform,
                    bias_initializer: crate::nn::Initializer::Zeros,
                    name: Some(name),
                }));
            }
            Kind::Norm(epsilon) => {
                let name = name_of("batch_normalization");
                for what in ["gamma", "beta", "moving_mean", "moving_variance"] {
                    state.push((format!("{name}/{what}"), next()?));
                }
                layers.push(LayerConfig::BatchNormalization(crate::nn::BatchNormalizationConfig {
                    epsilon,
                    name: Some(name),
                    ..Default::default()
                }));
            }
            Kind::Conv(activation, use_bias, strides, padding) => {
                let name = name_of("conv2d");
                let kernel = next()?;
                let &[kh, kw, _, filters] = kernel.shape() else {
                    return Err(Error::Shape(format!(
                        "{name}: a kernel of shape {} is not (height, width, in, out)",
                        shape_str(kernel.shape())
                    )));
                };
                state.push((format!("{name}/kernel"), kernel));
                if use_bias {
                    state.push((format!("{name}/bias"), next()?));
                }
                layers.push(LayerConfig::Conv2D(crate::nn::Conv2DConfig {
                    filters,
                    kernel_size: [kh, kw],
                    strides,
                    padding,
                    activation,
                    use_bias,
                    kernel_initializer: crate::nn::Initializer::GlorotUniform,
                    bias_initializer: crate::nn::Initializer::Zeros,
                    input_shape: None,
                    name: Some(name),
                }));
            }
            Kind::Pool(max, pool_size, strides, padding) => {
                let name = name_of(if max { "max_pooling2d" } else { "average_pooling2d" });
                let config = crate::nn::PoolingConfig {
                    pool_size,
                    strides: Some(strides),
                    padding,
                    input_shape: None,
                    name: Some(name),
                };
                layers.push(if max {
                    LayerConfig::MaxPooling2D(config)
                } else {
                    LayerConfig::AveragePooling2D(config)
                });
            }
            Kind::Global(keepdims) => {
                let name = name_of("global_average_pooling2d");
                layers.push(LayerConfig::GlobalAveragePooling2D(crate::nn::GlobalAveragePooling2DConfig {
                    keepdims,
                    input_shape: None,
                    name: Some(name),
                }));
            }
            Kind::Flatten => {
                let name = name_of("flatten");
                layers.push(LayerConfig::Flatten(crate::nn::FlattenConfig { name: Some(name) }));
            }
        }
    }
    model_from_state(&ModelConfig::new(input, layers), &state)
}

/// [`read_model`] on a file (an ONNX model's external data is read from its folder); errors
/// name it.
pub fn load_any(path: &Path, activations: Activations) -> Result<Sequential> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // The file's bytes are dropped once its tensors are read, before the model is built.
    let parts = std::fs::read(path)
        .map_err(|e| Error::io(path, e))
        .and_then(|bytes| read_parts(&bytes, activations, Some(dir)));
    parts.and_then(Parts::build).map_err(|e| match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        Error::Value(m) => Error::Value(format!("{}: {m}", path.display())),
        Error::Shape(m) => Error::Shape(format!("{}: {m}", path.display())),
        other => other,
    })
}
