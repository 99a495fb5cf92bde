//! Guards the optimisers' update rules over many steps: SGD (plain, momentum, Nesterov),
//! AdaGrad, RMSprop (with and without momentum), Adam and Nadam, each run for eight steps over
//! a fixed gradient sequence and compared after every step with the float64 trajectory that
//! `scripts/optimizer_fixtures.py` wrote from PyTorch's `torch.optim` (Keras' RMSprop rule in
//! NumPy, as PyTorch cannot express it; Nadam's checked there against Keras' own Nadam), mapped
//! onto Keras 3's rules, which neurite follows.
//! One step is not enough: Adam's bias correction one step late, a momentum buffer that is
//! reset, or a step count that starts at 0 only show from the second step on.
//!
//! Each optimiser is driven three ways: through [`OptimizerState::update`] (what a
//! checkpoint's state is made of), through [`Optim`], the PyTorch-style driver over autograd
//! parameters, which counts the steps itself, and through the training engine
//! (`Sequential::train_on_batch`, which counts the steps and updates by parameter ranges) on a
//! quadratic: one linear Dense layer fitted with the mean squared error, PyTorch's autograd
//! giving the gradients in the fixture.
//!
//! The tolerance, 1e-5 relative to each parameter (all are 1.5 to 4 in size), is float32
//! rounding over eight steps with room to spare; the mutants it must catch move parameters by
//! 1e-4 relative or more.

use neurite::autograd::Var;
use neurite::nn::{Dense, Loss};
use neurite::optim::{Optim, Optimizer, OptimizerState};
use neurite::train::{Sequential, TensorExamples};
use neurite::Tensor;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    params0: Vec<f64>,
    grads: Vec<Vec<f64>>,
    cases: Vec<Case>,
    quadratic: Quadratic,
}

/// The engine's problem: `x` (4, 2), targets `y` (4, 3), the Dense layer's starting kernel
/// (2, 3) and bias (3); the trajectories hold the kernel row by row, then the bias.
#[derive(Deserialize)]
struct Quadratic {
    x: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    kernel: Vec<Vec<f64>>,
    bias: Vec<f64>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    optimizer: Optimizer,
    oracle: String,
    trajectory: Vec<Vec<f64>>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/optimizer_trajectories.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const RTOL: f64 = 1e-5;

/// Checks one step's parameters against the fixture's, naming the case, the driver and the step;
/// returns the largest relative error.
fn check(case: &Case, driver: &str, step: usize, got: &[f32]) -> f64 {
    let want = &case.trajectory[step];
    assert_eq!(got.len(), want.len());
    let mut worst = 0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs() / w.abs();
        assert!(
            err <= RTOL,
            "{} ({driver}), step {}, value {i}: {g} but {} gives {w} (relative error {err:.2e})",
            case.name,
            step + 1,
            case.oracle
        );
        worst = worst.max(err);
    }
    worst
}

/// Runs every fixture case of the optimiser family `name` through both drivers.
fn follows_the_fixture(name: &str) {
    let f = fixture();
    let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let cases: Vec<&Case> = f.cases.iter().filter(|c| c.optimizer.name() == name).collect();
    assert!(!cases.is_empty(), "no fixture case for {name}");
    for case in cases {
        // The state, stepped as the training engine steps it: begin_step, then the update.
        let mut state = OptimizerState::for_params(case.optimizer, vec![("w".into(), vec![f.params0.len()])]).unwrap();
        let mut w = to32(&f.params0);
        let mut worst = 0f64;
        for (step, g) in f.grads.iter().enumerate() {
            state.begin_step();
            state.update(0, &mut w, &to32(g)).unwrap();
            worst = worst.max(check(case, "OptimizerState", step, &w));
        }

        // The autograd driver: the loss sum(w * g) has exactly g as its gradient.
        let w = Var::parameter(Tensor::vector(&to32(&f.params0)));
        let mut opt = Optim::new(case.optimizer, vec![w.clone()]).unwrap();
        for (step, g) in f.grads.iter().enumerate() {
            opt.zero_grad();
            w.mul(&Var::constant(Tensor::vector(&to32(g)))).unwrap().sum().unwrap().backward().unwrap();
            opt.step().unwrap();
            worst = worst.max(check(case, "Optim", step, &w.value().to_vec()));
        }
        eprintln!("{}: largest relative error {worst:.1e} (tolerance {RTOL:.0e})", case.name);
        assert_eq!(opt.state().iterations(), f.grads.len() as u64, "{}: Optim's step count", case.name);
    }

    // The training engine on the quadratic.
    let q = &f.quadratic;
    let matrix = |rows: &[Vec<f64>]| {
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        Tensor::from_vec(flat, &[rows.len(), rows[0].len()]).unwrap()
    };
    let (x, y) = (matrix(&q.x), matrix(&q.y));
    let data = TensorExamples::new(&x, &y, None).unwrap();
    let batch: Vec<u32> = (0..q.x.len() as u32).collect();
    let cases: Vec<&Case> = q.cases.iter().filter(|c| c.optimizer.name() == name).collect();
    assert!(!cases.is_empty(), "no quadratic case for {name}");
    for case in cases {
        let mut model = Sequential::with_seed(0);
        model.add(Dense::new(q.bias.len()).input_shape(q.kernel.len())).unwrap();
        model.compile(case.optimizer, Loss::MeanSquaredError, &[]).unwrap();
        let names: Vec<String> = model.params().infos().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["dense/kernel", "dense/bias"], "the store's order is the fixture's");
        let start: Vec<f32> = q.kernel.iter().flatten().chain(&q.bias).map(|&v| v as f32).collect();
        model.params().restore(&start).unwrap();
        let mut worst = 0f64;
        for step in 0..case.trajectory.len() {
            model.train_on_batch(&data, &batch).unwrap();
            worst = worst.max(check(case, "train_on_batch", step, &model.params().snapshot().unwrap()));
        }
        eprintln!("{} on the quadratic: largest relative error {worst:.1e} (tolerance {RTOL:.0e})", case.name);
    }
}

#[test]
fn sgd_follows_pytorch() {
    follows_the_fixture("sgd");
}

/// Momentum and Nesterov (both are `Optimizer::Sgd` with a momentum, named "momentum").
#[test]
fn sgd_with_momentum_and_nesterov_follow_pytorch() {
    follows_the_fixture("momentum");
}

#[test]
fn adagrad_follows_pytorch() {
    follows_the_fixture("adagrad");
}

#[test]
fn rmsprop_follows_keras_rule() {
    follows_the_fixture("rmsprop");
}

#[test]
fn adam_follows_pytorch() {
    follows_the_fixture("adam");
}

/// Nadam's momentum schedule (`u_t`, `u_{t+1}` and their running product) shows from the
/// first step, its bias correction of `v` from the second.
#[test]
fn nadam_follows_keras() {
    follows_the_fixture("nadam");
}

/// Every case in the fixture belongs to one of the tests above, so none is silently unused.
#[test]
fn every_fixture_case_is_checked() {
    let f = fixture();
    let names: Vec<&str> = f.cases.iter().map(|c| c.optimizer.name()).collect();
    for name in &names {
        assert!(["sgd", "momentum", "adagrad", "rmsprop", "adam", "nadam"].contains(name), "unchecked case {name}");
    }
    // Nesterov is there (it shares the "momentum" name).
    assert!(f.cases.iter().any(|c| matches!(c.optimizer, Optimizer::Sgd { nesterov: true, .. })));
    assert!(f.grads.len() >= 5 && f.cases.iter().all(|c| c.trajectory.len() == f.grads.len()));
    let quadratic: Vec<&str> = f.quadratic.cases.iter().map(|c| c.optimizer.name()).collect();
    assert_eq!(names, quadratic, "the same optimisers on the quadratic");
}
