//! Optimisers: plain gradient descent (SGD), momentum, AdaGrad, RMSprop, Adam and Nadam, with
//! the update rules and defaults of Keras 3.
//!
//! [`Optimizer`] names an algorithm and its hyperparameters; [`OptimizerState`] holds what it
//! remembers between steps (moments, accumulators, the step count), explicitly, by name and
//! serialisably, so that a checkpoint can resume training exactly. The update itself is one
//! vectorisable pass over a run of parameter values, used both by the training engine (on
//! ranges of the model's parameter store, while they are in cache) and by [`Optim`], the
//! PyTorch-style driver over autograd parameters ([`OptimizerState::update`]).
//!
//! ```
//! use neurite::{autograd::Var, optim::{Optim, Optimizer}, Tensor};
//! // Minimise (w - 3)^2 with Adam.
//! let w = Var::parameter(Tensor::scalar(0.0));
//! let mut opt = Optim::new(Optimizer::adam().learning_rate(0.1), vec![w.clone()])?;
//! for _ in 0..200 {
//!     opt.zero_grad();
//!     w.add_scalar(-3.0)?.powf(2.0)?.backward()?;
//!     opt.step()?;
//! }
//! assert!((w.value().item()? - 3.0).abs() < 1e-2);
//! # Ok::<(), neurite::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::simd_kernel;
use serde::{Deserialize, Serialize};

use crate::autograd::{ParamStore, Var};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// An optimisation algorithm with its hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Optimizer {
    /// Gradient descent, `w -= lr g`; with `momentum > 0`, `v = momentum v - lr g; w += v`
    /// (Nesterov: `w += momentum v - lr g`). Keras defaults: lr 0.01, momentum 0.
    Sgd {
        /// Learning rate.
        learning_rate: f32,
        /// Momentum factor (0 for plain gradient descent).
        momentum: f32,
        /// Nesterov's look-ahead variant.
        nesterov: bool,
    },
    /// `acc += g^2; w -= lr g / sqrt(acc + eps)`. Keras defaults: lr 0.001, initial
    /// accumulator 0.1, eps 1e-7.
    Adagrad {
        /// Learning rate.
        learning_rate: f32,
        /// Starting value of the accumulator.
        initial_accumulator: f32,
        /// Added under the square root.
        epsilon: f32,
    },
    /// `v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps)` (with momentum: the step goes
    /// through a velocity). Keras defaults: lr 0.001, rho 0.9, momentum 0, eps 1e-7.
    RmsProp {
        /// Learning rate.
        learning_rate: f32,
        /// Decay of the squared-gradient average.
        rho: f32,
        /// Momentum of the step (0: none).
        momentum: f32,
        /// Added under the square root.
        epsilon: f32,
    },
    /// `m += (1 - b1)(g - m); v += (1 - b2)(g^2 - v);
    /// w -= lr sqrt(1 - b2^t)/(1 - b1^t) m / (sqrt(v) + eps)`.
    /// Keras defaults: lr 0.001, beta1 0.9, beta2 0.999, eps 1e-7.
    Adam {
        /// Learning rate.
        learning_rate: f32,
        /// Decay of the first moment.
        beta1: f32,
        /// Decay of the second moment.
        beta2: f32,
        /// Added to the root of the second moment.
        epsilon: f32,
    },
    /// Adam with Nesterov momentum (Dozat, 2016), Keras 3's rule: with the momentum schedule
    /// `u_t = b1 (1 - 0.5 * 0.96^t)` and `P_t = u_1 ... u_t`, `m += (1 - b1)(g - m);
    /// v += (1 - b2)(g^2 - v); m^ = u_{t+1} m / (1 - P_t u_{t+1}) + (1 - u_t) g / (1 - P_t);
    /// w -= lr m^ / (sqrt(v / (1 - b2^t)) + eps)`. Keras defaults: lr 0.001, beta1 0.9, beta2
    /// 0.999, eps 1e-7. `P_t` depends on the step alone, so it is computed from `t` rather
    /// than kept (Keras keeps it as a variable): the state is Adam's `m` and `v`.
    Nadam {
        /// Learning rate.
        learning_rate: f32,
        /// Decay of the first moment (the largest momentum of the schedule).
        beta1: f32,
        /// Decay of the second moment.
        beta2: f32,
        /// Added to the root of the corrected second moment.
        epsilon: f32,
    },
}

impl Optimizer {
    /// Plain gradient descent with Keras' default learning rate 0.01.
    pub fn sgd() -> Optimizer {
        Optimizer::Sgd { learning_rate: 0.01, momentum: 0.0, nesterov: false }
    }

    /// Gradient descent with momentum (default 0.9 here; Keras' SGD has 0, i.e. none).
    pub fn momentum(momentum: f32) -> Optimizer {
        Optimizer::Sgd { learning_rate: 0.01, momentum, nesterov: false }
    }

    /// AdaGrad with Keras' defaults.
    pub fn adagrad() -> Optimizer {
        Optimizer::Adagrad { learning_rate: 0.001, initial_accumulator: 0.1, epsilon: 1e-7 }
    }

    /// RMSprop with Keras' defaults.
    pub fn rmsprop() -> Optimizer {
        Optimizer::RmsProp { learning_rate: 0.001, rho: 0.9, momentum: 0.0, epsilon: 1e-7 }
    }

    /// Adam with Keras' defaults.
    pub fn adam() -> Optimizer {
        Optimizer::Adam { learning_rate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }
    }

    /// Nadam with Keras' defaults.
    pub fn nadam() -> Optimizer {
        Optimizer::Nadam { learning_rate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }
    }

    /// The same algorithm with another learning rate.
    pub fn learning_rate(mut self, lr: f32) -> Optimizer {
        match &mut self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adagrad { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::Nadam { learning_rate, .. } => *learning_rate = lr,
        }
        self
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        match *self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adagrad { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::Nadam { learning_rate, .. } => learning_rate,
        }
    }

    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { momentum, .. } if *momentum > 0.0 => "momentum",
            Optimizer::Sgd { .. } => "sgd",
            Optimizer::Adagrad { .. } => "adagrad",
            Optimizer::RmsProp { .. } => "rmsprop",
            Optimizer::Adam { .. } => "adam",
            Optimizer::Nadam { .. } => "nadam",
        }
    }

    /// Checks the hyperparameters (positive, finite learning rate; decays in [0, 1); ...).
    pub fn validate(&self) -> Result<()> {
        let lr = self.lr();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::Value(format!("{}: learning rate must be a positive number, got {lr}", self.name())));
        }
        let unit = |name: &str, v: f32| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::Value(format!("{}: {name} must be in [0, 1), got {v}", self.name())))
            }
        };
        let positive = |name: &str, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::Value(format!("{}: {name} must be >= 0, got {v}", self.name())))
            }
        };
        match *self {
            Optimizer::Sgd { momentum, .. } => unit("momentum", momentum),
            Optimizer::Adagrad { initial_accumulator, epsilon, .. } => {
                positive("initial_accumulator", initial_accumulator)?;
                positive("epsilon", epsilon)
            }
            Optimizer::RmsProp { rho, momentum, epsilon, .. } => {
                unit("rho", rho)?;
                unit("momentum", momentum)?;
                positive("epsilon", epsilon)
            }
            Optimizer::Adam { beta1, beta2, epsilon, .. } | Optimizer::Nadam { beta1, beta2, epsilon, .. } => {
                unit("beta1", beta1)?;
                unit("beta2", beta2)?;
                positive("epsilon", epsilon)
            }
        }
    }

    /// How many state buffers the algorithm keeps per parameter.
    fn slots(&self) -> usize {
        self.slot_names().len()
    }

    fn initial_value(&self) -> f32 {
        match *self {
            Optimizer::Adagrad { initial_accumulator, .. } => initial_accumulator,
            _ => 0.0,
        }
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (lr {})", self.name(), self.lr())
    }
}

impl FromStr for Optimizer {
    type Err = Error;

    /// `sgd`, `momentum`, `nesterov`, `adagrad`, `rmsprop`, `adam`, `nadam`, with Keras'
    /// defaults.
    fn from_str(s: &str) -> Result<Optimizer> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "sgd" | "gd" | "gradient_descent" => Optimizer::sgd(),
            "momentum" => Optimizer::momentum(0.9),
            "nesterov" => Optimizer::Sgd { learning_rate: 0.01, momentum: 0.9, nesterov: true },
            "adagrad" => Optimizer::adagrad(),
            "rmsprop" => Optimizer::rmsprop(),
            "adam" => Optimizer::adam(),
            "nadam" => Optimizer::nadam(),
            other => {
                return Err(Error::Value(format!(
                    "unknown optimizer {other:?}: expected sgd, momentum, nesterov, adagrad, rmsprop, adam, nadam"
                )))
            }
        })
    }
}

impl Optimizer {
    /// Names of the state buffers the algorithm keeps per parameter, in order (Keras'
    /// names): none for plain SGD, `momentum` for SGD with momentum, `accumulator` for
    /// AdaGrad, `velocity` (and `momentum`) for RMSprop, `m` and `v` for Adam and Nadam.
    pub fn slot_names(&self) -> &'static [&'static str] {
        match *self {
            Optimizer::Sgd { momentum: 0.0, .. } => &[],
            Optimizer::Sgd { .. } => &["momentum"],
            Optimizer::Adagrad { .. } => &["accumulator"],
            Optimizer::RmsProp { momentum: 0.0, .. } => &["velocity"],
            Optimizer::RmsProp { .. } => &["velocity", "momentum"],
            Optimizer::Adam { .. } | Optimizer::Nadam { .. } => &["m", "v"],
        }
    }

    /// One update of a run of parameter values in place: the whole algorithm, in one
    /// vectorisable pass. `t` is the step number (from 1); `s0` and `s1` are this run's part
    /// of the algorithm's state buffers (empty where it keeps fewer). Every slice the
    /// algorithm uses must be as long as `param`. Returns whether every updated value is
    /// finite (a NaN or an infinity means the training diverged).
    pub(crate) fn apply(
        &self,
        t: u64,
        param: &mut [f32],
        grad: &[f32],
        s0: &mut [f32],
        s1: &mut [f32],
    ) -> Result<bool> {
        let n = param.len();
        let slots = self.slots();
        if grad.len() != n || (slots > 0 && s0.len() != n) || (slots > 1 && s1.len() != n) {
            return Err(Error::Shape(format!(
                "{}: an update of {n} values with {} gradients and state buffers of {} and {} ({slots} needed)",
                self.name(),
                grad.len(),
                s0.len(),
                s1.len()
            )));
        }
        Ok(apply_update(*self, t, param, grad, s0, s1))
    }
}

simd_kernel! {
    /// The body of [`Optimizer::apply`], compiled for several instruction sets. Returns whether
    /// every updated value is finite: checked in the same pass, while each value is in a
    /// register, so that a diverging step is caught at once at no measurable cost.
    fn apply_update(optimizer: Optimizer, t: u64, param: &mut [f32], grad: &[f32], s0: &mut [f32], s1: &mut [f32]) -> bool {
        // Not-finite flags, or-ed as integers: a reduction that vectorises.
        let mut bad = 0u32;
        match optimizer {
            Optimizer::Sgd { learning_rate: lr, momentum, nesterov } => {
                if momentum == 0.0 {
                    for (p, &g) in param.iter_mut().zip(grad) {
                        *p -= lr * g;
                        bad |= u32::from(!p.is_finite());
                    }
                } else {
                    for ((p, &g), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()) {
                        *v = momentum * *v - lr * g;
                        *p += if nesterov { momentum * *v - lr * g } else { *v };
                        bad |= u32::from(!p.is_finite());
                    }
                }
            }
            Optimizer::Adagrad { learning_rate: lr, epsilon, .. } => {
                for ((p, &g), acc) in param.iter_mut().zip(grad).zip(s0.iter_mut()) {
                    *acc += g * g;
                    *p -= lr * g / (*acc + epsilon).sqrt();
                    bad |= u32::from(!p.is_finite());
                }
            }
            Optimizer::RmsProp { learning_rate: lr, rho, momentum, epsilon } => {
                if momentum == 0.0 {
                    for ((p, &g), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()) {
                        *v = rho * *v + (1.0 - rho) * g * g;
                        *p -= lr * g / (*v + epsilon).sqrt();
                        bad |= u32::from(!p.is_finite());
                    }
                } else {
                    for (((p, &g), v), m) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()) {
                        *v = rho * *v + (1.0 - rho) * g * g;
                        *m = momentum * *m + lr * g / (*v + epsilon).sqrt();
                        *p -= *m;
                        bad |= u32::from(!p.is_finite());
                    }
                }
            }
            Optimizer::Adam { learning_rate: lr, beta1, beta2, epsilon } => {
                // The bias corrections in f64, once per step, folded into alpha as Keras does.
                let b1t = (beta1 as f64).powf(t as f64);
                let b2t = (beta2 as f64).powf(t as f64);
                let alpha = (lr as f64 * (1.0 - b2t).sqrt() / (1.0 - b1t)) as f32;
                let (c1, c2) = (1.0 - beta1, 1.0 - beta2);
                for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()) {
                    *m += (g - *m) * c1;
                    *v += (g * g - *v) * c2;
                    *p -= *m * alpha / (v.sqrt() + epsilon);
                    bad |= u32::from(!p.is_finite());
                }
            }
            Optimizer::Nadam { learning_rate: lr, beta1, beta2, epsilon } => {
                // The step's scalars in f64, once per step, as Keras computes them per step.
                let (u_t, u_next, product) = nadam_schedule(beta1, t);
                let c_m = (u_next / (1.0 - product * u_next)) as f32;
                let c_g = ((1.0 - u_t) / (1.0 - product)) as f32;
                let v_scale = (1.0 / (1.0 - (beta2 as f64).powf(t as f64))) as f32;
                let (c1, c2) = (1.0 - beta1, 1.0 - beta2);
                for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()) {
                    *m += (g - *m) * c1;
                    *v += (g * g - *v) * c2;
                    let m_hat = c_m * *m + c_g * g;
                    *p -= lr * m_hat / ((*v * v_scale).sqrt() + epsilon);
                    bad |= u32::from(!p.is_finite());
                }
            }
        }
        bad == 0
    }
}

/// Nadam's momentum schedule at step `t` (from 1): `u_t = b1 (1 - 0.5 * 0.96^t)`, `u_{t+1}`,
/// and the product `P_t = u_1 ... u_t`, which Keras keeps as a variable and this computes from
/// `t`: `b1^t` times the factors `1 - 0.5 * 0.96^i`. Past `i = 1000` a factor is 1 in f64
/// (0.96^1000 is 2e-18), and once `b1^t` is below 1e-30 the product only ever meets `1 - P`,
/// which is then 1 in f64 exactly, so it is 0 from there on: a few hundred multiplications at
/// most, on each of the few runs a step updates, and two `powf` in the long run.
fn nadam_schedule(beta1: f32, t: u64) -> (f64, f64, f64) {
    let b1 = beta1 as f64;
    let u = |i: u64| b1 * (1.0 - 0.5 * 0.96f64.powf(i as f64));
    let b1t = b1.powf(t as f64);
    let product = if b1t < 1e-30 {
        0.0
    } else {
        let (mut factors, mut decay) = (1.0f64, 1.0f64);
        for _ in 0..t.min(1000) {
            decay *= 0.96;
            factors *= 1.0 - 0.5 * decay;
        }
        b1t * factors
    };
    (u(t), u(t + 1), product)
}

#[cfg(test)]
mod tests {
    use super::nadam_schedule;

    /// The schedule against the running product Keras keeps, far past the 8 steps of the
    /// trajectory fixture: where it matters (`1 - P_t` and `1 - P_t u_{t+1}`), within 1e-15.
    #[test]
    fn nadam_schedule_is_keras_running_product() {
        for beta1 in [0.9f32, 0.99, 0.999] {
            let b1 = beta1 as f64;
            let mut product = 1.0f64;
            for t in 1..=20_000u64 {
                let u_t = b1 * (1.0 - 0.5 * 0.96f64.powf(t as f64));
                product *= u_t;
                let (u, u_next, p) = nadam_schedule(beta1, t);
                assert_eq!(u, u_t);
                assert!(((1.0 - p) - (1.0 - product)).abs() < 1e-15, "beta1 {beta1}, step {t}: {p} against {product}");
                assert!(((1.0 - p * u_next) - (1.0 - product * u_next)).abs() < 1e-15, "beta1 {beta1}, step {t}");
            }
        }
    }
}

/// What an optimiser remembers: the step count and its state buffers (moments,
/// accumulators), each holding one value per parameter value with the parameters end to end
/// in the order of the model's [`ParamStore`], so that the engine updates a range of the
/// store and the same range of each buffer together. Readable and settable, by name, so
/// that a checkpoint can resume training exactly.
///
/// ```
/// use neurite::{optim::{Optimizer, OptimizerState}, ParamStore, Tensor};
/// let store = ParamStore::new();
/// store.add("dense/kernel", &Tensor::zeros(&[3, 2]))?;
/// store.add("dense/bias", &Tensor::zeros(&[2]))?;
/// let state = OptimizerState::new(Optimizer::adam(), &store)?;
/// let names: Vec<String> = state.tensors()?.into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["m/dense/kernel", "m/dense/bias", "v/dense/kernel", "v/dense/bias"]);
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    optimizer: Optimizer,
    iterations: u64,
    /// Name and shape of each parameter, in the store's order.
    params: Vec<(String, Vec<usize>)>,
    /// The state buffers (one per slot name), each as long as all parameters together.
    slots: Vec<Vec<f32>>,
}

impl OptimizerState {
    /// Fresh state for the parameters of `store`.
    pub fn new(optimizer: Optimizer, store: &ParamStore) -> Result<OptimizerState> {
        let params = store.infos().into_iter().map(|i| (i.name, i.shape)).collect();
        OptimizerState::for_params(optimizer, params)
    }

    /// Fresh state for parameters of the given names and shapes.
    pub fn for_params(optimizer: Optimizer, params: Vec<(String, Vec<usize>)>) -> Result<OptimizerState> {
        optimizer.validate()?;
        let total = params.iter().map(|(_, s)| s.iter().product::<usize>()).sum();
        let slots = (0..optimizer.slots()).map(|_| vec![optimizer.initial_value(); total]).collect();
        Ok(OptimizerState { optimizer, iterations: 0, params, slots })
    }

    /// The algorithm and its hyperparameters.
    pub fn optimizer(&self) -> Optimizer {
        self.optimizer
    }

    /// Number of completed steps (Keras' `iterations`).
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Sets the number of completed steps (Adam's bias correction depends on it).
    pub fn set_iterations(&mut self, iterations: u64) {
        self.iterations = iterations;
    }

    /// Name and shape of each parameter the state is for, in order.
    pub fn params(&self) -> &[(String, Vec<usize>)] {
        &self.params
    }

    /// Starts a step: every update until the next call uses the new step count.
    pub fn begin_step(&mut self) {
        self.iterations += 1;
    }

    /// The step number updates use (at least 1).
    pub fn step_number(&self) -> u64 {
        self.iterations.max(1)
    }

    /// Total number of parameter values.
    pub fn total(&self) -> usize {
        self.params.iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }

    /// Checks that the buffers fit the parameters and the algorithm.
    pub fn validate(&self) -> Result<()> {
        self.optimizer.validate()?;
        let total = self.total();
        if self.slots.len() != self.optimizer.slots() || self.slots.iter().any(|s| s.len() != total) {
            return Err(Error::Shape(format!(
                "optimizer state: {} wants {} buffers of {total} values, found buffers of {:?}",
                self.optimizer.name(),
                self.optimizer.slots(),
                self.slots.iter().map(Vec::len).collect::<Vec<_>>()
            )));
        }
        Ok(())
    }

    /// Whether this state is for the parameters of `store` (same names and shapes, in order).
    pub fn fits(&self, store: &ParamStore) -> bool {
        let infos = store.infos();
        infos.len() == self.params.len()
            && infos.iter().zip(&self.params).all(|(i, (n, s))| &i.name == n && &i.shape == s)
    }

    /// The state buffers as named tensors, `<slot>/<parameter>` (`m/dense/kernel`, ...),
    /// slot by slot: what a checkpoint stores.
    pub fn tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        for (slot, values) in self.optimizer.slot_names().iter().zip(&self.slots) {
            let mut at = 0;
            for (name, shape) in &self.params {
                let n: usize = shape.iter().product();
                out.push((format!("{slot}/{name}"), Tensor::from_vec(values[at..at + n].to_vec(), shape)?));
                at += n;
            }
        }
        Ok(out)
    }

    /// Sets the state buffers from named tensors as [`OptimizerState::tensors`] gives them:
    /// every one must be there, with its parameter's shape.
    pub fn set_tensors(&mut self, tensors: &[(String, Tensor)]) -> Result<()> {
        let mut slots = Vec::with_capacity(self.slots.len());
        for slot in self.optimizer.slot_names() {
            let mut values = Vec::with_capacity(self.total());
            for (name, shape) in &self.params {
                let key = format!("{slot}/{name}");
                let t = tensors
                    .iter()
                    .find(|(n, _)| *n == key)
                    .map(|(_, t)| t)
                    .ok_or_else(|| Error::Value(format!("optimizer state: {key} is missing")))?;
                if t.shape() != shape.as_slice() {
                    return Err(Error::Shape(format!(
                        "optimizer state: {key} has shape {}, its parameter {}",
                        crate::error::shape_str(t.shape()),
                        crate::error::shape_str(shape)
                    )));
                }
                values.extend(t.to_vec());
            }
            slots.push(values);
        }
        self.slots = slots;
        Ok(())
    }

    /// The state buffers as two slices (empty where the algorithm keeps fewer), for a caller
    /// that splits them into ranges.
    pub(crate) fn slots_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        match self.slots.as_mut_slice() {
            [] => (&mut [], &mut []),
            [a] => (a.as_mut_slice(), &mut []),
            [a, b, ..] => (a.as_mut_slice(), b.as_mut_slice()),
        }
    }

    /// Updates parameter number `index` in place from its gradient.
    pub fn update(&mut self, index: usize, param: &mut [f32], grad: &[f32]) -> Result<()> {
        let size = self.params.get(index).map(|(_, s)| s.iter().product::<usize>()).ok_or_else(|| {
            Error::Index(format!("optimizer: parameter {index} is unknown (state for {})", self.params.len()))
        })?;
        if grad.len() != size || param.len() != size {
            return Err(Error::Shape(format!(
                "optimizer: parameter {index} has {size} values in the state, {} in the tensor and {} in its gradient",
                param.len(),
                grad.len()
            )));
        }
        self.validate()?;
        let start: usize = self.params[..index].iter().map(|(_, s)| s.iter().product::<usize>()).sum();
        let (t, optimizer) = (self.step_number(), self.optimizer);
        let (s0, s1) = self.slots_mut();
        let part = |s: &mut [f32]| -> std::ops::Range<usize> {
            if s.is_empty() {
                0..0
            } else {
                start..start + size
            }
        };
        let (r0, r1) = (part(s0), part(s1));
        optimizer.apply(t, param, grad, &mut s0[r0], &mut s1[r1])?;
        Ok(())
    }
}

/// PyTorch's `torch.optim` object: an optimiser over a list of autograd parameters.
/// `step()` applies each parameter's accumulated `.grad()`; `zero_grad()` clears them.
pub struct Optim {
    state: OptimizerState,
    params: Vec<Var>,
}

impl Optim {
    /// An optimiser for `params` (a model's `parameters()`).
    pub fn new(optimizer: Optimizer, params: Vec<Var>) -> Result<Optim> {
        let names = params.iter().enumerate().map(|(i, p)| (i.to_string(), p.shape())).collect();
        Ok(Optim { state: OptimizerState::for_params(optimizer, names)?, params })
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        self.state.begin_step();
        for (i, p) in self.params.iter().enumerate() {
            let Some(grad) = p.grad() else { continue };
            let grad = grad.contiguous();
            let state = &mut self.state;
            p.update_in_place(|value| state.update(i, value, grad.as_slice().unwrap_or(&[])))??;
        }
        Ok(())
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&self) {
        self.params.iter().for_each(Var::zero_grad);
    }

    /// The optimiser's state (for checkpoints).
    pub fn state(&self) -> &OptimizerState {
        &self.state
    }
}
