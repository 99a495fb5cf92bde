//! Divergence, caught for every optimiser, in the fit loop itself (so `Sequential::fit`,
//! `fit_with`, Python's `model.fit` and `neurite train` all stop the same way).
//!
//! Plain SGD diverges by overflowing: a parameter or the loss becomes NaN or infinite, and
//! the step that made it so is refused (`engine::step`). Adam, RMSprop and AdaGrad divide
//! the gradient by its own size, so a huge learning rate moves every parameter by about the
//! rate at each step and nothing overflows: with a learning rate of 1e30 the loss reaches
//! 1e31 and stays finite. The fit therefore also stops when the epoch's running loss grows
//! past [`GROWTH`] times the loss the fit started from (counted as at least 1, so that a
//! model that starts almost right is not stopped by noise), with the same diagnosis. The
//! bound depends only on the losses of the run (the start is kept in the fit's progress, so a
//! resumed run has the same bound), so the same fit stops at the same step every time.
//!
//! The check runs after every step, before any callback sees a moment where a checkpoint is
//! written: a diverged model is never checkpointed. It compares two numbers and allocates
//! nothing unless it stops the fit.

use std::fmt::Display;

use crate::error::Error;
use crate::optim::Optimizer;

/// How many times the starting loss a fit's running loss may grow to before it counts as
/// diverged. A cross-entropy starts near ln(classes); a thousand times that means the model
/// gives the right class a probability below e^-1000, which no training that converges
/// passes through.
pub const GROWTH: f64 = 1000.0;

/// The start of the message `engine::step` gives when an update made a parameter NaN or
/// infinite; the fit loop adds where, with which optimiser and the remedy.
pub(crate) const DIVERGED: &str = "the training diverged: ";

/// The bound on the running loss of a fit that started from `start`.
pub(crate) fn bound(start: f64) -> f64 {
    GROWTH * start.max(1.0)
}

/// Whether a running loss of `loss` is divergence for a fit that started from `start` (none
/// known yet: only a loss that is not finite).
pub(crate) fn is_diverged(loss: f64, start: Option<f64>) -> bool {
    !loss.is_finite() || start.is_some_and(|s| loss > bound(s))
}

/// What a loss past the bound says.
pub(crate) fn grown(loss: f64, start: f64) -> String {
    format!("the loss grew to {loss:.4e}, past {GROWTH} times the {start:.4} it started from (the step too large)")
}

/// The error that stops a diverged fit: where (epoch, step from 1), what happened, and the
/// remedy naming the optimiser and its learning rate. One wording for every optimiser.
pub(crate) fn diverged(epoch: usize, step: usize, optimizer: &Optimizer, what: impl Display) -> Error {
    Error::Stopped(format!(
        "epoch {epoch}, step {step}: the training diverged with {}: {what}; try a smaller learning rate (now {})",
        optimizer.name(),
        optimizer.lr()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_a_thousand_times_its_start_is_divergence() {
        assert!(!is_diverged(2299.0, Some(2.3)));
        assert!(is_diverged(1.6e31, Some(2.3)));
        assert!(is_diverged(f64::NAN, None) && is_diverged(f64::INFINITY, Some(2.3)));
        assert!(!is_diverged(1e6, None), "no start, no bound");
        // A small start counts as 1.
        assert_eq!(bound(0.001), GROWTH);
        assert!(!is_diverged(999.0, Some(0.001)));
    }

    #[test]
    fn the_diagnosis_names_the_place_the_optimiser_its_rate_and_the_loss() {
        let e = diverged(1, 5, &Optimizer::adam().learning_rate(1e30), grown(1.6e31, 2.5175)).to_string();
        assert!(e.contains("epoch 1, step 5: the training diverged with adam: the loss grew to 1.6000e31"), "{e}");
        assert!(e.contains("past 1000 times the 2.5175 it started from"), "{e}");
        assert!(e.contains("try a smaller learning rate (now 1000000000000000000000000000000)"), "{e}");
    }
}
