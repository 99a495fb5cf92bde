//! PyTorch's optimisers (`Optimizer::TorchSgd`, `TorchAdam` (AdamW), `TorchRmsProp`,
//! `TorchAdagrad`) against trajectories written by PyTorch itself:
//! `scripts/torch_optim_fixtures.py` ran `torch.optim.SGD`, `Adam`, `AdamW`, `RMSprop` and
//! `Adagrad` (PyTorch 2.15, CPU, float32, the single-tensor path) for eight steps over a fixed
//! sequence of float32 gradients, and stored the parameters after each step, the state buffers
//! after the last one, and the JSON `neurite.torch` sends for each optimiser (built from the
//! optimiser's own `param_groups[0]`, so PyTorch's names and defaults).
//!
//! Each case is driven through [`Optim`] over a `Var::parameter`, the gradient set by the
//! backward pass of `sum(p * g)` (whose gradient is `g`), and through
//! [`OptimizerState::update`]; and, for the cases whose second parameter misses its gradient
//! at some steps, through [`Optim`] alone (PyTorch's per-parameter step counts).
//!
//! Tolerance: every parameter value within `1e-6 * max(|want|, 1)` of PyTorch's (the
//! parameters are 1.5 to 4 in size, so 1e-6 relative: two to eight float32 ulps; the same
//! float32 operations in the same order differ only where PyTorch's vectorised kernels fuse a
//! multiply-add); the state buffers within `1e-5 * |want| + 1e-30` (a squared gradient of 1e-12
//! carries its own rounding).

use neurite::autograd::Var;
use neurite::optim::{Optim, Optimizer, OptimizerState};
use neurite::Tensor;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Fixture {
    torch_version: String,
    params0: Vec<f32>,
    grads: Vec<Vec<f32>>,
    cases: Vec<Case>,
    skips: Skips,
    defaults: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Case {
    case: String,
    optimizer: serde_json::Value,
    trajectory: Vec<Vec<f64>>,
    state: BTreeMap<String, Vec<f64>>,
    step: Option<u64>,
}

#[derive(Deserialize)]
struct Skips {
    params0_b: Vec<f32>,
    grads_b: Vec<Vec<f32>>,
    no_grad_b: Vec<usize>,
    cases: Vec<SkipCase>,
}

#[derive(Deserialize)]
struct SkipCase {
    case: String,
    optimizer: serde_json::Value,
    trajectory: Vec<Vec<f64>>,
    steps: Vec<Option<u64>>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/torch_optim_trajectories.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The optimiser from the JSON neurite.torch sends.
fn optimizer(json: &serde_json::Value) -> Optimizer {
    let o: Optimizer = serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"));
    o.validate().unwrap();
    assert!(o.is_torch(), "{json}");
    o
}

const TOL: f64 = 1e-6;
const STATE_RTOL: f64 = 1e-5;

/// Checks one step's parameters; returns the largest error relative to `max(|want|, 1)`.
fn check(case: &str, driver: &str, step: usize, got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "{case} ({driver})");
    let mut worst = 0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs() / w.abs().max(1.0);
        assert!(
            err <= TOL,
            "{case} ({driver}), step {}, value {i}: {g} but PyTorch gives {w} (error {err:.2e})",
            step + 1
        );
        worst = worst.max(err);
    }
    worst
}

fn vector(v: &[f32]) -> Tensor {
    Tensor::vector(v)
}

/// Sets `p`'s gradient to `g` through autograd: the gradient of `sum(p * g)` is `g`.
fn set_grad(p: &Var, g: &[f32]) {
    p.mul(&Var::constant(vector(g))).unwrap().sum().unwrap().backward().unwrap();
}

#[test]
fn every_optimizer_follows_pytorch() {
    let f = fixture();
    assert!(f.torch_version.starts_with("2."), "{}", f.torch_version);
    assert!(f.cases.len() >= 11 && f.grads.len() >= 5);
    for case in &f.cases {
        let opt = optimizer(&case.optimizer);
        assert_eq!(case.trajectory.len(), f.grads.len());

        // Optim over an autograd parameter.
        let p = Var::parameter(vector(&f.params0));
        let mut driver = Optim::new(opt, vec![p.clone()]).unwrap();
        let mut worst = 0f64;
        for (step, g) in f.grads.iter().enumerate() {
            driver.zero_grad();
            set_grad(&p, g);
            driver.step().unwrap();
            worst = worst.max(check(&case.case, "Optim", step, &p.value().to_vec(), &case.trajectory[step]));
        }
        assert_eq!(driver.step_counts(), [f.grads.len() as u64], "{}", case.case);

        // The state buffers: PyTorch's names, PyTorch's values.
        let names: Vec<&str> = opt.slot_names().to_vec();
        let torch_names: Vec<&str> = case.state.keys().map(String::as_str).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, torch_names, "{}: slot names", case.case);
        for (name, tensor) in driver.state().tensors().unwrap() {
            let slot = name.strip_suffix("/0").unwrap();
            let want = &case.state[slot];
            for (i, (&g, &w)) in tensor.to_vec().iter().zip(want).enumerate() {
                let err = (f64::from(g) - w).abs();
                assert!(
                    err <= STATE_RTOL * w.abs() + 1e-30,
                    "{}: {slot}[{i}] is {g}, PyTorch's {w} (error {err:.2e})",
                    case.case
                );
            }
        }
        if let Some(step) = case.step {
            assert_eq!(step, f.grads.len() as u64, "{}", case.case);
        }

        // OptimizerState, stepped as the training engine steps it: the same numbers.
        let mut state = OptimizerState::for_params(opt, vec![("w".into(), vec![f.params0.len()])]).unwrap();
        let mut w = f.params0.clone();
        for (step, g) in f.grads.iter().enumerate() {
            state.begin_step();
            state.update(0, &mut w, g).unwrap();
            worst = worst.max(check(&case.case, "OptimizerState", step, &w, &case.trajectory[step]));
        }
        eprintln!("{}: largest error {worst:.1e} (tolerance {TOL:.0e})", case.case);
    }
}

/// A parameter without a gradient is skipped, its state and step count untouched: PyTorch's
/// step counts are per parameter, so its first update is its step 1.
#[test]
fn a_parameter_without_a_gradient_is_skipped_and_counts_its_own_steps() {
    let f = fixture();
    let s = &f.skips;
    assert!(!s.cases.is_empty());
    for case in &s.cases {
        let opt = optimizer(&case.optimizer);
        let (a, b) = (Var::parameter(vector(&f.params0)), Var::parameter(vector(&s.params0_b)));
        let mut driver = Optim::new(opt, vec![a.clone(), b.clone()]).unwrap();
        let mut worst = 0f64;
        for step in 0..f.grads.len() {
            driver.zero_grad();
            set_grad(&a, &f.grads[step]);
            if !s.no_grad_b.contains(&(step + 1)) {
                set_grad(&b, &s.grads_b[step]);
            }
            driver.step().unwrap();
            let mut got = a.value().to_vec();
            got.extend(b.value().to_vec());
            worst = worst.max(check(&case.case, "Optim, skips", step, &got, &case.trajectory[step]));
        }
        let expected_b = (f.grads.len() - s.no_grad_b.len()) as u64;
        assert_eq!(driver.step_counts(), [f.grads.len() as u64, expected_b], "{}", case.case);
        if let [Some(sa), Some(sb)] = case.steps[..] {
            assert_eq!(driver.step_counts(), [sa, sb], "{}: PyTorch's step counts", case.case);
        }
        eprintln!("{} with skips: largest error {worst:.1e}", case.case);
    }
}

/// `Optimizer::torch_*()`, `{"name": ...}` alone, and the JSON of PyTorch's default-built
/// optimisers are the same optimiser; the names round-trip through `FromStr`.
#[test]
fn pytorch_defaults() {
    let f = fixture();
    let ours = [
        ("sgd", Optimizer::torch_sgd()),
        ("adam", Optimizer::torch_adam()),
        ("adamw", Optimizer::torch_adamw()),
        ("rmsprop", Optimizer::torch_rmsprop()),
        ("adagrad", Optimizer::torch_adagrad()),
    ];
    assert_eq!(f.defaults.len(), ours.len());
    for (key, mine) in ours {
        assert_eq!(optimizer(&f.defaults[key]), mine, "{key}");
        assert_eq!(mine.name().parse::<Optimizer>().unwrap(), mine, "{key}");
        // Serialised and read back: the same (checkpoints).
        let json = serde_json::to_string(&mine).unwrap();
        assert_eq!(serde_json::from_str::<Optimizer>(&json).unwrap(), mine, "{json}");
    }
    for name in ["torch_sgd", "torch_adam", "torch_rmsprop", "torch_adagrad"] {
        let bare: Optimizer = serde_json::from_str(&format!(r#"{{"name": "{name}"}}"#)).unwrap();
        assert_eq!(bare, name.parse::<Optimizer>().unwrap(), "{name}");
    }
    assert_eq!(Optimizer::torch_sgd().lr(), 1e-3);
    assert_eq!(Optimizer::torch_rmsprop().lr(), 1e-2);
}

/// `validate` (and so `Optim::new`) rejects what PyTorch's constructors reject, naming the
/// field and the value; a learning rate of 0 (a warm-up's start) is allowed.
#[test]
fn bad_hyperparameters_are_rejected() {
    let bad = [
        (r#"{"name": "torch_sgd", "lr": -0.1}"#, "lr must be a number >= 0, got -0.1"),
        (r#"{"name": "torch_sgd", "momentum": -0.5}"#, "momentum must be a number >= 0, got -0.5"),
        (r#"{"name": "torch_sgd", "momentum": 0.9, "dampening": 1.5}"#, "dampening must be in [0, 1], got 1.5"),
        (r#"{"name": "torch_sgd", "weight_decay": -1}"#, "weight_decay must be a number >= 0, got -1"),
        (r#"{"name": "torch_sgd", "nesterov": true}"#, "Nesterov momentum requires a momentum and zero dampening"),
        (
            r#"{"name": "torch_sgd", "momentum": 0.9, "dampening": 0.1, "nesterov": true}"#,
            "got momentum 0.9 and dampening 0.1",
        ),
        (r#"{"name": "torch_adam", "lr": -0.001}"#, "torch_adam: lr must be a number >= 0, got -0.001"),
        (r#"{"name": "torch_adam", "betas": [1.0, 0.999]}"#, "betas[0] must be in [0, 1), got 1"),
        (r#"{"name": "torch_adam", "betas": [0.9, -0.1]}"#, "betas[1] must be in [0, 1), got -0.1"),
        (r#"{"name": "torch_adam", "eps": -1e-8}"#, "eps must be a number >= 0, got -0.00000001"),
        (
            r#"{"name": "torch_adam", "weight_decay": -0.01, "decoupled_weight_decay": true}"#,
            "torch_adamw: weight_decay must be a number >= 0, got -0.01",
        ),
        (r#"{"name": "torch_rmsprop", "alpha": 1.5}"#, "alpha must be in [0, 1], got 1.5"),
        (r#"{"name": "torch_rmsprop", "momentum": -0.9}"#, "momentum must be a number >= 0, got -0.9"),
        (r#"{"name": "torch_rmsprop", "eps": -1}"#, "eps must be a number >= 0, got -1"),
        (r#"{"name": "torch_adagrad", "lr_decay": -0.1}"#, "lr_decay must be a number >= 0, got -0.1"),
        (
            r#"{"name": "torch_adagrad", "initial_accumulator_value": -1}"#,
            "initial_accumulator_value must be a number >= 0, got -1",
        ),
        (r#"{"name": "torch_adagrad", "weight_decay": -2}"#, "weight_decay must be a number >= 0, got -2"),
    ];
    for (json, message) in bad {
        let o: Optimizer = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        let err = o.validate().unwrap_err().to_string();
        assert!(err.contains(message), "{json}: {err}");
        assert!(Optim::new(o, vec![Var::parameter(Tensor::scalar(1.0))]).is_err(), "{json}");
    }
    // Not finite.
    let nan = Optimizer::TorchAdam {
        lr: f64::NAN,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        amsgrad: false,
        maximize: false,
        decoupled_weight_decay: false,
    };
    assert!(nan.validate().unwrap_err().to_string().contains("lr must be a number >= 0, got NaN"));
    assert!(Optimizer::torch_sgd().learning_rate(f32::INFINITY).validate().is_err());
    // Allowed: lr 0, dampening 1, alpha 1, betas of 0.
    for json in [
        r#"{"name": "torch_sgd", "lr": 0}"#,
        r#"{"name": "torch_sgd", "momentum": 0.9, "dampening": 1}"#,
        r#"{"name": "torch_rmsprop", "alpha": 1.0}"#,
        r#"{"name": "torch_adam", "betas": [0, 0]}"#,
    ] {
        serde_json::from_str::<Optimizer>(json).unwrap().validate().unwrap_or_else(|e| panic!("{json}: {e}"));
    }
}

/// A scheduler's learning rate: read and set between steps, the state kept, the new rate
/// used from the next step on; a negative one fails that step, naming it.
#[test]
fn the_learning_rate_can_be_changed_between_steps() {
    let p = Var::parameter(Tensor::vector(&[1.0, -2.0]));
    let mut opt = Optim::new(Optimizer::torch_sgd().learning_rate(0.5), vec![p.clone()]).unwrap();
    assert_eq!(opt.learning_rate(), 0.5);
    set_grad(&p, &[1.0, 1.0]);
    opt.step().unwrap();
    assert_eq!(p.value().to_vec(), [0.5, -2.5]);
    opt.set_learning_rate(0.25);
    assert_eq!(opt.learning_rate(), 0.25);
    opt.step().unwrap(); // the gradient was not cleared: the same one again
    assert_eq!(p.value().to_vec(), [0.25, -2.75]);
    opt.set_learning_rate(-1.0);
    let err = opt.step().unwrap_err().to_string();
    assert!(err.contains("lr must be a number >= 0, got -1"), "{err}");
    assert_eq!(p.value().to_vec(), [0.25, -2.75], "a rejected step changes nothing");
    assert_eq!(opt.step_counts(), [2], "nor counts");
    opt.set_learning_rate(0.0);
    opt.step().unwrap();
    assert_eq!(p.value().to_vec(), [0.25, -2.75]);
}

/// The Keras variants keep their names, JSON and Optim's per-optimiser step count.
#[test]
fn keras_variants_are_unchanged() {
    let adam: Optimizer = serde_json::from_str(
        r#"{"name": "adam", "learning_rate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}"#,
    )
    .unwrap();
    assert_eq!(adam, Optimizer::adam());
    assert!(!adam.is_torch());
    assert_eq!(
        serde_json::to_string(&Optimizer::rmsprop()).unwrap(),
        r#"{"name":"rms_prop","learning_rate":0.001,"rho":0.9,"momentum":0.0,"epsilon":1e-7}"#
    );
    // Keras counts the optimiser's steps: a parameter first updated at step 3 is corrected as
    // at step 3 (Keras' `iterations`), unlike PyTorch's rules.
    let (a, b) = (Var::parameter(Tensor::scalar(1.0)), Var::parameter(Tensor::scalar(1.0)));
    let mut opt = Optim::new(Optimizer::adam().learning_rate(0.1), vec![a.clone(), b.clone()]).unwrap();
    for step in 1..=3 {
        opt.zero_grad();
        set_grad(&a, &[1.0]);
        if step == 3 {
            b.mul_scalar(1.0).unwrap().sum().unwrap().backward().unwrap();
        }
        opt.step().unwrap();
    }
    assert_eq!(opt.state().iterations(), 3);
    let mut state =
        OptimizerState::for_params(Optimizer::adam().learning_rate(0.1), vec![("b".into(), vec![])]).unwrap();
    state.set_iterations(2);
    state.begin_step();
    let mut w = [1.0f32];
    state.update(0, &mut w, &[1.0]).unwrap();
    assert_eq!(b.value().to_vec(), w);
}

/// The training engine (`Sequential::train_on_batch`, which updates by parameter ranges and
/// passes up to three state buffers) and `Optim` over the same model's autograd parameters
/// take the same steps with PyTorch's rules, three buffers included; a model saved with its
/// optimiser state resumes with the same bits.
#[test]
fn the_engine_takes_the_same_steps_as_optim() {
    use neurite::nn::{Activation, Dense, Loss, Module};
    use neurite::train::{Sequential, TensorExamples};
    use neurite::Rng;

    let mut rng = Rng::new(11);
    let rows = 16usize;
    let x = Tensor::uniform(&[rows, 5], -1.0, 1.0, &mut rng);
    let y = Tensor::vector(&(0..rows).map(|i| (i % 3) as f32).collect::<Vec<_>>());
    let data = TensorExamples::new(&x, &y, Some(3)).unwrap();
    let batch: Vec<u32> = (0..rows as u32).collect();
    let model = || {
        let mut m = Sequential::with_seed(3);
        m.add(Dense::new(8).activation(Activation::Tanh).input_shape(5)).unwrap();
        m.add(Dense::new(3).activation(Activation::Softmax)).unwrap();
        m
    };
    // A large epsilon keeps the adaptive rules from magnifying the rounding of a gradient
    // that cancels to almost zero (the two paths sum the batch in different orders).
    for json in [
        r#"{"name": "torch_sgd", "lr": 0.5, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}"#,
        r#"{"name": "torch_adam", "lr": 0.05, "amsgrad": true, "eps": 1e-3, "weight_decay": 0.1, "decoupled_weight_decay": true}"#,
        r#"{"name": "torch_rmsprop", "lr": 0.01, "momentum": 0.9, "centered": true, "eps": 1e-3}"#,
        r#"{"name": "torch_adagrad", "lr": 0.1, "lr_decay": 0.1, "eps": 1e-3}"#,
    ] {
        let optimizer: Optimizer = serde_json::from_str(json).unwrap();
        let mut engine = model();
        engine.compile(optimizer, Loss::SparseCategoricalCrossentropy, &[]).unwrap();
        let autograd = model();
        let mut opt = Optim::new(optimizer, autograd.parameters()).unwrap();
        for _ in 0..4 {
            engine.train_on_batch(&data, &batch).unwrap();
            opt.zero_grad();
            let out = autograd.forward(&Var::constant(x.clone())).unwrap();
            Loss::SparseCategoricalCrossentropy.forward(&out, &y).unwrap().backward().unwrap();
            opt.step().unwrap();
        }
        let (a, b) = (engine.params().snapshot().unwrap(), autograd.params().snapshot().unwrap());
        let start = model().params().snapshot().unwrap();
        let moved = start.iter().zip(&b).map(|(s, v)| (s - v).abs()).fold(0.0f32, f32::max);
        let diff = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(moved > 0.01, "{json}: the steps moved the parameters by {moved}");
        assert!(diff <= 1e-4 * moved, "{json}: the paths differ by {diff} of a move of {moved}");
        let state = engine.optimizer_state().unwrap();
        assert_eq!(state.tensors().unwrap().len(), 4 * optimizer.slot_names().len(), "{json}");

        // Saved with its optimiser state and read back: the same state, the same next step.
        let mut back = neurite::io::model_from_bytes(&neurite::io::model_bytes(&engine).unwrap()).unwrap();
        assert_eq!(back.optimizer_state(), engine.optimizer_state(), "{json}: the saved state");
        engine.train_on_batch(&data, &batch).unwrap();
        back.train_on_batch(&data, &batch).unwrap();
        assert_eq!(back.params().snapshot().unwrap(), engine.params().snapshot().unwrap(), "{json}: resumed");
    }
}

/// A unit that stops getting gradients (a dead ReLU) has its moments decay toward 0; they
/// become 0 instead of subnormal numbers, whose arithmetic is many times slower, and the
/// parameter stops where PyTorch's would (the difference is below 1e-30).
#[test]
fn decaying_state_becomes_zero_not_subnormal() {
    for json in [
        r#"{"name": "torch_adam"}"#,
        r#"{"name": "torch_sgd", "lr": 0.01, "momentum": 0.9}"#,
        r#"{"name": "torch_rmsprop", "momentum": 0.5, "centered": true}"#,
    ] {
        let p = Var::parameter(vector(&[0.5, -0.25]));
        let mut opt = Optim::new(serde_json::from_str(json).unwrap(), vec![p.clone()]).unwrap();
        set_grad(&p, &[1e-3, 2e-3]);
        opt.step().unwrap();
        let after_first = p.value().to_vec();
        for _ in 0..20_000 {
            opt.zero_grad();
            set_grad(&p, &[0.0, 0.0]);
            opt.step().unwrap();
        }
        for (name, t) in opt.state().tensors().unwrap() {
            for v in t.to_vec() {
                assert!(v == 0.0 || v.abs() >= f32::MIN_POSITIVE, "{json}: {name} holds the subnormal {v:e}");
            }
        }
        for (now, then) in p.value().to_vec().iter().zip(&after_first) {
            assert!((now - then).abs() < 0.5, "{json}: the parameter ran away ({then} -> {now})");
        }
    }
}
