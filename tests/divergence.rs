//! Divergence through the library (issue 26, point 4): a fit that diverges stops with one
//! diagnosis whatever the optimiser. Plain SGD overflows (a NaN or infinite parameter);
//! Adam, RMSprop and AdaGrad move each parameter by about the learning rate and never
//! overflow (with a rate of 1e30 the loss reached 1e31 and the fit ran to its end), so the
//! fit also stops when its loss grows past 1000 times its start. Sound rates are not stopped.

mod common;

use neurite::io::{self, Checkpointer};
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::train::{BatchLogs, Callback, FitOptions, Metric, Sequential, StopSignal, Verbosity};
use neurite::{Error, Rng, Tensor};

/// 240 examples of 8 features in 3 classes that a line separates (the class is where the sum
/// of the first two features falls).
fn data() -> (Tensor, Tensor) {
    let mut rng = Rng::new(3);
    let x = Tensor::uniform(&[240, 8], -1.0, 1.0, &mut rng);
    let v = x.to_vec();
    let y: Vec<f32> = v
        .chunks(8)
        .map(|r| {
            let s = r[0] + r[1];
            if s < -0.4 {
                0.0
            } else if s < 0.4 {
                1.0
            } else {
                2.0
            }
        })
        .collect();
    (x, Tensor::from_vec(y, &[240]).unwrap())
}

fn model(optimizer: Optimizer) -> Sequential {
    let mut m = Sequential::with_seed(7);
    m.add(Dense::new(16).activation(Activation::Relu).input_shape(8)).unwrap();
    m.add(Dense::new(3).activation(Activation::Softmax)).unwrap();
    m.compile(optimizer, Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
    m
}

/// Softmax regression: one layer, so that a rate of 1e30 gives logits near 1e31 that do not
/// overflow, as the CLI's default model on the digits did (loss 1.6e31 with Adam).
fn linear(optimizer: Optimizer) -> Sequential {
    let mut m = Sequential::with_seed(7);
    m.add(Dense::new(3).activation(Activation::Softmax).input_shape(8)).unwrap();
    m.compile(optimizer, Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
    m
}

fn options(epochs: usize) -> FitOptions {
    FitOptions::default().epochs(epochs).batch_size(16).seed(1).verbose(Verbosity::Silent)
}

fn optimizers() -> [(Optimizer, &'static str); 5] {
    [
        (Optimizer::sgd(), "sgd"),
        (Optimizer::momentum(0.9), "momentum"),
        (Optimizer::adagrad(), "adagrad"),
        (Optimizer::rmsprop(), "rmsprop"),
        (Optimizer::adam(), "adam"),
    ]
}

#[test]
fn a_huge_learning_rate_stops_every_optimiser_with_the_diagnosis() {
    let (x, y) = data();
    for ((optimizer, name), build) in optimizers().into_iter().flat_map(|o| [(o, model as fn(_) -> _), (o, linear)]) {
        let one_layer = build(Optimizer::sgd()).layers().len() == 1;
        let fit = || build(optimizer.learning_rate(1e30)).fit(&x, &y, &options(5));
        let err = fit().expect_err(name);
        let text = err.to_string();
        assert!(matches!(err, Error::Stopped(_)), "{name}: {text}");
        // Where, with what, and the remedy with the rate.
        assert!(text.contains("epoch 1, step "), "{name}: {text}");
        assert!(text.contains(&format!("the training diverged with {name}: ")), "{name}: {text}");
        assert!(text.contains("try a smaller learning rate (now 1000000000000000000000000000000)"), "{name}: {text}");
        // What diverged, with the loss: the running loss grown past its bound, a loss that is
        // not finite, or a parameter that became NaN or infinite (named) after a batch of a
        // given loss. With two layers of weights near 1e30 the outputs overflow; with one,
        // the adaptive optimisers' loss stays finite (about 1e31) and only its growth tells:
        // the case that used to run to the end.
        let grown = text.contains("the loss grew to ") && text.contains(" times the ");
        let overflowed = text.contains("the loss became ")
            || (text.contains(" became ") && text.contains(" after a batch whose loss was "));
        assert!(grown || overflowed, "{name}: {text}");
        if one_layer && !matches!(optimizer, Optimizer::Sgd { .. }) {
            assert!(grown, "{name}: {text}");
        }
        if !one_layer && name == "rmsprop" {
            // The overflow's diagnosis names the tensor.
            assert!(text.contains("dense's kernel became NaN after a batch whose loss was NaN"), "{text}");
        }
        // The same fit stops at the same step with the same numbers.
        assert_eq!(fit().unwrap_err().to_string(), text, "{name}");
    }
}

#[test]
fn sound_learning_rates_train_to_the_end() {
    let (x, y) = data();
    for (optimizer, name) in optimizers() {
        let mut m = model(optimizer);
        let history = m.fit(&x, &y, &options(30)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(history.epochs.len(), 30, "{name}");
        let (first, last) = (history.epochs[0].loss, history.epochs[29].loss);
        assert!(last < first, "{name}: the loss went from {first} to {last}");
    }
}

#[test]
fn a_diverged_model_is_never_checkpointed_and_a_resumed_fit_keeps_the_start() {
    let (x, y) = data();
    let examples = neurite::train::TensorExamples::new(&x, &y, Some(3)).unwrap();
    let dir = common::temp_dir("diverge-lib");
    let mut checkpoints = Checkpointer::new(&dir).unwrap().every(1);
    let mut m = model(Optimizer::adam().learning_rate(1e30));
    let err = m.fit_with(&examples, None, &options(3), &mut [&mut checkpoints]).unwrap_err();
    assert!(err.to_string().contains("the training diverged with adam"), "{err}");
    // Stopped within the step past the bound: the steps before it were checkpointed, that one not.
    let step: usize = err.to_string().split("step ").nth(1).and_then(|s| s.split(':').next()).unwrap().parse().unwrap();
    assert_eq!(checkpoints.written(), step - 1, "{err}");
    if step > 1 {
        let saved = io::load_checkpoint(&dir).unwrap();
        assert_eq!(saved.progress.steps_done, step - 1);
    }

    // A fit records the loss it started from, and a fit stopped and resumed keeps it: the
    // same bound as the fit never stopped.
    let whole_dir = common::temp_dir("diverge-lib-whole");
    let mut whole = Checkpointer::new(&whole_dir).unwrap();
    model(Optimizer::adam().learning_rate(0.01)).fit_with(&examples, None, &options(2), &mut [&mut whole]).unwrap();
    let start = io::load_checkpoint(&whole_dir).unwrap().progress.start_loss.expect("the start is kept");
    assert!(start.is_finite() && start > 0.5, "{start}");

    let dir = common::temp_dir("diverge-lib-resume");
    let signal = StopSignal::new();
    let mut stop = StopAfter { steps: 20, seen: 0, signal: signal.clone() };
    let mut checkpoints = Checkpointer::new(&dir).unwrap();
    let mut m = model(Optimizer::adam().learning_rate(0.01));
    let err = m.fit_with(&examples, None, &options(2).stop_on(signal), &mut [&mut stop, &mut checkpoints]).unwrap_err();
    assert!(err.to_string().contains("interrupted at epoch 2, after step 5"), "{err}");
    let saved = io::load_checkpoint(&dir).unwrap();
    assert_eq!(saved.progress.start_loss, Some(start));
    let mut resumed = saved.model;
    let mut again = Checkpointer::new(&dir).unwrap();
    resumed.fit_with(&examples, None, &options(2).resume(saved.progress), &mut [&mut again]).unwrap();
    assert_eq!(io::load_checkpoint(&dir).unwrap().progress.start_loss, Some(start));
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
