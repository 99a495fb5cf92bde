//! The options of a fit ([`FitOptions`]), with Keras' defaults: what `Sequential::fit` and the
//! fit loop read.

use super::callbacks::Verbosity;
use super::progress::{FitPlan, FitProgress, StopSignal};

/// Options of [`Sequential::fit`](super::Sequential::fit), with Keras' defaults (1 epoch, batch 32, shuffled).
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per gradient step (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Shuffle the examples before each epoch.
    pub shuffle: bool,
    /// Seed of the shuffling, so that a run can be repeated bit for bit.
    pub seed: u64,
    /// Fraction of the examples, taken from the end before any shuffling, held out for
    /// validation (Keras' `validation_split`).
    pub validation_split: f64,
    /// What to print.
    pub verbose: Verbosity,
    /// Where to continue from (a checkpoint's progress): the fit goes on from that epoch and
    /// step with that order of examples, that generator state and that history.
    pub resume: Option<FitProgress>,
    /// Raised, the fit stops after its current step (see [`StopSignal`]).
    pub stop: Option<StopSignal>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: 0.0,
            verbose: Verbosity::ProgressBar,
            resume: None,
            stop: None,
        }
    }
}

impl FitOptions {
    /// Sets the number of epochs.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Sets the batch size.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets the shuffling seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Turns shuffling on or off.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Holds out the last `fraction` of the examples for validation.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }
    /// Sets what to print.
    pub fn verbose(mut self, verbose: Verbosity) -> Self {
        self.verbose = verbose;
        self
    }
    /// Continues a fit from `progress` (a checkpoint's); the other options must be the ones
    /// it was started with.
    pub fn resume(mut self, progress: FitProgress) -> Self {
        self.resume = Some(progress);
        self
    }
    /// Stops the fit after the current step once `signal` is raised.
    pub fn stop_on(mut self, signal: StopSignal) -> Self {
        self.stop = Some(signal);
        self
    }

    pub(crate) fn plan(&self, examples: usize) -> FitPlan {
        FitPlan {
            epochs: self.epochs,
            batch_size: self.batch_size,
            shuffle: self.shuffle,
            seed: self.seed,
            validation_split: self.validation_split,
            examples,
        }
    }
}
