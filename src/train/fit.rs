//! The fit loop: epochs of steps on the engine, validation, the callbacks and the moments a
//! checkpoint can be written, interruption and divergence. [`Sequential::fit_with`](
//! super::Sequential::fit_with) checks its arguments, prepares the engine and runs this.

use super::callbacks::{Callback, Control, FitInfo};
use super::clock::Stopwatch;
use super::diverge;
use super::engine::{Engine, StepSeed, Totals};
use super::examples::Examples;
use super::history::{BatchLogs, EpochLogs};
use super::model_config::ModelConfig;
use super::options::FitOptions;
use super::progress::{FitProgress, Moment, StopSignal, TrainingView};
use crate::autograd::ParamStore;
use crate::error::{Error, Result};
use crate::nn::{Layer, Loss};
use crate::optim::OptimizerState;
use crate::rng::Rng;

/// What a fit reads: the model, the data and the options, with the batch size and steps per
/// epoch they make.
pub(crate) struct FitLoop<'a> {
    pub layers: &'a [Box<dyn Layer>],
    pub store: &'a ParamStore,
    pub config: &'a ModelConfig,
    pub loss: Loss,
    pub data: &'a dyn Examples,
    pub validation: Option<&'a dyn Examples>,
    /// The held-out examples of `data` (a validation split), when no validation data is given.
    pub held_out: &'a [u32],
    pub options: &'a FitOptions,
    pub batch: usize,
    pub steps: usize,
    pub info: FitInfo,
}

/// What a fit changes: the engine's buffers, the optimiser's state, the progress.
pub(crate) struct FitState<'a> {
    pub engine: &'a mut Engine,
    pub optimizer: &'a mut OptimizerState,
    pub progress: &'a mut FitProgress,
}

impl FitLoop<'_> {
    /// Trains from `state.progress` to the last epoch (or an early stop), calling the
    /// callbacks at each of their hooks.
    pub(crate) fn run(&self, state: &mut FitState<'_>, callbacks: &mut [&mut dyn Callback]) -> Result<()> {
        let every: Vec<Option<usize>> = callbacks.iter().map(|c| c.progress_every().filter(|&n| n > 0)).collect();
        let mut shuffle = Rng::from_state(state.progress.rng_state)?;
        // A checkpoint written before the start was kept: its first epoch's loss stands in.
        if state.progress.start_loss.is_none() {
            state.progress.start_loss = state.progress.history.epochs.first().map(|e| e.loss).filter(|l| l.is_finite());
        }
        for c in callbacks.iter_mut() {
            c.on_train_begin(&self.info);
        }
        while state.progress.epoch <= self.options.epochs {
            let epoch = state.progress.epoch;
            if state.progress.steps_done == 0 {
                if self.options.shuffle {
                    shuffle.shuffle(&mut state.progress.order);
                }
                state.progress.rng_state = shuffle.state();
            }
            for c in callbacks.iter_mut() {
                c.on_epoch_begin(epoch);
            }
            let clock = Stopwatch::start();
            let totals = self.run_steps(state, callbacks, &every)?;
            // Nothing runs ahead across epochs (the last step of one has no `next`).
            state.engine.forget_ahead();
            let seconds = clock.seconds();
            let (val_loss, val_accuracy) = self.validate(state.engine)?;
            let logs = EpochLogs {
                epoch,
                loss: totals.loss(),
                accuracy: self.accuracy(&totals),
                val_loss,
                val_accuracy,
                seconds,
            };
            let mut stop = false;
            for c in callbacks.iter_mut() {
                stop |= c.on_epoch_end(&logs, self.store)? == Control::Stop;
            }
            let progress = &mut *state.progress;
            progress.history.epochs.push(logs);
            progress.epoch += 1;
            (progress.steps_done, progress.loss_sum, progress.correct, progress.seen) = (0, 0.0, 0, 0);
            progress.history.stopped_early = stop && epoch < self.options.epochs;
            self.report(callbacks, &every, Moment::EpochEnd, state)?;
            if stop {
                break;
            }
        }
        for c in callbacks.iter_mut() {
            c.on_train_end(&state.progress.history, self.store)?;
        }
        Ok(())
    }

    /// The rest of the current epoch's steps, or until a stop is asked for; returns the
    /// epoch's totals.
    fn run_steps(
        &self,
        state: &mut FitState<'_>,
        callbacks: &mut [&mut dyn Callback],
        every: &[Option<usize>],
    ) -> Result<Totals> {
        let epoch = state.progress.epoch;
        let p = &*state.progress;
        let mut totals = Totals { loss_sum: p.loss_sum, correct: p.correct, count: p.seen };
        while state.progress.steps_done < self.steps {
            // The engine trains in the store itself: one lock for the steps up to the next
            // moment a callback asks for.
            let mut guard = self.store.write()?;
            let (params, version) = guard.values_mut_with_version();
            let mut reporting = false;
            while state.progress.steps_done < self.steps && !reporting {
                let step = state.progress.steps_done;
                let t = self.step(state, params, version)?;
                totals.add(&t);
                let progress = &mut *state.progress;
                (progress.loss_sum, progress.correct, progress.seen) = (totals.loss_sum, totals.correct, totals.count);
                progress.steps_done += 1;
                let logs = BatchLogs::from_totals(&totals, self.info.accuracy);
                for c in callbacks.iter_mut() {
                    c.on_batch_end(step, &logs);
                }
                // Divergence, before any callback sees a moment to checkpoint (see `diverge`).
                if !t.loss_sum.is_finite() {
                    let what = format!("the loss became {}", t.loss());
                    return Err(diverge::diverged(epoch, step + 1, &state.optimizer.optimizer(), what));
                }
                let progress = &mut *state.progress;
                if progress.start_loss.is_none() && logs.loss.is_finite() {
                    progress.start_loss = Some(logs.loss);
                }
                if diverge::is_diverged(logs.loss, progress.start_loss) {
                    let what = diverge::grown(logs.loss, progress.start_loss.unwrap_or(f64::NAN));
                    return Err(diverge::diverged(epoch, step + 1, &state.optimizer.optimizer(), what));
                }
                if self.options.stop.as_ref().is_some_and(StopSignal::is_raised) {
                    drop(guard);
                    self.report(callbacks, every, Moment::Interrupted, state)?;
                    return Err(Error::Stopped(format!(
                        "interrupted at epoch {epoch}, after step {} of {}",
                        step + 1,
                        self.steps
                    )));
                }
                reporting = every.iter().flatten().any(|n| state.progress.steps_done.is_multiple_of(*n));
            }
            drop(guard);
            if reporting {
                state.engine.forget_ahead();
                self.report(callbacks, every, Moment::Step, state)?;
            }
        }
        Ok(totals)
    }

    /// One step on the batch at the current position, naming the epoch and the step in an
    /// error (with a remedy when the training diverged).
    fn step(&self, state: &mut FitState<'_>, params: &mut [f32], version: u64) -> Result<Totals> {
        let (epoch, step) = (state.progress.epoch, state.progress.steps_done);
        let order = &state.progress.order;
        let batch = &order[step * self.batch..((step + 1) * self.batch).min(order.len())];
        let next = order.get((step + 1) * self.batch..((step + 2) * self.batch).min(order.len())).unwrap_or(&[]);
        let optimizer = state.optimizer.optimizer();
        state
            .engine
            .train_step(
                self.layers,
                StepSeed { seed: self.options.seed },
                self.loss,
                self.data,
                batch,
                next,
                params,
                version,
                state.optimizer,
            )
            .map_err(|e| match e {
                Error::Stopped(why) => {
                    diverge::diverged(epoch, step + 1, &optimizer, why.strip_prefix(diverge::DIVERGED).unwrap_or(&why))
                }
                e => e.context(format!("epoch {epoch}, step {}", step + 1)),
            })
    }

    /// Loss and accuracy on the validation data or the held-out examples, if any.
    fn validate(&self, engine: &mut Engine) -> Result<(Option<f64>, Option<f64>)> {
        let totals = match self.validation {
            Some(v) => {
                let all: Vec<u32> = (0..v.len() as u32).collect();
                engine.evaluate(self.layers, self.store.read()?.values(), self.loss, v, &all)?
            }
            None if !self.held_out.is_empty() => {
                engine.evaluate(self.layers, self.store.read()?.values(), self.loss, self.data, self.held_out)?
            }
            None => return Ok((None, None)),
        };
        Ok((Some(totals.loss()), self.accuracy(&totals)))
    }

    /// The accuracy of `totals` when the fit logs accuracy.
    fn accuracy(&self, totals: &Totals) -> Option<f64> {
        self.info.accuracy.then(|| totals.accuracy())
    }

    /// Calls the callbacks that want this moment with a view of the fit (the parameters are
    /// not locked meanwhile).
    fn report(
        &self,
        callbacks: &mut [&mut dyn Callback],
        every: &[Option<usize>],
        moment: Moment,
        state: &FitState<'_>,
    ) -> Result<()> {
        let progress = &*state.progress;
        let view = TrainingView {
            moment,
            config: self.config,
            params: self.store,
            loss: self.loss,
            optimizer: state.optimizer,
            progress,
        };
        callbacks
            .iter_mut()
            .zip(every)
            .filter(|(_, n)| moment != Moment::Step || n.is_some_and(|n| progress.steps_done.is_multiple_of(n)))
            .try_for_each(|(c, _)| c.on_progress(&view))
    }
}
