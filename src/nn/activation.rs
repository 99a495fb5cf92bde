//! The activation functions of the notes, each with its derivative, on tensors, on
//! autograd variables and on the fast path's row buffers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::autograd::Var;
use crate::error::{Error, Result};
use crate::kernels::{activation as k, softmax};
use crate::tensor::Tensor;

/// An activation function `h` in `y = h(w.x + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Activation {
    /// `x` (Keras calls it `linear`): regression outputs.
    Identity,
    /// 1 where `x > 0`, else 0: the perceptron.
    Step,
    /// `1 / (1 + e^-x)`: binary outputs, the notes' hidden layer.
    Sigmoid,
    /// `tanh(x)`: zero-centred sigmoid.
    Tanh,
    /// `max(0, x)`.
    Relu,
    /// `x` above 0, `alpha x` below (default alpha 0.01).
    LeakyRelu {
        /// Slope below zero.
        alpha: f32,
    },
    /// `x` above 0, `alpha (e^x - 1)` below (default alpha 1).
    Elu {
        /// Scale below zero.
        alpha: f32,
    },
    /// `e^x_i / sum_j e^x_j` over the last axis, stable: multi-class outputs.
    Softmax,
}

impl Activation {
    /// Leaky ReLU with the default slope 0.01.
    pub const LEAKY_RELU: Activation = Activation::LeakyRelu { alpha: 0.01 };
    /// ELU with the default alpha 1.
    pub const ELU: Activation = Activation::Elu { alpha: 1.0 };

    /// The Keras name (`linear`, `sigmoid`, `relu`, `leaky_relu`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "linear",
            Activation::Step => "step",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Softmax => "softmax",
        }
    }

    /// `h(x)` element-wise (softmax: over the last axis).
    ///
    /// ```
    /// use neurite::{nn::Activation, Tensor};
    /// let y = Activation::Sigmoid.forward(&Tensor::vector(&[-1.0, 1.0, 2.0]))?;
    /// assert!(y.allclose(&Tensor::vector(&[0.26894142, 0.73105858, 0.88079708]), 1e-6, 0.0));
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match *self {
            Activation::Identity => x.clone(),
            Activation::Step => x.step(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu { alpha } => x.leaky_relu(alpha),
            Activation::Elu { alpha } => x.elu(alpha),
            Activation::Softmax => {
                if x.ndim() == 0 {
                    return Err(Error::Shape("softmax: needs at least one dimension".into()));
                }
                x.softmax(-1)?
            }
        })
    }

    /// `h'(x)` element-wise. Softmax has a Jacobian, not an element-wise derivative, so it is
    /// an error here: see [`Activation::jacobian`].
    pub fn derivative(&self, x: &Tensor) -> Result<Tensor> {
        if *self == Activation::Identity {
            return Ok(Tensor::ones(x.shape()));
        }
        if *self == Activation::Softmax {
            return Err(Error::Value(
                "softmax's derivative is a Jacobian, not element-wise: use Activation::jacobian".into(),
            ));
        }
        let y = self.forward(x)?;
        let mut g = vec![1.0; x.size()];
        self.backward_rows(y.as_slice().unwrap_or(&[]), &mut g, x.shape().last().copied().unwrap_or(1));
        Tensor::from_vec(g, x.shape())
    }

    /// The Jacobian `dh(x)/dx` of each row (the last axis): for `x` of shape `(..., n)` a
    /// tensor of shape `(..., n, n)` whose entry `[.., i, j]` is `dy_i/dx_j`. Diagonal for the
    /// element-wise activations; `diag(y) - y y^T` for softmax, whose rows therefore sum to 0.
    ///
    /// ```
    /// use neurite::{nn::Activation, Tensor};
    /// let j = Activation::Softmax.jacobian(&Tensor::vector(&[0.0, 0.0]))?;
    /// assert_eq!(j.shape(), &[2, 2]);
    /// assert_eq!(j.to_vec(), vec![0.25, -0.25, -0.25, 0.25]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn jacobian(&self, x: &Tensor) -> Result<Tensor> {
        let n = *x.shape().last().ok_or_else(|| {
            Error::Shape(format!("{}: the Jacobian needs at least one axis, got a 0-d tensor", self.name()))
        })?;
        let mut shape = x.shape().to_vec();
        shape.push(n);
        let rows = x.size().checked_div(n).unwrap_or(0);
        let mut out = vec![0.0f32; rows * n * n];
        if *self == Activation::Softmax {
            let y = self.forward(x)?.to_vec();
            for (yr, jr) in y.chunks_exact(n).zip(out.chunks_exact_mut(n * n)) {
                for i in 0..n {
                    for j in 0..n {
                        jr[i * n + j] = if i == j { yr[i] * (1.0 - yr[i]) } else { -yr[i] * yr[j] };
                    }
                }
            }
        } else {
            let d = self.derivative(x)?.to_vec();
            for (dr, jr) in d.chunks_exact(n).zip(out.chunks_exact_mut(n * n)) {
                for i in 0..n {
                    jr[i * n + i] = dr[i];
                }
            }
        }
        Tensor::from_vec(out, &shape)
    }

    /// `h(x)` on an autograd variable.
    pub fn apply(&self, x: &Var) -> Result<Var> {
        match *self {
            Activation::Identity => Ok(x.clone()),
            Activation::Step => x.step(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu { alpha } => x.leaky_relu(alpha),
            Activation::Elu { alpha } => x.elu(alpha),
            Activation::Softmax => x.softmax(-1),
        }
    }

    /// Fast path: `h` in place on a row-major buffer with `cols` columns.
    pub fn forward_rows(&self, x: &mut [f32], cols: usize) {
        match *self {
            Activation::Identity => {}
            Activation::Step => k::step(x),
            Activation::Sigmoid => k::sigmoid(x),
            Activation::Tanh => k::tanh(x),
            Activation::Relu => k::relu(x),
            Activation::LeakyRelu { alpha } => k::leaky_relu(x, alpha),
            Activation::Elu { alpha } => k::elu(x, alpha),
            Activation::Softmax => softmax::softmax_rows(x, cols),
        }
    }

    /// Fast path: turns `g = dL/dy` into `dL/dx` in place, given the output `y`.
    pub fn backward_rows(&self, y: &[f32], g: &mut [f32], cols: usize) {
        match *self {
            Activation::Identity => {}
            Activation::Step => k::step_grad(y, g),
            Activation::Sigmoid => k::sigmoid_grad(y, g),
            Activation::Tanh => k::tanh_grad(y, g),
            Activation::Relu => k::relu_grad(y, g),
            Activation::LeakyRelu { alpha } => k::leaky_relu_grad(y, g, alpha),
            Activation::Elu { alpha } => k::elu_grad(y, g, alpha),
            Activation::Softmax => softmax::softmax_grad(y, g, cols),
        }
    }

    /// Checks the parameters (alpha >= 0 for leaky ReLU, > 0 for ELU).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Activation::LeakyRelu { alpha } if alpha.is_nan() || alpha < 0.0 => {
                Err(Error::Value(format!("leaky_relu: alpha must be >= 0, got {alpha}")))
            }
            Activation::Elu { alpha } if alpha.is_nan() || alpha <= 0.0 => {
                Err(Error::Value(format!("elu: alpha must be > 0, got {alpha}")))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::LeakyRelu { alpha } if *alpha != 0.01 => write!(f, "leaky_relu({alpha})"),
            Activation::Elu { alpha } if *alpha != 1.0 => write!(f, "elu({alpha})"),
            a => f.write_str(a.name()),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    /// Parses Keras names: `linear`/`identity`, `step`, `sigmoid`, `tanh`, `relu`,
    /// `leaky_relu` (or `leaky_relu(0.2)`), `elu` (or `elu(0.5)`), `softmax`.
    fn from_str(s: &str) -> Result<Activation> {
        let s = s.trim().to_ascii_lowercase();
        let (name, arg) = match s.split_once('(') {
            Some((n, rest)) => {
                let v = rest.trim_end_matches(')').trim();
                let alpha =
                    v.parse::<f32>().map_err(|_| Error::Value(format!("activation {s:?}: {v:?} is not a number")))?;
                (n.trim().to_string(), Some(alpha))
            }
            None => (s.clone(), None),
        };
        let a = match name.as_str() {
            "linear" | "identity" | "none" => Activation::Identity,
            "step" | "heaviside" => Activation::Step,
            "sigmoid" | "logistic" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky_relu" | "leakyrelu" | "leaky-relu" => Activation::LeakyRelu { alpha: arg.unwrap_or(0.01) },
            "elu" => Activation::Elu { alpha: arg.unwrap_or(1.0) },
            "softmax" => Activation::Softmax,
            _ => {
                return Err(Error::Value(format!(
                "unknown activation {s:?}: expected one of linear, step, sigmoid, tanh, relu, leaky_relu, elu, softmax"
            )))
            }
        };
        a.validate()?;
        Ok(a)
    }
}
