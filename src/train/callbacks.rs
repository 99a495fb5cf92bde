//! What happens around the fit loop: per-epoch logs and the history of a fit, the callback
//! hooks (Keras' `callbacks=`), early stopping, and the progress display.

use std::io::{IsTerminal, Write};

use super::history::{BatchLogs, EpochLogs, History};
use super::progress::TrainingView;
use crate::autograd::ParamStore;
use crate::error::{Error, Result};

/// Whether training goes on after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// Facts about a fit, given to callbacks when it starts.
#[derive(Debug, Clone, Copy)]
pub struct FitInfo {
    /// Number of epochs asked for.
    pub epochs: usize,
    /// Batches per epoch.
    pub steps_per_epoch: usize,
    /// Training examples.
    pub samples: usize,
    /// Whether the epochs log accuracy (the model was compiled with it).
    pub accuracy: bool,
}

/// Hooks into the fit loop. Every method has a default that does nothing. Callbacks run on
/// the training threads, hence `Send`.
pub trait Callback: Send {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _info: &FitInfo) {}
    /// Before each epoch (numbered from 1).
    fn on_epoch_begin(&mut self, _epoch: usize) {}
    /// After each batch (numbered from 0 in each epoch), with the epoch's running numbers.
    fn on_batch_end(&mut self, _batch: usize, _logs: &BatchLogs) {}
    /// After each epoch, with its logs and the model's parameters; may stop training.
    fn on_epoch_end(&mut self, _logs: &EpochLogs, _params: &ParamStore) -> Result<Control> {
        Ok(Control::Continue)
    }
    /// After the last epoch.
    fn on_train_end(&mut self, _history: &History, _params: &ParamStore) -> Result<()> {
        Ok(())
    }
    /// How often, in steps, this callback wants [`Callback::on_progress`] after a step
    /// (`None`: only at the end of each epoch and when the fit is interrupted).
    fn progress_every(&self) -> Option<usize> {
        None
    }
    /// At the moments [`Callback::progress_every`] asks for, at the end of each epoch and when
    /// the fit is interrupted, with everything that continuing the fit needs: what a
    /// checkpoint writes ([`crate::io::Checkpointer`]).
    fn on_progress(&mut self, _view: &TrainingView<'_>) -> Result<()> {
        Ok(())
    }
}

/// Stops training when a monitored quantity has stopped improving (Keras' `EarlyStopping`).
///
/// ```
/// use neurite::nn::{Activation, Dense, Loss};
/// use neurite::optim::Optimizer;
/// use neurite::train::{Callback, EarlyStopping, FitOptions, Sequential, TensorExamples, Verbosity};
/// use neurite::{Rng, Tensor};
///
/// // Targets that are noise: the validation loss soon stops improving.
/// let mut rng = Rng::new(2);
/// let (x, y) = (Tensor::randn(&[200, 3], &mut rng), Tensor::randn(&[200, 1], &mut rng));
/// let mut model = Sequential::with_seed(1);
/// model.add(Dense::new(32).activation(Activation::Relu).input_shape(3))?;
/// model.add(Dense::new(1))?;
/// model.compile(Optimizer::adam().learning_rate(0.05), Loss::MeanSquaredError, &[])?;
/// let mut stop = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true);
/// let options = FitOptions::default().epochs(100).validation_split(0.5).verbose(Verbosity::Silent);
/// let history = model.fit_with(&TensorExamples::new(&x, &y, None)?, None, &options, &mut [&mut stop])?;
/// assert!(history.stopped_early && history.epochs.len() < 100);
/// assert_eq!(stop.stopped_epoch, Some(history.epochs.len()));
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    monitor: String,
    min_delta: f64,
    patience: usize,
    restore_best_weights: bool,
    best: Option<f64>,
    wait: usize,
    best_weights: Option<Vec<f32>>,
    /// The epoch at which training was stopped, if it was.
    pub stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches `monitor` (`loss`, `accuracy`, `val_loss`, `val_accuracy`): lower is better
    /// for losses, higher for accuracies. Patience 0 and min_delta 0 by default, as Keras.
    pub fn new(monitor: &str) -> EarlyStopping {
        EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            restore_best_weights: false,
            best: None,
            wait: 0,
            best_weights: None,
            stopped_epoch: None,
        }
    }

    /// Epochs without improvement before stopping.
    pub fn patience(mut self, epochs: usize) -> EarlyStopping {
        self.patience = epochs;
        self
    }

    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, delta: f64) -> EarlyStopping {
        self.min_delta = delta.abs();
        self
    }

    /// Whether to put back the best epoch's weights when stopping.
    pub fn restore_best_weights(mut self, restore: bool) -> EarlyStopping {
        self.restore_best_weights = restore;
        self
    }

    fn higher_is_better(&self) -> bool {
        self.monitor.contains("acc")
    }

    fn restore(&self, params: &ParamStore) -> Result<()> {
        match (self.restore_best_weights, &self.best_weights) {
            (true, Some(best)) => params.restore(best),
            _ => Ok(()),
        }
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _info: &FitInfo) {
        self.best = None;
        self.wait = 0;
        self.best_weights = None;
        self.stopped_epoch = None;
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, params: &ParamStore) -> Result<Control> {
        let value = logs.get(&self.monitor).ok_or_else(|| {
            Error::Value(format!(
                "EarlyStopping: {:?} is not logged (have {}{})",
                self.monitor,
                if logs.accuracy.is_some() { "loss, accuracy" } else { "loss" },
                match (logs.val_loss, logs.val_accuracy) {
                    (Some(_), Some(_)) => ", val_loss, val_accuracy",
                    (Some(_), None) => ", val_loss",
                    _ => "; give validation data for val_*",
                }
            ))
        })?;
        let improved = match self.best {
            None => true,
            Some(best) if self.higher_is_better() => value > best + self.min_delta,
            Some(best) => value < best - self.min_delta,
        };
        if improved {
            self.best = Some(value);
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(params.snapshot()?);
            }
            return Ok(Control::Continue);
        }
        self.wait += 1;
        // Keras: stop once `patience` epochs in a row have not improved.
        if self.wait >= self.patience {
            self.stopped_epoch = Some(logs.epoch);
            self.restore(params)?;
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }
}

/// Keras' `verbose`: how much `fit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Nothing (Keras' `verbose=0`).
    Silent,
    /// A progress line per epoch, redrawn in place with the running loss and accuracy when
    /// standard error is a terminal, then the epoch's line (Keras' `verbose=1`); one line
    /// per epoch otherwise.
    #[default]
    ProgressBar,
    /// One line per epoch (Keras' `verbose=2`).
    EpochLines,
}

/// The progress display of `fit` (used for `Verbosity::ProgressBar` and `EpochLines`): the
/// epoch lines go to standard output, the live bar to standard error.
pub struct ProgressLogger {
    live: bool,
    epochs: usize,
    steps: usize,
}

/// Width of the live bar, in characters.
const BAR: usize = 30;

/// The live line after `done` of `steps` batches: `120/1875 [=>   ] - loss: ... - accuracy: ...`
/// (what [`ProgressLogger`] redraws, and the Python package's `verbose=1`).
pub fn progress_bar(done: usize, steps: usize, running: &BatchLogs) -> String {
    let filled = BAR * done / steps.max(1);
    let bar: String = (0..BAR)
        .map(|i| match i.cmp(&filled) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '>',
            std::cmp::Ordering::Greater => ' ',
        })
        .collect();
    let mut line = format!("{done}/{steps} [{bar}] - loss: {:.4}", running.loss);
    if let Some(a) = running.accuracy {
        line += &format!(" - accuracy: {a:.4}");
    }
    line
}

/// The line printed after each epoch: `Epoch 1/10 - 1875 steps - 1.23s - loss: ...`.
pub fn epoch_line(logs: &EpochLogs, epochs: usize, steps: usize) -> String {
    format!("Epoch {}/{epochs} - {steps} steps - {:.2}s - {}", logs.epoch, logs.seconds, logs.summary())
}

impl ProgressLogger {
    /// A logger; `bar` asks for a live bar (drawn only when standard error is a terminal).
    pub fn new(bar: bool) -> ProgressLogger {
        ProgressLogger { live: bar && std::io::stderr().is_terminal(), epochs: 0, steps: 0 }
    }
}

impl Callback for ProgressLogger {
    fn on_train_begin(&mut self, info: &FitInfo) {
        self.epochs = info.epochs;
        self.steps = info.steps_per_epoch;
    }

    fn on_batch_end(&mut self, batch: usize, running: &BatchLogs) {
        // Redraw about 20 times per epoch: formatting the line costs more than a step.
        let every = (self.steps / 20).max(1);
        let done = batch + 1;
        if self.live && (done.is_multiple_of(every) || done == self.steps) {
            let mut err = std::io::stderr().lock();
            // A progress display has nowhere to report its own failure to write.
            let _ = write!(err, "\r{}", progress_bar(done, self.steps, running));
            let _ = err.flush();
        }
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _params: &ParamStore) -> Result<Control> {
        if self.live {
            eprint!("\r{}\r", " ".repeat(BAR + 60));
        }
        println!("{}", epoch_line(logs, self.epochs, self.steps));
        Ok(Control::Continue)
    }
}
