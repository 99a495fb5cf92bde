//! The training engine against the autograd path: the same model, the same batch, two steps
//! of plain gradient descent each way, for every activation (hidden and output), every
//! loss, layers with and without bias, on 1, 2 and 3 threads (uneven splits of rows, input
//! features and parameters). Plain SGD moves each parameter by `lr * gradient`, so a
//! gradient of the wrong scale shows in full (Adam would divide most of it away).

use neurite::autograd::Var;
use neurite::nn::{Activation, Dense, Loss, Module};
use neurite::optim::{Optim, Optimizer};
use neurite::train::{Sequential, TensorExamples};
use neurite::{Rng, Tensor};

const ROWS: usize = 9;
const FEATURES: usize = 7;
const LR: f32 = 0.5;

/// A model 7-5-4-`outputs`, the hidden layers with `hidden`, the output with `output`.
fn model(hidden: Activation, output: Activation, outputs: usize, bias: bool, threads: usize) -> Sequential {
    let mut m = Sequential::with_seed(3);
    m.set_threads(threads).unwrap();
    m.add(Dense::new(5).activation(hidden).use_bias(bias).input_shape(FEATURES)).unwrap();
    m.add(Dense::new(4).activation(hidden).use_bias(bias)).unwrap();
    m.add(Dense::new(outputs).activation(output).use_bias(bias)).unwrap();
    m
}

/// Targets for `loss`: class indices, one-hot rows, 0/1 rows, or real values.
fn targets(loss: Loss, outputs: usize, rng: &mut Rng) -> Tensor {
    match loss {
        Loss::SparseCategoricalCrossentropy => {
            Tensor::vector(&(0..ROWS).map(|i| (i % outputs) as f32).collect::<Vec<_>>())
        }
        Loss::CategoricalCrossentropy => {
            let labels: Vec<u32> = (0..ROWS).map(|i| (i % outputs) as u32).collect();
            neurite::data::one_hot(&labels, outputs).unwrap()
        }
        Loss::BinaryCrossentropy => Tensor::rand(&[ROWS, outputs], rng).gt(0.5).unwrap(),
        _ => Tensor::randn(&[ROWS, outputs], rng),
    }
}

/// The largest difference between the two paths' parameters after two steps, relative to
/// the parameters' size, and the two first-step losses.
fn compare(hidden: Activation, output: Activation, loss: Loss, bias: bool, threads: usize) -> (f32, f64, f64) {
    let outputs = 3;
    let mut rng = Rng::new(11);
    let x = Tensor::uniform(&[ROWS, FEATURES], -1.5, 1.5, &mut rng);
    let y = targets(loss, outputs, &mut rng);
    let classes = loss.takes_class_indices().then_some(outputs);
    let data = TensorExamples::new(&x, &y, classes).unwrap();
    let batch: Vec<u32> = (0..ROWS as u32).collect();

    let mut engine = model(hidden, output, outputs, bias, threads);
    engine.compile(Optimizer::sgd().learning_rate(LR), loss, &[]).unwrap();
    let start = engine.params().snapshot().unwrap();
    let autograd = model(hidden, output, outputs, bias, 1);
    let mut opt = Optim::new(Optimizer::sgd().learning_rate(LR), autograd.parameters()).unwrap();
    let (mut engine_loss, mut autograd_loss) = (0.0, 0.0);
    for step in 0..2 {
        let totals = engine.train_on_batch(&data, &batch).unwrap();
        opt.zero_grad();
        // The hidden layers as autograd operations; the output layer's logits by hand
        // (matmul and add), so that this path does not share the output layer's code.
        let layers = autograd.dense_layers();
        let mut h = Var::constant(x.clone());
        for layer in &layers[..layers.len() - 1] {
            h = layer.forward(&h).unwrap();
        }
        let last = layers.last().unwrap();
        let mut z = h.matmul(last.weight().unwrap()).unwrap();
        if let Some(b) = last.bias() {
            z = (&z + b).unwrap();
        }
        let l = loss.forward_logits(&z, output, &y).unwrap();
        l.backward().unwrap();
        opt.step().unwrap();
        if step == 0 {
            engine_loss = totals.loss;
            autograd_loss = l.value().item().unwrap() as f64;
        }
    }
    // The difference between the two paths' total moves, relative to the largest move: the
    // gradients' size varies by orders of magnitude between losses (1/p for a probability p).
    let (a, b) = (engine.params().snapshot().unwrap(), autograd.params().snapshot().unwrap());
    assert!(a.iter().chain(&b).all(|v| v.is_finite()), "parameters not finite");
    let largest_move = b.iter().zip(&start).map(|(q, s)| (q - s).abs()).fold(0.0, f32::max);
    let diff = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
    (diff / largest_move.max(1e-3), engine_loss, autograd_loss)
}

#[test]
fn the_engine_and_autograd_take_the_same_steps_everywhere() {
    let losses = [
        Loss::SparseCategoricalCrossentropy,
        Loss::CategoricalCrossentropy,
        Loss::BinaryCrossentropy,
        Loss::MeanSquaredError,
        Loss::HalfMeanSquaredError,
    ];
    let natural = |loss: Loss| match loss {
        Loss::SparseCategoricalCrossentropy | Loss::CategoricalCrossentropy => Activation::Softmax,
        Loss::BinaryCrossentropy => Activation::Sigmoid,
        _ => Activation::Identity,
    };
    let mut cases = Vec::new();
    for loss in losses {
        for a in Activation::ALL {
            cases.push((a, natural(loss), loss)); // every hidden activation
            cases.push((Activation::Tanh, a, loss)); // every output activation
        }
    }
    let mut worst = (0.0f32, String::new());
    let mut checked = 0;
    for (hidden, output, loss) in cases {
        for bias in [true, false] {
            for threads in [1, 2, 3] {
                let (diff, engine_loss, autograd_loss) = compare(hidden, output, loss, bias, threads);
                let case = format!("hidden {hidden}, output {output}, {}, bias {bias}, {threads} threads", loss.name());
                assert!(
                    (engine_loss - autograd_loss).abs() <= 1e-5 * (1.0 + autograd_loss.abs()),
                    "{case}: loss {engine_loss} vs {autograd_loss}"
                );
                // One thread runs the same float operations in the same order, except that the
                // output layer's bias gradient is summed here in float64 by the tensor path:
                // an ulp at most. More threads sum the first layer's product by parts of its features,
                // and the weight gradients by parts of the batch, in another order: a few ulp,
                // which the second step amplifies where a cross-entropy divides by a small
                // probability (up to 3e-5 of the largest move measured, for tanh outputs read
                // as probabilities). A wrong or missing gradient, or a row counted twice,
                // moves parameters by a sizeable fraction of a step: 1e-4 catches it.
                let allowed = if threads == 1 { 1e-6 } else { 1e-4 };
                assert!(diff <= allowed, "{case}: parameters differ by {diff} of the largest move");
                if diff > worst.0 {
                    worst = (diff, case);
                }
                checked += 1;
            }
        }
    }
    println!("{checked} cases; the largest difference, {:e}, was for {}", worst.0, worst.1);
}

/// Taking a gradient at twice its size must fail the comparison above by far: the step's
/// scale shows with SGD.
#[test]
fn a_doubled_gradient_would_show() {
    let (diff, ..) = compare(Activation::Sigmoid, Activation::Softmax, Loss::SparseCategoricalCrossentropy, true, 2);
    let mut engine = model(Activation::Sigmoid, Activation::Softmax, 3, true, 2);
    engine.compile(Optimizer::sgd().learning_rate(LR), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let mut doubled = model(Activation::Sigmoid, Activation::Softmax, 3, true, 2);
    doubled.compile(Optimizer::sgd().learning_rate(2.0 * LR), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let mut rng = Rng::new(11);
    let x = Tensor::uniform(&[ROWS, FEATURES], -1.5, 1.5, &mut rng);
    let y = Tensor::vector(&(0..ROWS).map(|i| (i % 3) as f32).collect::<Vec<_>>());
    let data = TensorExamples::new(&x, &y, Some(3)).unwrap();
    let batch: Vec<u32> = (0..ROWS as u32).collect();
    engine.train_on_batch(&data, &batch).unwrap();
    doubled.train_on_batch(&data, &batch).unwrap();
    let a = engine.params().snapshot().unwrap();
    let b = doubled.params().snapshot().unwrap();
    let moved = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
    assert!(moved > 1000.0 * diff.max(1e-7), "a doubled step moved parameters by {moved}, the paths differ by {diff}");
}
