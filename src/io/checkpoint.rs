//! Checkpoints: a model file (architecture, parameters, loss, optimiser state) plus where its
//! fit stands ([`FitProgress`]: epoch and step, the shuffling generator's state, the order of
//! the examples as a u32 tensor, the epoch's running totals, the history), in one safetensors
//! file written atomically, so that a fit killed at any moment continues bit for bit from the
//! last checkpoint and a crash while writing one leaves the previous one intact.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use super::{model_from_parts, model_parts, to_json, write_atomic};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::train::{Callback, FitProgress, Moment, Sequential, TrainingView};

/// The checkpoint's file name in its directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
/// The metadata key holding the progress (everything but the order).
const PROGRESS_KEY: &str = "neurite.progress";
/// The metadata key holding the caller's own note (the command line stores its arguments).
const NOTE_KEY: &str = "neurite.note";
/// The tensor holding the order of the examples.
const ORDER_TENSOR: &str = "progress/order";

/// Writes a checkpoint into a directory at the end of every epoch, every `n` steps if asked,
/// and when the fit is interrupted: pass it to [`Sequential::fit_with`] as a callback.
///
/// ```
/// use neurite::{data::Dataset, io, nn::{Activation, Dense, Loss}, optim::Optimizer};
/// use neurite::train::{FitOptions, Metric, Sequential, Verbosity};
/// let dir = std::env::temp_dir().join(format!("neurite-doc-ckpt-{}", std::process::id()));
/// let (train, _) = Dataset::digits()?;
/// let new_model = || -> neurite::Result<Sequential> {
///     let mut m = Sequential::with_seed(1);
///     m.add(Dense::new(16).activation(Activation::Relu).input_shape(64))?;
///     m.add(Dense::new(10).activation(Activation::Softmax))?;
///     m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])?;
///     Ok(m)
/// };
/// let options = FitOptions::default().epochs(2).verbose(Verbosity::Silent);
/// // One epoch of two, checkpointed: the checkpoint says where the fit stands.
/// let mut model = new_model()?;
/// let mut checkpoints = io::Checkpointer::new(&dir)?.every(10);
/// model.fit_with(&train, None, &options.clone().epochs(1), &mut [&mut checkpoints])?;
/// let saved = io::load_checkpoint(&dir)?;
/// assert_eq!((saved.progress.epoch, saved.progress.steps_done), (2, 0));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Checkpointer {
    dir: PathBuf,
    every: Option<usize>,
    note: Option<String>,
    written: usize,
}

impl Checkpointer {
    /// Checkpoints into `dir`, created if missing (and checked to be writable now, so that a
    /// fit does not learn only at its first checkpoint that it cannot write one).
    pub fn new(dir: &Path) -> Result<Checkpointer> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let probe = dir.join(".neurite-write-test");
        std::fs::write(&probe, b"").map_err(|e| Error::io(dir, format!("cannot write checkpoints here: {e}")))?;
        std::fs::remove_file(&probe).map_err(|e| Error::io(&probe, e))?;
        // A process killed while writing leaves its temporary file (`.checkpoint.safetensors.
        // <pid>.tmp`) beside the intact checkpoint: nothing reads it, so it goes.
        let prefix = format!(".{CHECKPOINT_FILE}.");
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                std::fs::remove_file(entry.path()).map_err(|e| Error::io(&entry.path(), e))?;
            }
        }
        Ok(Checkpointer { dir: dir.to_path_buf(), every: None, note: None, written: 0 })
    }

    /// Also checkpoints every `steps` steps (0: only at the end of epochs).
    pub fn every(mut self, steps: usize) -> Checkpointer {
        self.every = (steps > 0).then_some(steps);
        self
    }

    /// Stores `note` with each checkpoint (the command line stores its arguments there, to
    /// resume with them).
    pub fn note(mut self, note: String) -> Checkpointer {
        self.note = Some(note);
        self
    }

    /// The checkpoint file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_FILE)
    }

    /// How many checkpoints were written.
    pub fn written(&self) -> usize {
        self.written
    }

    fn write(&mut self, view: &TrainingView<'_>) -> Result<()> {
        if !view.params.all_finite()? {
            return Err(Error::Stopped(format!(
                "a parameter is NaN or infinite; the last good checkpoint, {}, is kept",
                self.path().display()
            )));
        }
        let bytes = checkpoint_bytes(view, self.note.as_deref())?;
        write_atomic(&self.path(), &bytes)?;
        self.written += 1;
        Ok(())
    }
}

impl Callback for Checkpointer {
    fn progress_every(&self) -> Option<usize> {
        self.every
    }

    fn on_progress(&mut self, view: &TrainingView<'_>) -> Result<()> {
        match view.moment {
            Moment::Step | Moment::EpochEnd | Moment::Interrupted => self.write(view),
        }
    }
}

/// The bytes of a checkpoint of the fit seen by `view`.
fn checkpoint_bytes(view: &TrainingView<'_>, note: Option<&str>) -> Result<Vec<u8>> {
    // The model as a model file holds it: parameters, loss and optimiser state.
    let (tensors, mut metadata) = model_parts(view.config, view.params, Some((view.loss, view.optimizer)))?;
    metadata.insert(PROGRESS_KEY.to_string(), to_json(view.progress)?);
    if let Some(note) = note {
        metadata.insert(NOTE_KEY.to_string(), note.to_string());
    }
    let order: Vec<u8> = view.progress.order.iter().flat_map(|v| v.to_le_bytes()).collect();
    let f32_data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, t)| (name, t.shape().to_vec(), t.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let mut views = Vec::with_capacity(f32_data.len() + 1);
    for (name, shape, bytes) in &f32_data {
        let v = TensorView::new(Dtype::F32, shape.clone(), bytes)
            .map_err(|e| Error::Format(format!("tensor {name}: {e}")))?;
        views.push((name.clone(), v));
    }
    let order_view = TensorView::new(Dtype::U32, vec![view.progress.order.len()], &order)
        .map_err(|e| Error::Format(format!("tensor {ORDER_TENSOR}: {e}")))?;
    views.push((ORDER_TENSOR.to_string(), order_view));
    super::safetensors::serialize(views, metadata)
}

/// A checkpoint read back: the model (compiled, with its optimiser state), where its fit
/// stands, and the note stored with it.
#[derive(Debug)]
pub struct Checkpoint {
    /// The model, ready to continue training.
    pub model: Sequential,
    /// Where the fit stands: give it to [`crate::train::FitOptions::resume`].
    pub progress: FitProgress,
    /// What the writer stored with it ([`Checkpointer::note`]).
    pub note: Option<String>,
}

/// Reads the checkpoint in `dir` (or the checkpoint file `dir` itself).
pub fn load_checkpoint(dir: &Path) -> Result<Checkpoint> {
    let path = if dir.is_dir() { dir.join(CHECKPOINT_FILE) } else { dir.to_path_buf() };
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    checkpoint_from_bytes(&bytes).map_err(|e| e.context(path.display()))
}

/// A checkpoint from the bytes of its file.
pub fn checkpoint_from_bytes(bytes: &[u8]) -> Result<Checkpoint> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::Format(format!("not a safetensors file: {e}")))?;
    let metadata: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Format(format!("corrupt safetensors data: {e}")))?;
    let mut tensors = Vec::new();
    let mut order = None;
    for (name, view) in st.iter() {
        match (name, view.dtype()) {
            (ORDER_TENSOR, Dtype::U32) => {
                order =
                    Some(view.data().chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect());
            }
            (_, Dtype::F32) => {
                let values =
                    view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                tensors.push((name.to_string(), Tensor::from_vec(values, view.shape())?));
            }
            (_, dtype) => {
                return Err(Error::Format(format!("tensor {name}: {dtype:?} values where a checkpoint has f32")))
            }
        }
    }
    let progress =
        metadata.get(PROGRESS_KEY).ok_or_else(|| Error::Format("not a checkpoint: no progress record".into()))?;
    let mut progress: FitProgress =
        serde_json::from_str(progress).map_err(|e| Error::Format(format!("the progress record is not valid: {e}")))?;
    progress.order = order.ok_or_else(|| Error::Format(format!("not a checkpoint: no {ORDER_TENSOR} tensor")))?;
    let model = model_from_parts(tensors, &metadata)?;
    if model.optimizer_state().is_none() {
        return Err(Error::Format("not a checkpoint: the model has no optimiser state".into()));
    }
    Ok(Checkpoint { model, progress, note: metadata.get(NOTE_KEY).cloned() })
}
