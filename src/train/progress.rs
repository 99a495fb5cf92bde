//! Where a fit stands, explicitly: the position (epoch, step), the shuffling generator's state,
//! the order of the examples, the epoch's running totals and the history so far. With the
//! model's parameters and its optimiser's state, that is everything needed to continue a fit
//! bit for bit: [`FitProgress`] is what a checkpoint stores, and [`FitOptions::resume`](
//! super::FitOptions::resume) continues from one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::history::History;
use super::model_config::ModelConfig;
use crate::autograd::ParamStore;
use crate::nn::Loss;
use crate::optim::OptimizerState;

/// Everything about a fit in progress except the model and its optimiser: where it is and
/// what it has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitProgress {
    /// The epoch in progress, from 1; `epochs + 1` once the fit is complete.
    pub epoch: usize,
    /// Steps of that epoch already taken (0 at its start, before its shuffle).
    pub steps_done: usize,
    /// The state of the generator that shuffles the examples, after this epoch's shuffle
    /// when `steps_done > 0`, before it otherwise.
    pub rng_state: [u64; 4],
    /// The training examples in this epoch's order (the same remark).
    #[serde(skip)]
    pub order: Vec<u32>,
    /// Sum of the losses of this epoch's examples so far.
    pub loss_sum: f64,
    /// Correct predictions among them.
    pub correct: usize,
    /// How many examples this epoch has seen so far.
    pub seen: usize,
    /// The epochs completed, with their logs.
    pub history: History,
    /// The running loss after the fit's first step: the loss divergence is measured against
    /// (see [`DIVERGENCE_GROWTH`](super::DIVERGENCE_GROWTH)). Kept here so that a resumed
    /// fit has the bound of the fit it continues; a checkpoint written before it was kept
    /// has none, and the first epoch's loss stands in.
    #[serde(default)]
    pub start_loss: Option<f64>,
    /// The plan: epochs, batch size, shuffling, seed and validation split of the fit, which a
    /// resumed fit must keep.
    pub plan: FitPlan,
}

/// The options of a fit that decide its numbers, recorded with its progress.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitPlan {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Whether examples are shuffled each epoch.
    pub shuffle: bool,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Fraction held out for validation.
    pub validation_split: f64,
    /// Number of examples in the training data (including the held-out part).
    pub examples: usize,
}

/// Why [`Callback::on_progress`](super::Callback::on_progress) is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// After a step whose number is a multiple of what the callback asked for
    /// ([`Callback::progress_every`](super::Callback::progress_every)).
    Step,
    /// After an epoch, its validation and its callbacks.
    EpochEnd,
    /// After the step during which a stop was asked for ([`StopSignal`]).
    Interrupted,
}

/// A fit in progress, as a callback sees it at a [`Moment`]: the model's parameters and
/// optimiser state, and where the fit is. Everything a checkpoint needs.
pub struct TrainingView<'a> {
    /// Why the callback is called.
    pub moment: Moment,
    /// The model's architecture.
    pub config: &'a ModelConfig,
    /// The model's parameters.
    pub params: &'a ParamStore,
    /// The loss the model is trained with.
    pub loss: Loss,
    /// The optimiser's state.
    pub optimizer: &'a OptimizerState,
    /// Where the fit stands (its `order` is the one in use).
    pub progress: &'a FitProgress,
}

/// A flag that asks a fit to stop after its current step (set from a Ctrl-C handler, another
/// thread, a callback...). The fit then calls its callbacks' `on_progress` with
/// [`Moment::Interrupted`] (a checkpoint is written there) and returns
/// [`Error::Stopped`](crate::Error::Stopped).
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal not yet raised.
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    /// Asks the fit to stop.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Withdraws the request (before another fit).
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl PartialEq for StopSignal {
    /// The same flag.
    fn eq(&self, other: &StopSignal) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
