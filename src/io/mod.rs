//! Models that outlive the process. The parameter store is in the middle: a model is its
//! architecture (a [`ModelConfig`]), its [`ParamStore`](crate::ParamStore)'s named tensors,
//! and, when it was compiled, its loss and the optimiser's state by name. Each file format is
//! a thin reader and writer of that description, one file per format:
//!
//! * `safetensors.rs`: neurite's own model file, the named tensors with the
//!   architecture, loss and optimiser as JSON metadata;
//! * `checkpoint.rs`: a model file plus where its fit stands ([`Checkpointer`],
//!   [`load_checkpoint`]), to continue a fit bit for bit.
//!
//! Every file is written to a temporary file beside its destination and renamed into place,
//! so a crash never leaves a half-written model.

mod checkpoint;
mod safetensors;

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::nn::{DenseConfig, LayerConfig, Loss};
use crate::optim::{Optimizer, OptimizerState};
use crate::tensor::Tensor;
use crate::train::{Metric, ModelConfig, Sequential};
use safetensors::NamedTensors;

pub use checkpoint::{checkpoint_from_bytes, load_checkpoint, Checkpoint, Checkpointer, CHECKPOINT_FILE};

pub use crate::fs::write_atomic;

/// The metadata key holding the architecture.
const ARCHITECTURE_KEY: &str = "neurite.architecture";
/// The metadata key holding the loss and the optimiser, for a compiled model.
const TRAINING_KEY: &str = "neurite.training";
/// The metadata key holding the format version.
const FORMAT_KEY: &str = "neurite.format";
/// Version 2: the architecture is a [`ModelConfig`], tensors are named as the store names
/// them (`dense/kernel`), and the optimiser's state may follow (`optimizer/m/dense/kernel`).
/// Version 1 (a list of dense configurations, `dense.weight`) is still read.
const FORMAT_VERSION: &str = "2";
/// Prefix of the optimiser's tensors.
const OPTIMIZER_PREFIX: &str = "optimizer/";

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
    let (tensors, metadata) = model_parts(&model.config(), model.params(), training)?;
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
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    model_from_bytes(&bytes).map_err(|e| e.context(path.display()))
}

/// A model from the bytes of a model file.
pub fn model_from_bytes(bytes: &[u8]) -> Result<Sequential> {
    let (tensors, metadata) = safetensors::from_bytes(bytes)?;
    model_from_parts(tensors, &metadata)
}

/// A model from named tensors and metadata as [`model_parts`] gives them.
fn model_from_parts(tensors: NamedTensors, metadata: &HashMap<String, String>) -> Result<Sequential> {
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
    if config.layers.is_empty() {
        return Err(Error::Format("the file describes no layers".into()));
    }
    let mut model = Sequential::from_config(&config, 0)?;
    let (params, optimizer): (Vec<_>, Vec<_>) =
        tensors.into_iter().partition(|(n, _)| !n.starts_with(OPTIMIZER_PREFIX));
    let store = model.params();
    for info in store.infos() {
        let (_, value) = params
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
    if let Some(extra) = params.iter().find(|(n, _)| store.infos().iter().all(|i| i.name != *n)) {
        return Err(Error::Format(format!("tensor {} belongs to no layer of the architecture", extra.0)));
    }
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
    Ok((
        ModelConfig { name: "sequential".into(), layers: layers.into_iter().map(LayerConfig::Dense).collect() },
        renamed,
    ))
}

/// JSON for the metadata.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Format(format!("metadata: {e}")))
}
