//! Model files: a [`Sequential`] saved as safetensors, weights as little-endian f32 tensors
//! and the architecture as JSON in the file's metadata. Loading such a file runs no code
//! (unlike the pickles of the notes), so a model from a stranger is safe to open. Every
//! file is written to a temporary file beside its destination and renamed into place, so a
//! crash never leaves a half-written model.
//!
//! Tensor names are `<layer>.weight` (shape (inputs, outputs), the notes' `W`) and
//! `<layer>.bias`.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::nn::dense::DenseConfig;
use crate::nn::Dense;
use crate::tensor::Tensor;
use crate::train::Sequential;

/// The metadata key holding the architecture.
const ARCHITECTURE_KEY: &str = "neurite.architecture";
/// The metadata key holding the format version.
const FORMAT_KEY: &str = "neurite.format";
const FORMAT_VERSION: &str = "1";

pub use crate::fs::write_atomic;

/// Saves a model's architecture and weights to a safetensors file.
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
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn save_model(model: &Sequential, path: &Path) -> Result<()> {
    write_atomic(path, &model_bytes(model)?)
}

/// The bytes of a model file.
pub fn model_bytes(model: &Sequential) -> Result<Vec<u8>> {
    let configs: Vec<&DenseConfig> = model.layers().iter().map(|l| l.config()).collect();
    let architecture = serde_json::to_string(&configs).map_err(|e| Error::Format(format!("architecture: {e}")))?;
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (i, layer) in model.layers().iter().enumerate() {
        let name = layer.config().name.clone().unwrap_or_else(|| format!("dense_{i}"));
        for (suffix, param) in [("weight", layer.weight()), ("bias", layer.bias())] {
            if let Some(p) = param {
                let value = p.value().contiguous();
                let bytes: Vec<u8> = value.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect();
                tensors.push((format!("{name}.{suffix}"), value.shape().to_vec(), bytes));
            }
        }
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Format(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        (FORMAT_KEY.to_string(), FORMAT_VERSION.to_string()),
        (ARCHITECTURE_KEY.to_string(), architecture),
    ]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| Error::Format(format!("safetensors: {e}")))
}

/// Loads a model saved by [`save_model`].
pub fn load_model(path: &Path) -> Result<Sequential> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    model_from_bytes(&bytes).map_err(|e| match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// A model from the bytes of a model file.
pub fn model_from_bytes(bytes: &[u8]) -> Result<Sequential> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::Format(format!("not a safetensors file: {e}")))?;
    let info = meta.metadata().as_ref().ok_or_else(|| Error::Format("no neurite metadata in the file".into()))?;
    if info.get(FORMAT_KEY).map(String::as_str) != Some(FORMAT_VERSION) {
        return Err(Error::Format(format!("unsupported neurite format {:?}", info.get(FORMAT_KEY))));
    }
    let arch = info.get(ARCHITECTURE_KEY).ok_or_else(|| Error::Format("the architecture is missing".into()))?;
    let configs: Vec<DenseConfig> =
        serde_json::from_str(arch).map_err(|e| Error::Format(format!("the architecture is not valid: {e}")))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Format(format!("corrupt safetensors data: {e}")))?;
    let read = |name: &str, shape: &[usize]| -> Result<Tensor> {
        let view = st.tensor(name).map_err(|_| Error::Format(format!("tensor {name} is missing")))?;
        if view.dtype() != Dtype::F32 || view.shape() != shape {
            return Err(Error::Format(format!(
                "tensor {name}: expected f32 of shape {shape:?}, found {:?} of shape {:?}",
                view.dtype(),
                view.shape()
            )));
        }
        let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Tensor::from_vec(values, shape)
    };
    let mut model = Sequential::new();
    let mut inputs = None;
    for (i, config) in configs.into_iter().enumerate() {
        let name = config.name.clone().unwrap_or_else(|| format!("dense_{i}"));
        let fan_in =
            config.input_dim.or(inputs).ok_or_else(|| Error::Format(format!("layer {name}: no input size")))?;
        let weight = read(&format!("{name}.weight"), &[fan_in, config.units])?;
        let bias = if config.use_bias { Some(read(&format!("{name}.bias"), &[config.units])?) } else { None };
        let mut layer = Dense::from_weights(weight, bias, config.activation)?;
        layer.set_name(name);
        let layer = layer.kernel_initializer(config.kernel_initializer).bias_initializer(config.bias_initializer);
        inputs = Some(config.units);
        model.add(layer)?;
    }
    if model.layers().is_empty() {
        return Err(Error::Format("the file describes no layers".into()));
    }
    Ok(model)
}
