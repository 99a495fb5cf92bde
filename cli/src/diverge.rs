//! Divergence, caught for every optimiser.
//!
//! The fit stops when a parameter or the loss becomes NaN or infinite: that is how plain SGD
//! diverges. Adam, RMSprop and AdaGrad divide the gradient by its own size, so a huge
//! learning rate moves every parameter by about the rate at each step and nothing overflows:
//! with `--lr 1e30` the loss reaches 1e31 and stays finite, and the run used to end with
//! exit 0. This callback gives the same diagnosis when the loss grows past a bound instead:
//! [`GROWTH`] times the loss the run started from (at least 1, so that a model that starts
//! almost right is not stopped by noise). The bound depends only on the losses of the run, so
//! the same command stops at the same step every time.
//!
//! It is checked after every step: past the bound, it asks the fit to stop after that step
//! (the fit's stop signal), and refuses the moment the fit then reports, so the run ends
//! with the diagnosis within a step instead of finishing its epoch. It is checked again
//! after each epoch, before that epoch's checkpoint, and at every step a checkpoint is
//! written, before it (it comes first among the callbacks): a diverged model is never
//! checkpointed.

use neurite::error::{Error, Result};
use neurite::train::{BatchLogs, Callback, Control, EpochLogs, Moment, StopSignal, TrainingView};
use neurite::ParamStore;

/// How many times the starting loss a run's loss may grow to before it counts as diverged.
/// A cross-entropy starts near ln(classes); a thousand times that means the model gives the
/// right class a probability below e^-1000, which no training that converges passes through.
pub(crate) const GROWTH: f64 = 1000.0;

/// Stops a fit whose loss grows past [`GROWTH`] times its starting loss.
pub(crate) struct DivergenceGuard {
    /// The learning rate, for the remedy.
    lr: f32,
    /// How often a checkpoint is written in steps, to check before it.
    every: Option<usize>,
    /// The loss the run started from: the first epoch's when a resumed run has one, else the
    /// first step's running loss.
    start: Option<f64>,
    /// The epoch under way and the running loss after its latest step.
    epoch: usize,
    latest: Option<(usize, f64)>,
    /// The fit's stop signal, raised after a step past the bound.
    stop: Option<StopSignal>,
}

impl DivergenceGuard {
    /// A guard for a fit with learning rate `lr` and checkpoints every `every` steps;
    /// `first_epoch_loss` is the first epoch's loss of a resumed run, when it has one.
    pub(crate) fn new(lr: f32, every: Option<usize>, first_epoch_loss: Option<f64>) -> DivergenceGuard {
        DivergenceGuard { lr, every, start: first_epoch_loss, epoch: 0, latest: None, stop: None }
    }

    /// Stops the fit through `signal` (the one given to its options) after the step whose
    /// loss is past the bound.
    pub(crate) fn stopping(mut self, signal: StopSignal) -> DivergenceGuard {
        self.stop = Some(signal);
        self
    }

    /// The bound on the loss, once the start is known.
    fn bound(&self) -> Option<f64> {
        self.start.map(|s| GROWTH * s.max(1.0))
    }

    /// An error when `loss` (after step `step` of the epoch) is past the bound or not finite.
    fn check(&self, step: usize, loss: f64) -> Result<()> {
        let Some(bound) = self.bound() else { return Ok(()) };
        if loss.is_finite() && loss <= bound {
            return Ok(());
        }
        Err(Error::Stopped(format!(
            "epoch {}, step {}: the training diverged: the loss grew to {loss:.4e}, past {GROWTH} times the {:.4} it started from (the step too large); try a smaller learning rate (now {})",
            self.epoch,
            step + 1,
            self.start.unwrap_or(f64::NAN),
            self.lr
        )))
    }
}

impl Callback for DivergenceGuard {
    fn on_epoch_begin(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.latest = None;
    }

    fn on_batch_end(&mut self, batch: usize, logs: &BatchLogs) {
        if self.start.is_none() && logs.loss.is_finite() {
            self.start = Some(logs.loss);
        }
        self.latest = Some((batch, logs.loss));
        if let Some(stop) = &self.stop {
            if self.check(batch, logs.loss).is_err() {
                stop.raise();
            }
        }
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _params: &ParamStore) -> Result<Control> {
        let step = self.latest.map_or(0, |(s, _)| s);
        self.check(step, logs.loss)?;
        Ok(Control::Continue)
    }

    fn progress_every(&self) -> Option<usize> {
        self.every
    }

    fn on_progress(&mut self, view: &TrainingView<'_>) -> Result<()> {
        match (view.moment, self.latest) {
            (Moment::Step | Moment::Interrupted, Some((step, loss))) => self.check(step, loss),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(loss: f64) -> BatchLogs {
        BatchLogs { loss, accuracy: None, examples: 32 }
    }

    #[test]
    fn a_loss_a_thousand_times_its_start_is_divergence_and_names_the_step_and_rate() {
        let mut g = DivergenceGuard::new(1e30, None, None);
        g.on_epoch_begin(1);
        g.on_batch_end(0, &logs(2.3));
        assert!(g.check(0, 2299.0).is_ok());
        let e = g.check(4, 1.6e31).unwrap_err().to_string();
        assert!(e.contains("epoch 1, step 5: the training diverged"), "{e}");
        assert!(e.contains("try a smaller learning rate (now 1000000000000000000000000000000)"), "{e}");
        assert!(g.check(4, f64::NAN).is_err(), "NaN is past any bound");
    }

    #[test]
    fn a_step_past_the_bound_asks_the_fit_to_stop() {
        let signal = StopSignal::new();
        let mut g = DivergenceGuard::new(0.1, None, None).stopping(signal.clone());
        g.on_epoch_begin(1);
        g.on_batch_end(0, &logs(2.3));
        g.on_batch_end(1, &logs(100.0));
        assert!(!signal.is_raised());
        g.on_batch_end(2, &logs(1e6));
        assert!(signal.is_raised());
    }

    #[test]
    fn a_small_start_is_counted_as_one() {
        let mut g = DivergenceGuard::new(0.1, None, Some(0.001));
        g.on_batch_end(0, &logs(0.0005));
        assert_eq!(g.bound(), Some(GROWTH), "the resumed run's first epoch is the start");
    }
}
