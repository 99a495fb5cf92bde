//! Training: Keras' `Sequential` (`add`, `summary`, `compile`, `fit`, `evaluate`,
//! `predict`), the fit loop with its callbacks and history, and the fast training engine.
//!
//! The engine does the forward and backward passes of dense layers itself, on buffers that
//! are allocated once, with each batch split across threads; it calls the same layer and
//! kernel code that the autograd path runs, so the two paths cannot disagree. The
//! PyTorch-style path (a hand-written loop over [`Var`](crate::Var)s, [`Module::forward`]
//! and [`Optim`](crate::optim::Optim)) works on the same layers.
//!
//! [`Module::forward`]: crate::nn::Module::forward

mod callbacks;
mod engine;
mod examples;
mod sequential;

pub use callbacks::{Callback, Control, EarlyStopping, EpochLogs, FitInfo, History, ProgressLogger, Verbosity};
pub use engine::Totals;
pub use examples::{Examples, TargetKind, TensorExamples};
pub use sequential::{Evaluation, FitOptions, Metric, Sequential};
