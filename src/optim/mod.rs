//! Optimisers: plain gradient descent (SGD), momentum, AdaGrad, RMSprop, Adam and Nadam, with
//! the update rules and defaults of Keras 3; and SGD, Adam (AdamW), RMSprop and Adagrad with
//! the update rules and defaults of PyTorch's `torch.optim` (the `Torch*` variants).
//!
//! The two families differ in more than their defaults: Keras' RMSprop and AdaGrad add epsilon
//! under the square root, PyTorch's outside it; Keras' momentum SGD keeps `momentum v - lr g`,
//! PyTorch's keeps the (dampened) sum of gradients, starts it at the first gradient and
//! multiplies by the learning rate last; PyTorch adds weight decay to the gradient (or, for
//! AdamW, decays the parameters), offers `maximize`, AMSGrad, centred RMSprop and a decaying
//! AdaGrad rate. Each `Torch*` variant follows `torch/optim/*.py`'s single-tensor path (the
//! one PyTorch takes on a CPU) operation by operation, in float32, with the per-step scalars
//! (bias corrections, the decayed rate) in float64 as Python computes them; its
//! hyperparameters are float64, as Python's floats, so that `1 - beta2` is what PyTorch
//! multiplies by. Their field names are PyTorch's keyword arguments: see [`Optimizer`] for the
//! JSON each takes.
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
//!
//! The same with PyTorch's Adam, built from the JSON that `neurite.torch` sends (every field
//! but the name may be left out: PyTorch's default is taken):
//!
//! ```
//! use neurite::{autograd::Var, optim::{Optim, Optimizer}, Tensor};
//! let adam: Optimizer = serde_json::from_str(r#"{"name": "torch_adam", "lr": 0.1}"#).unwrap();
//! assert_eq!((adam.name(), adam.lr(), adam.slot_names()), ("torch_adam", 0.1, &["exp_avg", "exp_avg_sq"][..]));
//! let w = Var::parameter(Tensor::scalar(0.0));
//! let mut opt = Optim::new(adam, vec![w.clone()])?;
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
///
/// Serialised (checkpoints, JSON) with its variant's name in a `"name"` field. The Keras
/// variants are `sgd`, `adagrad`, `rms_prop`, `adam`, `nadam`, with every field given.
///
/// The PyTorch variants take PyTorch's keyword arguments under PyTorch's names, and any field
/// left out takes PyTorch's default (so `{"name": "torch_adam"}` is `torch.optim.Adam`'s
/// defaults). The JSON for each of `torch.optim`'s classes, with those defaults written out:
///
/// | PyTorch | JSON |
/// |---|---|
/// | `SGD` | `{"name": "torch_sgd", "lr": 0.001, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": false, "maximize": false}` |
/// | `Adam` | `{"name": "torch_adam", "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": false, "maximize": false, "decoupled_weight_decay": false}` |
/// | `AdamW` | `{"name": "torch_adam", "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "amsgrad": false, "maximize": false, "decoupled_weight_decay": true}` |
/// | `RMSprop` | `{"name": "torch_rmsprop", "lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": false, "maximize": false}` |
/// | `Adagrad` | `{"name": "torch_adagrad", "lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10, "maximize": false}` |
///
/// (AdamW must say `"weight_decay": 0.01` and `"decoupled_weight_decay": true`, its two
/// differences from Adam: as in PyTorch 2.x, where `AdamW` is `Adam` with
/// `decoupled_weight_decay=True`.) Numbers are float64; an integer is taken for one
/// (`"weight_decay": 0`, as Python's `json.dumps` writes PyTorch's `0`). PyTorch's `foreach`, `fused`,
/// `capturable` and `differentiable` choose how PyTorch computes, not what: they have no field
/// here, and a field this does not know is ignored, so send only these. [`Optimizer::validate`]
/// (run by [`Optim::new`]) rejects what PyTorch's constructors reject.
///
/// ```
/// use neurite::optim::Optimizer;
/// let json = r#"{"name": "torch_sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true}"#;
/// let sgd: Optimizer = serde_json::from_str(json).unwrap();
/// assert_eq!(
///     sgd,
///     Optimizer::TorchSgd { lr: 0.1, momentum: 0.9, dampening: 0.0, weight_decay: 0.0, nesterov: true, maximize: false }
/// );
/// assert_eq!(sgd.slot_names(), ["momentum_buffer"]);
/// // Nesterov needs zero dampening, as in PyTorch.
/// let bad: Optimizer = serde_json::from_str(r#"{"name": "torch_sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.5, "nesterov": true}"#).unwrap();
/// assert!(bad.validate().is_err());
/// ```
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
    /// PyTorch's `torch.optim.SGD`: `g = grad + weight_decay p` (`-grad` when maximising);
    /// with a momentum, `buf = g` at a parameter's first step and `buf = momentum buf +
    /// (1 - dampening) g` after, and the step is `buf` (Nesterov: `g + momentum buf`);
    /// `p -= lr step`. PyTorch's defaults: lr 0.001, everything else 0 or false. State:
    /// `momentum_buffer` (with a momentum).
    TorchSgd {
        /// Learning rate.
        #[serde(default = "torch_default::sgd_lr")]
        lr: f64,
        /// Momentum factor (0: none, and no buffer).
        #[serde(default)]
        momentum: f64,
        /// Dampening of the gradient's share of the momentum buffer.
        #[serde(default)]
        dampening: f64,
        /// L2 penalty, added to the gradient.
        #[serde(default)]
        weight_decay: f64,
        /// Nesterov momentum (needs a momentum and no dampening).
        #[serde(default)]
        nesterov: bool,
        /// Ascends instead of descending.
        #[serde(default)]
        maximize: bool,
    },
    /// PyTorch's `torch.optim.Adam` and `AdamW`: `g = grad + weight_decay p` (Adam) or
    /// `p *= 1 - lr weight_decay` (AdamW: `decoupled_weight_decay`); `m = lerp(m, g, 1 - b1)`;
    /// `v = b2 v + (1 - b2) g^2` (AMSGrad: `v_max = max(v_max, v)`, used for `v` below);
    /// `p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`, `t` the parameter's
    /// own step count. PyTorch's defaults: lr 0.001, betas (0.9, 0.999), eps 1e-8, weight
    /// decay 0 (AdamW's: 0.01). State: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with
    /// AMSGrad.
    TorchAdam {
        /// Learning rate.
        #[serde(default = "torch_default::adam_lr")]
        lr: f64,
        /// Decays of the first and second moments.
        #[serde(default = "torch_default::betas")]
        betas: (f64, f64),
        /// Added to the corrected root of the second moment.
        #[serde(default = "torch_default::adam_eps")]
        eps: f64,
        /// L2 penalty added to the gradient, or with `decoupled_weight_decay` the decay
        /// rate of the parameters.
        #[serde(default)]
        weight_decay: f64,
        /// AMSGrad: divides by the largest second moment so far.
        #[serde(default)]
        amsgrad: bool,
        /// Ascends instead of descending.
        #[serde(default)]
        maximize: bool,
        /// AdamW: the weight decay multiplies the parameters instead of entering the
        /// gradient.
        #[serde(default)]
        decoupled_weight_decay: bool,
    },
    /// PyTorch's `torch.optim.RMSprop`: `g = grad + weight_decay p`; `v = alpha v +
    /// (1 - alpha) g^2`; `avg = sqrt(v) + eps` (centred: `gavg = lerp(gavg, g, 1 - alpha)`,
    /// `avg = sqrt(v - gavg^2) + eps`); with a momentum `buf = momentum buf + g / avg;
    /// p -= lr buf`, without `p -= lr g / avg`. PyTorch's defaults: lr 0.01, alpha 0.99, eps
    /// 1e-8, the rest 0 or false. State: `square_avg`, then `momentum_buffer` with a momentum,
    /// then `grad_avg` when centred.
    #[serde(rename = "torch_rmsprop")]
    TorchRmsProp {
        /// Learning rate.
        #[serde(default = "torch_default::rmsprop_lr")]
        lr: f64,
        /// Decay of the squared-gradient average.
        #[serde(default = "torch_default::alpha")]
        alpha: f64,
        /// Added to the root of the average.
        #[serde(default = "torch_default::rmsprop_eps")]
        eps: f64,
        /// L2 penalty, added to the gradient.
        #[serde(default)]
        weight_decay: f64,
        /// Momentum of the step (0: none, and no buffer).
        #[serde(default)]
        momentum: f64,
        /// Divides by the variance rather than the second moment.
        #[serde(default)]
        centered: bool,
        /// Ascends instead of descending.
        #[serde(default)]
        maximize: bool,
    },
    /// PyTorch's `torch.optim.Adagrad`: `g = grad + weight_decay p`; `sum += g^2`;
    /// `p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)`, `t` the parameter's own
    /// step count. PyTorch's defaults: lr 0.01, eps 1e-10, the rest 0 or false. State: `sum`,
    /// starting at `initial_accumulator_value`.
    TorchAdagrad {
        /// Learning rate.
        #[serde(default = "torch_default::adagrad_lr")]
        lr: f64,
        /// Decay of the learning rate with the step count.
        #[serde(default)]
        lr_decay: f64,
        /// L2 penalty, added to the gradient.
        #[serde(default)]
        weight_decay: f64,
        /// Starting value of the sum of squared gradients.
        #[serde(default)]
        initial_accumulator_value: f64,
        /// Added to the root of the sum.
        #[serde(default = "torch_default::adagrad_eps")]
        eps: f64,
        /// Ascends instead of descending.
        #[serde(default)]
        maximize: bool,
    },
}

/// PyTorch's defaults, for the fields of the `Torch*` variants that JSON leaves out.
mod torch_default {
    pub(super) fn sgd_lr() -> f64 {
        1e-3
    }
    pub(super) fn adam_lr() -> f64 {
        1e-3
    }
    pub(super) fn betas() -> (f64, f64) {
        (0.9, 0.999)
    }
    pub(super) fn adam_eps() -> f64 {
        1e-8
    }
    pub(super) fn rmsprop_lr() -> f64 {
        1e-2
    }
    pub(super) fn alpha() -> f64 {
        0.99
    }
    pub(super) fn rmsprop_eps() -> f64 {
        1e-8
    }
    pub(super) fn adagrad_lr() -> f64 {
        1e-2
    }
    pub(super) fn adagrad_eps() -> f64 {
        1e-10
    }
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

    /// PyTorch's `torch.optim.SGD` with its defaults (learning rate 0.001, no momentum).
    pub fn torch_sgd() -> Optimizer {
        Optimizer::TorchSgd {
            lr: torch_default::sgd_lr(),
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }

    /// PyTorch's `torch.optim.Adam` with its defaults.
    pub fn torch_adam() -> Optimizer {
        Optimizer::TorchAdam {
            lr: torch_default::adam_lr(),
            betas: torch_default::betas(),
            eps: torch_default::adam_eps(),
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
            decoupled_weight_decay: false,
        }
    }

    /// PyTorch's `torch.optim.AdamW` with its defaults (Adam's, with a decoupled weight decay
    /// of 0.01).
    pub fn torch_adamw() -> Optimizer {
        match Optimizer::torch_adam() {
            Optimizer::TorchAdam { lr, betas, eps, amsgrad, maximize, .. } => Optimizer::TorchAdam {
                lr,
                betas,
                eps,
                weight_decay: 0.01,
                amsgrad,
                maximize,
                decoupled_weight_decay: true,
            },
            other => other,
        }
    }

    /// PyTorch's `torch.optim.RMSprop` with its defaults.
    pub fn torch_rmsprop() -> Optimizer {
        Optimizer::TorchRmsProp {
            lr: torch_default::rmsprop_lr(),
            alpha: torch_default::alpha(),
            eps: torch_default::rmsprop_eps(),
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }

    /// PyTorch's `torch.optim.Adagrad` with its defaults.
    pub fn torch_adagrad() -> Optimizer {
        Optimizer::TorchAdagrad {
            lr: torch_default::adagrad_lr(),
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: torch_default::adagrad_eps(),
            maximize: false,
        }
    }

    /// The same algorithm with another learning rate.
    pub fn learning_rate(mut self, new: f32) -> Optimizer {
        match &mut self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adagrad { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::Nadam { learning_rate, .. } => *learning_rate = new,
            Optimizer::TorchSgd { lr, .. }
            | Optimizer::TorchAdam { lr, .. }
            | Optimizer::TorchRmsProp { lr, .. }
            | Optimizer::TorchAdagrad { lr, .. } => *lr = f64::from(new),
        }
        self
    }

    /// The learning rate (a PyTorch variant's float64 rate, rounded to float32).
    pub fn lr(&self) -> f32 {
        match *self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adagrad { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::Nadam { learning_rate, .. } => learning_rate,
            Optimizer::TorchSgd { lr, .. }
            | Optimizer::TorchAdam { lr, .. }
            | Optimizer::TorchRmsProp { lr, .. }
            | Optimizer::TorchAdagrad { lr, .. } => lr as f32,
        }
    }

    /// Whether this is one of PyTorch's rules (a `Torch*` variant), whose step counts are
    /// per parameter.
    pub fn is_torch(&self) -> bool {
        matches!(
            self,
            Optimizer::TorchSgd { .. }
                | Optimizer::TorchAdam { .. }
                | Optimizer::TorchRmsProp { .. }
                | Optimizer::TorchAdagrad { .. }
        )
    }

    /// The Keras name; for the PyTorch variants, the JSON name (`torch_sgd`, `torch_adam`,
    /// `torch_rmsprop`, `torch_adagrad`), and `torch_adamw` for Adam with decoupled weight
    /// decay.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { momentum, .. } if *momentum > 0.0 => "momentum",
            Optimizer::Sgd { .. } => "sgd",
            Optimizer::Adagrad { .. } => "adagrad",
            Optimizer::RmsProp { .. } => "rmsprop",
            Optimizer::Adam { .. } => "adam",
            Optimizer::Nadam { .. } => "nadam",
            Optimizer::TorchSgd { .. } => "torch_sgd",
            Optimizer::TorchAdam { decoupled_weight_decay: true, .. } => "torch_adamw",
            Optimizer::TorchAdam { .. } => "torch_adam",
            Optimizer::TorchRmsProp { .. } => "torch_rmsprop",
            Optimizer::TorchAdagrad { .. } => "torch_adagrad",
        }
    }

    /// Checks the hyperparameters (positive, finite learning rate; decays in [0, 1); ...).
    /// The PyTorch variants are checked as PyTorch's constructors check them, and every
    /// value must be finite: learning rate, weight decay, momentum, epsilon, `lr_decay` and
    /// `initial_accumulator_value` >= 0 (a learning rate of 0 is allowed, as a scheduler's
    /// warm-up starts there); betas in [0, 1); RMSprop's alpha and SGD's dampening in [0, 1];
    /// Nesterov with a momentum and no dampening.
    pub fn validate(&self) -> Result<()> {
        if self.is_torch() {
            return self.validate_torch();
        }
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
            Optimizer::TorchSgd { .. }
            | Optimizer::TorchAdam { .. }
            | Optimizer::TorchRmsProp { .. }
            | Optimizer::TorchAdagrad { .. } => self.validate_torch(),
        }
    }

    /// [`Optimizer::validate`] for the PyTorch variants (the Keras ones pass).
    fn validate_torch(&self) -> Result<()> {
        let name = self.name();
        let at_least_0 = |field: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::Value(format!("{name}: {field} must be a number >= 0, got {v}")))
            }
        };
        let within = |field: &str, v: f64, closed: bool| {
            if v >= 0.0 && (v < 1.0 || (closed && v == 1.0)) {
                Ok(())
            } else {
                let end = if closed { "]" } else { ")" };
                Err(Error::Value(format!("{name}: {field} must be in [0, 1{end}, got {v}")))
            }
        };
        match *self {
            Optimizer::TorchSgd { lr, momentum, dampening, weight_decay, nesterov, .. } => {
                at_least_0("lr", lr)?;
                at_least_0("momentum", momentum)?;
                within("dampening", dampening, true)?;
                at_least_0("weight_decay", weight_decay)?;
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    return Err(Error::Value(format!(
                        "{name}: Nesterov momentum requires a momentum and zero dampening, got momentum {momentum} and dampening {dampening}"
                    )));
                }
                Ok(())
            }
            Optimizer::TorchAdam { lr, betas, eps, weight_decay, .. } => {
                at_least_0("lr", lr)?;
                within("betas[0]", betas.0, false)?;
                within("betas[1]", betas.1, false)?;
                at_least_0("eps", eps)?;
                at_least_0("weight_decay", weight_decay)
            }
            Optimizer::TorchRmsProp { lr, alpha, eps, weight_decay, momentum, .. } => {
                at_least_0("lr", lr)?;
                within("alpha", alpha, true)?;
                at_least_0("eps", eps)?;
                at_least_0("weight_decay", weight_decay)?;
                at_least_0("momentum", momentum)
            }
            Optimizer::TorchAdagrad { lr, lr_decay, weight_decay, initial_accumulator_value, eps, .. } => {
                at_least_0("lr", lr)?;
                at_least_0("lr_decay", lr_decay)?;
                at_least_0("weight_decay", weight_decay)?;
                at_least_0("initial_accumulator_value", initial_accumulator_value)?;
                at_least_0("eps", eps)
            }
            _ => Ok(()),
        }
    }

    /// How many state buffers the algorithm keeps per parameter.
    fn slots(&self) -> usize {
        self.slot_names().len()
    }

    fn initial_value(&self) -> f32 {
        match *self {
            Optimizer::Adagrad { initial_accumulator, .. } => initial_accumulator,
            Optimizer::TorchAdagrad { initial_accumulator_value, .. } => initial_accumulator_value as f32,
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
    /// defaults; `torch_sgd`, `torch_adam`, `torch_adamw`, `torch_rmsprop`, `torch_adagrad`,
    /// with PyTorch's.
    fn from_str(s: &str) -> Result<Optimizer> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "sgd" | "gd" | "gradient_descent" => Optimizer::sgd(),
            "momentum" => Optimizer::momentum(0.9),
            "nesterov" => Optimizer::Sgd { learning_rate: 0.01, momentum: 0.9, nesterov: true },
            "adagrad" => Optimizer::adagrad(),
            "rmsprop" => Optimizer::rmsprop(),
            "adam" => Optimizer::adam(),
            "nadam" => Optimizer::nadam(),
            "torch_sgd" => Optimizer::torch_sgd(),
            "torch_adam" => Optimizer::torch_adam(),
            "torch_adamw" => Optimizer::torch_adamw(),
            "torch_rmsprop" => Optimizer::torch_rmsprop(),
            "torch_adagrad" => Optimizer::torch_adagrad(),
            other => {
                return Err(Error::Value(format!(
                    "unknown optimizer {other:?}: expected sgd, momentum, nesterov, adagrad, rmsprop, adam, nadam, \
                     torch_sgd, torch_adam, torch_adamw, torch_rmsprop, torch_adagrad"
                )))
            }
        })
    }
}

impl Optimizer {
    /// Names of the state buffers the algorithm keeps per parameter, in order (Keras'
    /// names): none for plain SGD, `momentum` for SGD with momentum, `accumulator` for
    /// AdaGrad, `velocity` (and `momentum`) for RMSprop, `m` and `v` for Adam and Nadam.
    /// The PyTorch variants use the keys of PyTorch's `state_dict()`: `momentum_buffer` for
    /// SGD with a momentum; `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq` with AMSGrad) for
    /// Adam; `square_avg` (then `momentum_buffer` with a momentum, then `grad_avg` when
    /// centred) for RMSprop; `sum` for Adagrad. At most three.
    pub fn slot_names(&self) -> &'static [&'static str] {
        match *self {
            Optimizer::Sgd { momentum: 0.0, .. } => &[],
            Optimizer::Sgd { .. } => &["momentum"],
            Optimizer::Adagrad { .. } => &["accumulator"],
            Optimizer::RmsProp { momentum: 0.0, .. } => &["velocity"],
            Optimizer::RmsProp { .. } => &["velocity", "momentum"],
            Optimizer::Adam { .. } | Optimizer::Nadam { .. } => &["m", "v"],
            Optimizer::TorchSgd { momentum: 0.0, .. } => &[],
            Optimizer::TorchSgd { .. } => &["momentum_buffer"],
            Optimizer::TorchAdam { amsgrad: false, .. } => &["exp_avg", "exp_avg_sq"],
            Optimizer::TorchAdam { amsgrad: true, .. } => &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
            Optimizer::TorchRmsProp { momentum, centered, .. } => match (momentum > 0.0, centered) {
                (false, false) => &["square_avg"],
                (true, false) => &["square_avg", "momentum_buffer"],
                (false, true) => &["square_avg", "grad_avg"],
                (true, true) => &["square_avg", "momentum_buffer", "grad_avg"],
            },
            Optimizer::TorchAdagrad { .. } => &["sum"],
        }
    }

    /// One update of a run of parameter values in place: the whole algorithm, in one
    /// vectorisable pass. `t` is the step number (from 1; for the PyTorch variants, the
    /// parameter's own); `s0`, `s1` and `s2` are this run's part of the algorithm's state
    /// buffers (empty where it keeps fewer). Every slice the algorithm uses must be as long
    /// as `param`. Returns whether every updated value is finite (a NaN or an infinity means
    /// the training diverged).
    pub(crate) fn apply(
        &self,
        t: u64,
        param: &mut [f32],
        grad: &[f32],
        s0: &mut [f32],
        s1: &mut [f32],
        s2: &mut [f32],
    ) -> Result<bool> {
        let n = param.len();
        let slots = self.slots();
        if grad.len() != n
            || (slots > 0 && s0.len() != n)
            || (slots > 1 && s1.len() != n)
            || (slots > 2 && s2.len() != n)
        {
            return Err(Error::Shape(format!(
                "{}: an update of {n} values with {} gradients and state buffers of {}, {} and {} ({slots} needed)",
                self.name(),
                grad.len(),
                s0.len(),
                s1.len(),
                s2.len()
            )));
        }
        Ok(apply_update(*self, t, param, grad, s0, s1, s2))
    }
}

simd_kernel! {
    /// The body of [`Optimizer::apply`], compiled for several instruction sets. Returns whether
    /// every updated value is finite: checked in the same pass, while each value is in a
    /// register, so that a diverging step is caught at once at no measurable cost.
    #[allow(clippy::too_many_arguments)]
    fn apply_update(optimizer: Optimizer, t: u64, param: &mut [f32], grad: &[f32], s0: &mut [f32], s1: &mut [f32], s2: &mut [f32]) -> bool {
        // Not-finite flags, or-ed as integers: a reduction that vectorises.
        let mut bad = 0u32;
        // In every rule a decaying state value is set to 0 once it falls below the smallest
        // normal float32 (1.2e-38, `no_subnormal`): the moments of a weight that no longer gets
        // a gradient (an input pixel that is almost always 0, a dead ReLU) would otherwise decay
        // into subnormal numbers, or stay there (`m - 0.1 m` rounds back to `m` for the
        // smallest ones), and their arithmetic takes microcode assists: 28x slower per value
        // measured for Adam, 8x slower steps after 700 steps of a ReLU MLP with PyTorch's rules.
        // Such a value moves its parameter by less than 1e-30, far below one float32 step of
        // it, so the parameters come out the same (checked on the seed workload, bit for bit).
        match optimizer {
            Optimizer::Sgd { learning_rate: lr, momentum, nesterov } => {
                if momentum == 0.0 {
                    for (p, &g) in param.iter_mut().zip(grad) {
                        *p -= lr * g;
                        bad |= u32::from(!p.is_finite());
                    }
                } else {
                    for ((p, &g), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()) {
                        *v = no_subnormal(momentum * *v - lr * g);
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
                        *v = no_subnormal(rho * *v + (1.0 - rho) * g * g);
                        *p -= lr * g / (*v + epsilon).sqrt();
                        bad |= u32::from(!p.is_finite());
                    }
                } else {
                    for (((p, &g), v), m) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()) {
                        *v = no_subnormal(rho * *v + (1.0 - rho) * g * g);
                        *m = no_subnormal(momentum * *m + lr * g / (*v + epsilon).sqrt());
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
                let negligible = NegligibleSteps::new(alpha, epsilon);
                for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()) {
                    *m = no_subnormal(*m + (g - *m) * c1);
                    *v = no_subnormal(*v + (g * g - *v) * c2);
                    // A step from a subnormal `m alpha` is 0 where it cannot move the weight:
                    // the same bits without the assists (see `NegligibleSteps`).
                    *p -= negligible.moment(*m, *p) * alpha / (v.sqrt() + epsilon);
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
                let negligible = NegligibleSteps::new(lr, epsilon);
                for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()) {
                    *m = no_subnormal(*m + (g - *m) * c1);
                    *v = no_subnormal(*v + (g * g - *v) * c2);
                    let m_hat = c_m * *m + c_g * g;
                    *p -= lr * negligible.moment(m_hat, *p) / ((*v * v_scale).sqrt() + epsilon);
                    bad |= u32::from(!p.is_finite());
                }
            }
            // PyTorch's rules. Each line is one of PyTorch's tensor operations on float32,
            // in its order and association (`add(x, alpha=a)` is `self + a x`,
            // `addcmul(x, y, value=a)` is `self + a x y`, `addcdiv(x, y, value=a)` is
            // `self + a x / y`), with float64 scalars rounded to float32 where PyTorch hands
            // them to the operation. `-lr x` is added as `-= lr x`, which rounds the same.
            Optimizer::TorchSgd { lr, momentum, dampening, weight_decay, nesterov, maximize } => {
                let (lr, wd, sign) = (lr as f32, weight_decay as f32, if maximize { -1.0f32 } else { 1.0 });
                let (mu, keep) = (momentum as f32, (1.0 - dampening) as f32);
                if momentum == 0.0 {
                    for (p, &g) in param.iter_mut().zip(grad) {
                        let g = torch_grad(sign * g, *p, wd);
                        *p -= lr * g;
                        bad |= u32::from(!p.is_finite());
                    }
                } else {
                    // The buffer is the first gradient itself at a parameter's first step.
                    let first = t <= 1;
                    for ((p, &g), buf) in param.iter_mut().zip(grad).zip(s0.iter_mut()) {
                        let g = torch_grad(sign * g, *p, wd);
                        *buf = no_subnormal(if first { g } else { *buf * mu + keep * g });
                        let step = if nesterov { g + mu * *buf } else { *buf };
                        *p -= lr * step;
                        bad |= u32::from(!p.is_finite());
                    }
                }
            }
            Optimizer::TorchAdam { lr, betas: (beta1, beta2), eps, weight_decay, amsgrad, maximize, decoupled_weight_decay } => {
                let step = t as f64;
                let step_size = (lr / (1.0 - beta1.powf(step))) as f32;
                let root_bc2 = (1.0 - beta2.powf(step)).sqrt() as f32;
                let (w1, b2, c2, eps) = ((1.0 - beta1) as f32, beta2 as f32, (1.0 - beta2) as f32, eps as f32);
                let sign = if maximize { -1.0f32 } else { 1.0 };
                let negligible = NegligibleSteps::new(step_size, eps);
                // L2 in the gradient, or AdamW's decay of the parameter (1 where there is none).
                let (wd, decay) = match (decoupled_weight_decay, weight_decay != 0.0) {
                    (true, true) => (0.0, (1.0 - lr * weight_decay) as f32),
                    _ => (weight_decay as f32, 1.0),
                };
                if amsgrad {
                    for ((((p, &g), m), v), v_max) in
                        param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()).zip(s2.iter_mut())
                    {
                        *p *= decay;
                        let g = torch_grad(sign * g, *p, wd);
                        *m = no_subnormal(torch_lerp(*m, g, w1));
                        *v = no_subnormal(*v * b2 + c2 * g * g);
                        *v_max = torch_maximum(*v_max, *v);
                        *p -= step_size * negligible.moment(*m, *p) / (v_max.sqrt() / root_bc2 + eps);
                        bad |= u32::from(!p.is_finite());
                    }
                } else {
                    for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(s1.iter_mut()) {
                        *p *= decay;
                        let g = torch_grad(sign * g, *p, wd);
                        *m = no_subnormal(torch_lerp(*m, g, w1));
                        *v = no_subnormal(*v * b2 + c2 * g * g);
                        *p -= step_size * negligible.moment(*m, *p) / (v.sqrt() / root_bc2 + eps);
                        bad |= u32::from(!p.is_finite());
                    }
                }
            }
            Optimizer::TorchRmsProp { lr, alpha, eps, weight_decay, momentum, centered, maximize } => {
                let (lr, eps, wd, mu) = (lr as f32, eps as f32, weight_decay as f32, momentum as f32);
                let (a, c) = (alpha as f32, (1.0 - alpha) as f32);
                let sign = if maximize { -1.0f32 } else { 1.0 };
                // The buffers after `square_avg`: `momentum_buffer`, then `grad_avg`.
                let (bufs, gavgs): (&mut [f32], &mut [f32]) = match (momentum > 0.0, centered) {
                    (true, true) => (s1, s2),
                    (true, false) => (s1, &mut []),
                    (false, true) => (&mut [], s1),
                    (false, false) => (&mut [], &mut []),
                };
                match (momentum > 0.0, centered) {
                    (false, false) => {
                        for ((p, &g), v) in param.iter_mut().zip(grad).zip(s0.iter_mut()) {
                            let g = torch_grad(sign * g, *p, wd);
                            *v = no_subnormal(*v * a + c * g * g);
                            *p -= lr * g / (v.sqrt() + eps);
                            bad |= u32::from(!p.is_finite());
                        }
                    }
                    (true, false) => {
                        for (((p, &g), v), buf) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(bufs.iter_mut()) {
                            let g = torch_grad(sign * g, *p, wd);
                            *v = no_subnormal(*v * a + c * g * g);
                            *buf = no_subnormal(*buf * mu + g / (v.sqrt() + eps));
                            *p -= lr * *buf;
                            bad |= u32::from(!p.is_finite());
                        }
                    }
                    (false, true) => {
                        for (((p, &g), v), gavg) in param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(gavgs.iter_mut()) {
                            let g = torch_grad(sign * g, *p, wd);
                            *v = no_subnormal(*v * a + c * g * g);
                            *gavg = no_subnormal(torch_lerp(*gavg, g, c));
                            *p -= lr * g / ((*v - *gavg * *gavg).sqrt() + eps);
                            bad |= u32::from(!p.is_finite());
                        }
                    }
                    (true, true) => {
                        for ((((p, &g), v), buf), gavg) in
                            param.iter_mut().zip(grad).zip(s0.iter_mut()).zip(bufs.iter_mut()).zip(gavgs.iter_mut())
                        {
                            let g = torch_grad(sign * g, *p, wd);
                            *v = no_subnormal(*v * a + c * g * g);
                            *gavg = no_subnormal(torch_lerp(*gavg, g, c));
                            *buf = no_subnormal(*buf * mu + g / ((*v - *gavg * *gavg).sqrt() + eps));
                            *p -= lr * *buf;
                            bad |= u32::from(!p.is_finite());
                        }
                    }
                }
            }
            Optimizer::TorchAdagrad { lr, lr_decay, weight_decay, eps, maximize, .. } => {
                let clr = (lr / (1.0 + (t as f64 - 1.0) * lr_decay)) as f32;
                let (wd, eps, sign) = (weight_decay as f32, eps as f32, if maximize { -1.0f32 } else { 1.0 });
                for ((p, &g), sum) in param.iter_mut().zip(grad).zip(s0.iter_mut()) {
                    let g = torch_grad(sign * g, *p, wd);
                    *sum += g * g;
                    *p -= clr * g / (sum.sqrt() + eps);
                    bad |= u32::from(!p.is_finite());
                }
            }
        }
        bad == 0
    }
}

/// PyTorch's `grad.add(param, alpha=weight_decay)`, which it only does for a weight decay
/// other than 0 (`0 * param` would turn an infinite parameter's gradient into a NaN).
#[inline(always)]
fn torch_grad(g: f32, p: f32, weight_decay: f32) -> f32 {
    if weight_decay != 0.0 {
        g + weight_decay * p
    } else {
        g
    }
}

/// PyTorch's `lerp(start, end, weight)` on a CPU: from the nearer end, so that a weight of 1
/// gives `end` exactly.
#[inline(always)]
fn torch_lerp(start: f32, end: f32, weight: f32) -> f32 {
    if weight.abs() < 0.5 {
        start + weight * (end - start)
    } else {
        end - (end - start) * (1.0 - weight)
    }
}

/// For the Adam rules' `p -= alpha m / d` with `d >= eps` (Keras' Adam and Nadam, PyTorch's
/// Adam and AdamW): bounds such that where `|m| < tiny_m` and `|p| >= safe_p` the step is
/// below a quarter of `p`'s unit in the last place, so that `p` comes out the same with the
/// step taken as 0. Those are the steps whose `alpha m` falls below the smallest normal float,
/// and multiplying into or dividing such a subnormal number takes a microcode assist: on the
/// seed model about 55 weights a step and thread (a pixel's moment on its way down to 0),
/// 2,000 cycles of Adam's 29,000 (BENCHMARKS.md, issue 25).
#[derive(Clone, Copy)]
struct NegligibleSteps {
    tiny_m: f32,
    safe_p: f32,
}

impl NegligibleSteps {
    /// The bounds for one step's `alpha` and `eps`; none (`tiny_m` 0, `safe_p` infinite)
    /// without a positive finite `eps`.
    fn new(alpha: f32, epsilon: f32) -> NegligibleSteps {
        let never = NegligibleSteps { tiny_m: 0.0, safe_p: f32::INFINITY };
        #[cfg(test)]
        if tests::NO_SKIP.with(|c| c.get()) {
            return never;
        }
        let alpha = f64::from(alpha).abs();
        if !(epsilon > 0.0 && epsilon.is_finite() && alpha.is_finite() && alpha > 0.0) {
            return never;
        }
        let min = f64::from(f32::MIN_POSITIVE);
        // |m| < tiny_m makes |m alpha| below the smallest normal float (rounded down to a
        // float).
        let mut tiny_m = (min / alpha) as f32;
        if f64::from(tiny_m) * alpha > min {
            tiny_m = tiny_m.next_down();
        }
        // Then the rounded |m alpha| is at most that smallest normal float, and the step, that
        // divided by d >= eps and rounded, at most `step` (a relative margin of 2^-20 for the
        // rounding, and one subnormal unit for a quotient below the normal range).
        let step = min / f64::from(epsilon) * (1.0 + 2f64.powi(-20)) + 2f64.powi(-149);
        // |p| >= 2^e has a unit in the last place of at least 2^(e - 23) (2^-149 below the
        // normal range); a quarter of it, 2^(e - 25), exceeds `step`.
        let e = (step.log2().floor() as i32 + 26).max(-149);
        let safe_p = if e > 127 { f32::INFINITY } else { 2f64.powi(e) as f32 };
        NegligibleSteps { tiny_m, safe_p }
    }

    /// The moment to step the weight `p` with: 0 where the step from `m` is negligible, else
    /// `m` (a compare and a select that vectorise).
    #[inline(always)]
    fn moment(self, m: f32, p: f32) -> f32 {
        if m.abs() < self.tiny_m && p.abs() >= self.safe_p {
            0.0
        } else {
            m
        }
    }
}

/// 0 for a value below the smallest normal float32 (a subnormal), else the value: a compare
/// and a select that vectorise (see the PyTorch rules in `apply_update`).
#[inline(always)]
fn no_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// `torch.maximum`: a NaN wins.
#[inline(always)]
fn torch_maximum(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
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
    use super::{nadam_schedule, no_subnormal, NegligibleSteps, Optimizer};
    use std::cell::Cell;

    thread_local! {
        /// Turns `NegligibleSteps` off on this thread, to compare with the steps computed.
        pub(super) static NO_SKIP: Cell<bool> = const { Cell::new(false) };
    }

    /// Every Adam rule gives the same bits with its negligible steps taken as 0 as with them
    /// computed: Keras' Adam and Nadam, PyTorch's Adam with and without AMSGrad, L2, AdamW's
    /// decay and `maximize`, over learning rates, epsilons and step numbers, for moments from
    /// the smallest normal float up by powers of two (with the gradient equal to the moment
    /// or 0) against weights from 2^-100 up, 0 and a subnormal weight. Also checks that the
    /// steps the bound covers include nonzero ones.
    #[test]
    fn every_adam_rule_gives_the_same_bits_with_its_negligible_steps_skipped() {
        let mut covered = 0usize;
        for lr in [1e-6f64, 1e-3, 0.1, 10.0] {
            for eps in [1e-12f64, 1e-8, 1e-7, 1e-3, 1.0] {
                let rules = [
                    Optimizer::Adam { learning_rate: lr as f32, beta1: 0.9, beta2: 0.999, epsilon: eps as f32 },
                    Optimizer::Nadam { learning_rate: lr as f32, beta1: 0.9, beta2: 0.999, epsilon: eps as f32 },
                    Optimizer::TorchAdam {
                        lr,
                        betas: (0.9, 0.999),
                        eps,
                        weight_decay: 0.0,
                        amsgrad: false,
                        maximize: false,
                        decoupled_weight_decay: false,
                    },
                    Optimizer::TorchAdam {
                        lr,
                        betas: (0.9, 0.999),
                        eps,
                        weight_decay: 0.01,
                        amsgrad: true,
                        maximize: true,
                        decoupled_weight_decay: false,
                    },
                    Optimizer::TorchAdam {
                        lr,
                        betas: (0.8, 0.99),
                        eps,
                        weight_decay: 0.01,
                        amsgrad: false,
                        maximize: false,
                        decoupled_weight_decay: true,
                    },
                ];
                for rule in rules {
                    for t in [1u64, 7, 1000] {
                        let (mut p, mut g, mut m) = (Vec::new(), Vec::new(), Vec::new());
                        for i in 0..100 {
                            let moment = f32::MIN_POSITIVE * 2f32.powi(i);
                            for j in (-100..=0).step_by(3) {
                                for sign in [1.0f32, -1.0] {
                                    let weight = 2f32.powi(j) * if j % 2 == 0 { 1.0 } else { 1.0f32.next_down() };
                                    p.push(sign * weight);
                                    m.push(-sign * moment);
                                    g.push(if i % 3 == 0 { 0.0 } else { -sign * moment });
                                }
                            }
                        }
                        p.extend([0.0, -0.0, 1e-40, f32::MIN_POSITIVE]);
                        m.extend([f32::MIN_POSITIVE * 4.0; 4]);
                        g.extend([0.0; 4]);
                        let n = p.len();
                        let run = |skip: bool| {
                            let (mut p, mut s0, mut s1, mut s2) =
                                (p.clone(), m.clone(), vec![0.0f32; n], vec![0.0f32; n]);
                            let slots = rule.slots();
                            NO_SKIP.with(|c| c.set(!skip));
                            let ok = rule.apply(
                                t,
                                &mut p,
                                &g,
                                &mut s0,
                                if slots > 1 { &mut s1 } else { &mut [] },
                                if slots > 2 { &mut s2 } else { &mut [] },
                            );
                            NO_SKIP.with(|c| c.set(false));
                            assert!(ok.unwrap(), "{rule:?}");
                            (p, s0, s1, s2)
                        };
                        let (with, without) = (run(true), run(false));
                        for i in 0..n {
                            assert_eq!(
                                with.0[i].to_bits(),
                                without.0[i].to_bits(),
                                "{rule:?}, step {t}: p {} m {} g {}: {} against {}",
                                p[i],
                                m[i],
                                g[i],
                                with.0[i],
                                without.0[i]
                            );
                            assert_eq!(with.1[i].to_bits(), without.1[i].to_bits());
                            assert_eq!(with.2[i].to_bits(), without.2[i].to_bits());
                            assert_eq!(with.3[i].to_bits(), without.3[i].to_bits());
                        }
                        // How many steps of plain PyTorch Adam (the gradient as given, no
                        // decay) the bound covers where the step computed is not 0: where
                        // `g = m` the moment stays `m` and `v` stays 0, so the step is
                        // `step_size m / eps`.
                        if let Optimizer::TorchAdam { lr, betas, eps, weight_decay: 0.0, maximize: false, .. } = rule {
                            let step_size = (lr / (1.0 - betas.0.powf(t as f64))) as f32;
                            let bounds = NegligibleSteps::new(step_size, eps as f32);
                            covered += (0..n)
                                .filter(|&i| {
                                    g[i] == m[i]
                                        && bounds.moment(m[i], p[i]) == 0.0
                                        && step_size * m[i] / eps as f32 != 0.0
                                })
                                .count();
                        }
                    }
                }
            }
        }
        assert!(covered > 1_000, "only {covered} steps under the bound");
    }

    /// Adam takes a step as 0 only where the weight comes out the same as with the step
    /// computed: every weight's bits against the plain formula, for moments just below, well
    /// below and above the bound, weights at, just below and above the safe size and tiny
    /// ones, the largest steps (`v = 0`, so the divisor is `eps` itself), over learning rates,
    /// epsilons and step numbers. It also checks that the skip happens, and where the plain
    /// step is not 0.
    #[test]
    fn adam_takes_a_step_as_zero_only_where_the_weight_is_the_same() {
        let mut rng = crate::Rng::new(3);
        let (mut skipped, mut skipped_nonzero) = (0usize, 0usize);
        for lr in [1e-6f32, 1e-3, 0.1, 10.0] {
            for epsilon in [1e-12f32, 1e-8, 1e-7, 1e-3, 1.0, 100.0] {
                for t in [1u64, 10, 1000] {
                    let (beta1, beta2) = (0.9f32, 0.999f32);
                    let optimizer = Optimizer::Adam { learning_rate: lr, beta1, beta2, epsilon };
                    let b1t = (beta1 as f64).powf(t as f64);
                    let b2t = (beta2 as f64).powf(t as f64);
                    let alpha = (lr as f64 * (1.0 - b2t).sqrt() / (1.0 - b1t)) as f32;
                    let NegligibleSteps { tiny_m, safe_p } = NegligibleSteps::new(alpha, epsilon);
                    let (mut p, mut g, mut v) = (Vec::new(), Vec::new(), Vec::new());
                    let scales_m = [1.0f32.next_down(), 1.0, 0.999, 0.5, 1e-3, 1e-20];
                    let scales_p = [1.0f32, 1.0f32.next_up(), 1.0f32.next_down(), 2.0, 0.5, 3.0e10, 1e-20];
                    for &sm in &scales_m {
                        for &sp in &scales_p {
                            for sign in [1.0f32, -1.0] {
                                for _ in 0..4 {
                                    let jitter = 1.0 + 0.5 * rng.next_f32();
                                    let m =
                                        (tiny_m * sm * if sm < 0.999 { jitter } else { 1.0 }).max(f32::MIN_POSITIVE);
                                    // g = m keeps m; g * g is far below the normal range, so v stays 0.
                                    g.push(sign * m);
                                    p.push(-sign * (safe_p * sp * if sp > 3.0 { jitter } else { 1.0 }));
                                    v.push(if rng.next_f32() < 0.25 { rng.next_f32() * 1e-6 } else { 0.0 });
                                }
                            }
                        }
                    }
                    p.extend([0.0, -0.0, f32::MIN_POSITIVE, 1e-40]);
                    g.extend([tiny_m * 0.5, -tiny_m * 0.5, tiny_m * 0.5, tiny_m * 0.5]);
                    v.extend([0.0; 4]);
                    let mut m = g.clone();
                    let mut got = p.clone();
                    let (mut s0, mut s1) = (m.clone(), v.clone());
                    assert!(optimizer.apply(t, &mut got, &g, &mut s0, &mut s1, &mut []).unwrap());
                    let (c1, c2) = (1.0 - beta1, 1.0 - beta2);
                    for i in 0..p.len() {
                        m[i] = no_subnormal(m[i] + (g[i] - m[i]) * c1);
                        let vi = no_subnormal(v[i] + (g[i] * g[i] - v[i]) * c2);
                        let step = m[i] * alpha / (vi.sqrt() + epsilon);
                        let want = p[i] - step;
                        assert_eq!(
                            got[i].to_bits(),
                            want.to_bits(),
                            "lr {lr}, eps {epsilon}, step {t}: p {} m {} v {vi}: {} against {want} (bounds {tiny_m}, {safe_p})",
                            p[i],
                            m[i],
                            got[i]
                        );
                        assert_eq!((s0[i].to_bits(), s1[i].to_bits()), (m[i].to_bits(), vi.to_bits()));
                        if m[i].abs() < tiny_m && p[i].abs() >= safe_p {
                            skipped += 1;
                            skipped_nonzero += usize::from(step != 0.0);
                        }
                    }
                }
            }
        }
        assert!(skipped > 5_000 && skipped_nonzero > 4_000, "{skipped} steps skipped, {skipped_nonzero} not 0");
    }

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

    /// The state buffers as three slices (empty where the algorithm keeps fewer), for a
    /// caller that splits them into ranges.
    pub(crate) fn slots_mut(&mut self) -> (&mut [f32], &mut [f32], &mut [f32]) {
        match self.slots.as_mut_slice() {
            [] => (&mut [], &mut [], &mut []),
            [a] => (a.as_mut_slice(), &mut [], &mut []),
            [a, b] => (a.as_mut_slice(), b.as_mut_slice(), &mut []),
            [a, b, c, ..] => (a.as_mut_slice(), b.as_mut_slice(), c.as_mut_slice()),
        }
    }

    /// Sets the learning rate, keeping the state (what a learning-rate schedule does between
    /// steps). The next update rejects a rate [`Optimizer::validate`] rejects.
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.optimizer = self.optimizer.learning_rate(lr);
    }

    /// Updates parameter number `index` in place from its gradient, at the step number
    /// [`OptimizerState::step_number`].
    pub fn update(&mut self, index: usize, param: &mut [f32], grad: &[f32]) -> Result<()> {
        self.update_at(index, self.step_number(), param, grad)
    }

    /// [`OptimizerState::update`] at step number `t` (from 1): the parameter's own count,
    /// for PyTorch's rules.
    pub(crate) fn update_at(&mut self, index: usize, t: u64, param: &mut [f32], grad: &[f32]) -> Result<()> {
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
        let optimizer = self.optimizer;
        let (s0, s1, s2) = self.slots_mut();
        let part = |s: &mut [f32]| -> std::ops::Range<usize> {
            if s.is_empty() {
                0..0
            } else {
                start..start + size
            }
        };
        let (r0, r1, r2) = (part(s0), part(s1), part(s2));
        optimizer.apply(t, param, grad, &mut s0[r0], &mut s1[r1], &mut s2[r2])?;
        Ok(())
    }
}

/// PyTorch's `torch.optim` object: an optimiser over a list of autograd parameters.
/// `step()` applies each parameter's accumulated `.grad()`; `zero_grad()` clears them.
///
/// A parameter whose `.grad()` is `None` is left alone, its state untouched, as PyTorch does.
/// Step counts: a Keras rule ([`Optimizer::Adam`], ...) counts the optimiser's steps, as
/// Keras' `iterations` does; a PyTorch rule ([`Optimizer::TorchAdam`], ...) counts each
/// parameter's own updates, as PyTorch's `state[p]["step"]` does, so that a parameter first
/// given a gradient at the fifth `step()` starts Adam's bias correction (and SGD's momentum
/// buffer) there. When every parameter has a gradient at every step the two agree.
///
/// ```
/// use neurite::{autograd::Var, optim::{Optim, Optimizer}, Tensor};
/// let (a, b) = (Var::parameter(Tensor::scalar(1.0)), Var::parameter(Tensor::scalar(1.0)));
/// let mut opt = Optim::new(Optimizer::torch_sgd().learning_rate(0.5), vec![a.clone(), b.clone()])?;
/// a.mul_scalar(2.0)?.backward()?; // only `a` has a gradient (2)
/// opt.step()?;
/// assert_eq!((a.value().item()?, b.value().item()?), (0.0, 1.0));
/// assert_eq!(opt.step_counts(), [1, 0]);
/// opt.set_learning_rate(0.25); // a scheduler's change, kept by later steps
/// assert_eq!(opt.learning_rate(), 0.25);
/// # Ok::<(), neurite::Error>(())
/// ```
pub struct Optim {
    state: OptimizerState,
    params: Vec<Var>,
    /// How many updates each parameter has had.
    steps: Vec<u64>,
}

impl Optim {
    /// An optimiser for `params` (a model's `parameters()`).
    pub fn new(optimizer: Optimizer, params: Vec<Var>) -> Result<Optim> {
        let names = params.iter().enumerate().map(|(i, p)| (i.to_string(), p.shape())).collect();
        let steps = vec![0; params.len()];
        Ok(Optim { state: OptimizerState::for_params(optimizer, names)?, params, steps })
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        self.state.begin_step();
        let per_parameter = self.state.optimizer().is_torch();
        for (i, p) in self.params.iter().enumerate() {
            let Some(grad) = p.grad() else { continue };
            let grad = grad.contiguous();
            let count = self.steps[i] + 1;
            let t = if per_parameter { count } else { self.state.step_number() };
            let state = &mut self.state;
            p.update_in_place(|value| state.update_at(i, t, value, grad.as_slice().unwrap_or(&[])))??;
            self.steps[i] = count;
        }
        Ok(())
    }

    /// The learning rate (PyTorch's `param_groups[0]["lr"]`).
    pub fn learning_rate(&self) -> f32 {
        self.state.optimizer().lr()
    }

    /// Sets the learning rate for the next steps, keeping the state (a scheduler's change of
    /// `param_groups[0]["lr"]`). A rate the optimiser rejects (negative, not finite) makes the
    /// next [`Optim::step`] fail, naming it. A PyTorch rule keeps the float64 of this float32
    /// (0.001 becomes 0.0010000000475), so a step then differs from PyTorch's by that
    /// rounding of the rate, 3e-8 relative at most.
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.state.set_learning_rate(lr);
    }

    /// How many updates each parameter has had (in the order of `params`): PyTorch's
    /// `state[p]["step"]`. A parameter skipped for having no gradient is not counted.
    pub fn step_counts(&self) -> &[u64] {
        &self.steps
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
