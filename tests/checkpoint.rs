//! Checkpoints and resume through the library: a fit stopped anywhere and continued from its
//! last checkpoint ends with the same bits as a fit that was never stopped, history included.

mod common;

use neurite::data::Dataset;
use neurite::io::{self, Checkpointer};
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::train::{BatchLogs, Callback, FitOptions, History, Metric, Sequential, StopSignal, Verbosity};
use neurite::{Error, Rng};

fn model(threads: usize) -> Sequential {
    let mut m = Sequential::with_seed(5);
    m.set_threads(threads).unwrap();
    m.add(Dense::new(24).activation(Activation::Tanh).input_shape(64)).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
    m.compile(Optimizer::adam().learning_rate(0.01), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
    m
}

fn options() -> FitOptions {
    FitOptions::default().epochs(4).batch_size(50).seed(9).validation_split(0.1).verbose(Verbosity::Silent)
}

/// Raises a stop signal after a given number of steps of the whole fit.
struct StopAfter {
    steps: usize,
    seen: usize,
    signal: StopSignal,
}

impl Callback for StopAfter {
    fn on_batch_end(&mut self, _batch: usize, _logs: &BatchLogs) {
        self.seen += 1;
        if self.seen == self.steps {
            self.signal.raise();
        }
    }
}

/// An epoch's loss, accuracy, validation loss and validation accuracy.
type Numbers = (f64, Option<f64>, Option<f64>, Option<f64>);

/// The history without its timings.
fn numbers(h: &History) -> Vec<Numbers> {
    h.epochs.iter().map(|e| (e.loss, e.accuracy, e.val_loss, e.val_accuracy)).collect()
}

#[test]
fn a_fit_stopped_anywhere_and_resumed_ends_with_the_same_bits() {
    let (train, _) = Dataset::digits().unwrap();
    for threads in [1, 2] {
        let dir = common::temp_dir(&format!("resume-{threads}"));
        let mut whole = model(threads);
        let expected = whole.fit_with(&train, None, &options(), &mut []).unwrap();
        let want = whole.params().snapshot().unwrap();
        // 26 steps an epoch (1,293 training examples in batches of 50): stop at seeded random
        // steps, checkpointing every 7 steps, and continue from the checkpoint each time.
        let mut rng = Rng::new(threads as u64);
        let signal = StopSignal::new();
        let mut current = model(threads);
        let mut resume = None;
        let mut stops = 0;
        let history = loop {
            let mut opts = options().stop_on(signal.clone());
            if let Some(progress) = resume.take() {
                opts = opts.resume(progress);
            }
            signal.reset();
            let mut stop = StopAfter { steps: 1 + rng.below(40) as usize, seen: 0, signal: signal.clone() };
            let mut checkpoints = Checkpointer::new(&dir).unwrap().every(7);
            match current.fit_with(&train, None, &opts, &mut [&mut stop, &mut checkpoints]) {
                Ok(h) => break h,
                Err(Error::Stopped(why)) => {
                    assert!(why.contains("interrupted at epoch"), "{why}");
                    stops += 1;
                    let saved = io::load_checkpoint(&dir).unwrap();
                    current = saved.model;
                    current.set_threads(threads).unwrap();
                    resume = Some(saved.progress);
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert!(stops >= 2, "stopped only {stops} times");
        assert_eq!(current.params().snapshot().unwrap(), want, "{threads} threads, {stops} stops");
        assert_eq!(numbers(&history), numbers(&expected));
        assert_eq!(current.optimizer_state().unwrap().iterations(), whole.optimizer_state().unwrap().iterations());
    }
}

#[test]
fn a_fit_stopped_after_the_last_step_of_an_epoch_resumes_at_that_epoch_end() {
    // A stop raised during an epoch's last step comes before that epoch's end (validation,
    // callbacks): the checkpoint says step 26 of 26, and the resumed fit ends that epoch first.
    let (train, _) = Dataset::digits().unwrap();
    let mut whole = model(1);
    let expected = whole.fit_with(&train, None, &options(), &mut []).unwrap();
    let want = whole.params().snapshot().unwrap();
    for stop_at in [26, 52, 104] {
        let dir = common::temp_dir(&format!("resume-epoch-end-{stop_at}"));
        let signal = StopSignal::new();
        let mut first = model(1);
        let mut stop = StopAfter { steps: stop_at, seen: 0, signal: signal.clone() };
        let mut checkpoints = Checkpointer::new(&dir).unwrap();
        let err = first.fit_with(&train, None, &options().stop_on(signal), &mut [&mut stop, &mut checkpoints]);
        assert!(matches!(err, Err(Error::Stopped(_))), "{err:?}");
        let saved = io::load_checkpoint(&dir).unwrap();
        assert_eq!((saved.progress.epoch, saved.progress.steps_done), (stop_at / 26, 26));
        let mut rest = saved.model;
        rest.set_threads(1).unwrap();
        let history = rest.fit_with(&train, None, &options().resume(saved.progress), &mut []).unwrap();
        assert!(rest.params().snapshot().unwrap() == want, "stopped after step {stop_at}: other parameters");
        assert_eq!(numbers(&history), numbers(&expected), "stopped after step {stop_at}");
    }
}

#[test]
fn resuming_with_other_options_or_data_is_refused() {
    let (train, _) = Dataset::digits().unwrap();
    let dir = common::temp_dir("resume-refused");
    let mut m = model(1);
    let mut checkpoints = Checkpointer::new(&dir).unwrap();
    m.fit_with(&train, None, &options().epochs(1), &mut [&mut checkpoints]).unwrap();
    let saved = io::load_checkpoint(&dir).unwrap();
    let mut m = saved.model;
    let err = m.fit_with(&train, None, &options().batch_size(10).resume(saved.progress.clone()), &mut []).unwrap_err();
    assert!(err.to_string().contains("batch_size: 50") && err.to_string().contains("batch_size: 10"), "{err}");
    let (_, test) = Dataset::digits().unwrap();
    let err = m.fit_with(&test, None, &options().resume(saved.progress), &mut []).unwrap_err();
    assert!(err.to_string().contains("resume"), "{err}");
}

#[test]
fn a_diverging_fit_stops_at_once_and_says_where() {
    let (train, _) = Dataset::digits().unwrap();
    let dir = common::temp_dir("diverge");
    let mut m = Sequential::with_seed(1);
    m.add(Dense::new(50).activation(Activation::Relu).input_shape(64)).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
    m.compile(Optimizer::sgd().learning_rate(1e9), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let mut checkpoints = Checkpointer::new(&dir).unwrap();
    let err = m.fit_with(&train, None, &options(), &mut [&mut checkpoints]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Stopped(_)), "{text}");
    assert!(text.contains("epoch 1, step "), "{text}");
    // Its loss grows past 1000 times its start a step before a parameter overflows.
    assert!(
        text.contains("the training diverged with sgd: the loss grew to")
            && text.contains("try a smaller learning rate (now 1000000000)"),
        "{text}"
    );
    // Nothing was written: the first epoch never ended well.
    assert_eq!(checkpoints.written(), 0);
    assert!(io::load_checkpoint(&dir).is_err());
}
