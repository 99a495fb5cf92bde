//! Training: Keras' `Sequential` (`add`, `summary`, `compile`, `fit`, `evaluate`,
//! `predict`), the fit loop with its callbacks and history, and the training engine.
//!
//! The engine trains a model's parameters in place in its [`ParamStore`](crate::ParamStore)
//! and splits each batch across threads, but computes nothing itself: every product,
//! gradient and loss is the layers' and the loss's own row function, the same one the
//! autograd path runs ([`Module::forward`]), so the two paths cannot disagree. The
//! PyTorch-style path (a hand-written loop over [`Var`](crate::Var)s and
//! [`Optim`](crate::optim::Optim)) works on the same layers and the same store.
//!
//! [`Module::forward`]: crate::nn::Module::forward

mod callbacks;
mod clock;
mod diverge;
mod engine;
mod examples;
mod fit;
mod history;
mod model_config;
mod options;
mod progress;
mod sequential;

pub use callbacks::{epoch_line, progress_bar, Callback, Control, EarlyStopping, FitInfo, ProgressLogger, Verbosity};
pub use diverge::GROWTH as DIVERGENCE_GROWTH;
pub use examples::{Examples, SliceExamples, TargetKind, TensorExamples};
pub use history::{BatchLogs, EpochLogs, History};
pub use model_config::{ModelConfig, TrainingDefaults, DEFAULTS, KERAS_CONVNET, PRESETS};
pub use options::FitOptions;
pub use progress::{FitPlan, FitProgress, Moment, StopSignal, TrainingView};
pub use sequential::{Evaluation, Metric, RegressionScores, Sequential};
