//! The activation functions, each defined once: its name, its value and its derivative,
//! side by side, on slices. Tensors, autograd and the training engine all run these
//! definitions, so they cannot disagree.
//!
//! Adding an activation means adding one variant to [`Activation`], one entry to
//! [`Activation::ALL`] and one arm to `Activation::definition`, here in this file: an
//! element-wise one gives a type implementing `Pointwise` (its value, and its value with
//! its derivative), and nothing else in the library changes.
//!
//! The derivatives are taken from the input `x`, not from the output `y`: `1 - y^2` for
//! tanh or `y (1 - y)` for sigmoid lose every digit where `y` rounds to 1 (a float32
//! `tanh(10)` is exactly 1, its derivative 8.2e-9 is not 0), and ELU's `y + alpha`
//! cancels below about -6. Training keeps the derivative computed in the forward pass,
//! which shares its exponential with the value, so the accuracy costs no extra work.
//!
//! The loops are compiled for several instruction sets and picked at run time
//! ([`simd_kernel!`](crate::simd_kernel)), and `exp` and `expm1` are written without library
//! calls ([`super::exp`], shared with softmax), so the loops vectorise in a portable binary.

use std::fmt;
use std::str::FromStr;

use crate::simd_kernel;
use serde::{Deserialize, Serialize};

pub use super::exp::{exp, exp_and_expm1, expm1};
use super::softmax;
use crate::error::{Error, Result};

/// An element-wise activation: its value and its derivative, written side by side.
/// `p` is the activation's parameter (alpha), unused by those without one.
trait Pointwise {
    /// `h(x)`.
    fn value(x: f32, p: f32) -> f32;
    /// `(h(x), h'(x))`, sharing what the two have in common.
    fn value_and_derivative(x: f32, p: f32) -> (f32, f32);
    /// Which parameter values are allowed (an error message otherwise).
    fn check(_p: f32) -> std::result::Result<(), &'static str> {
        Ok(())
    }
}

/// Heaviside step: 1 where `x > 0`, else 0 (the perceptron's). Its derivative is 0
/// wherever it exists.
struct StepFn;
impl Pointwise for StepFn {
    #[inline(always)]
    fn value(x: f32, _: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else {
            0.0
        }
    }
    #[inline(always)]
    fn value_and_derivative(x: f32, p: f32) -> (f32, f32) {
        (Self::value(x, p), 0.0)
    }
}

/// `1 / (1 + e^-x)`, as `e^x / (1 + e^x)` for negative `x` so that neither side overflows;
/// `h' = e^-|x| / (1 + e^-|x|)^2`, exact at both tails where `y (1 - y)` is not.
struct SigmoidFn;
impl Pointwise for SigmoidFn {
    #[inline(always)]
    fn value(x: f32, p: f32) -> f32 {
        Self::value_and_derivative(x, p).0
    }
    #[inline(always)]
    fn value_and_derivative(x: f32, _: f32) -> (f32, f32) {
        let e = exp(-x.abs());
        let s = 1.0 / (1.0 + e);
        (if x >= 0.0 { s } else { e * s }, e * s * s)
    }
}

/// `tanh x = -u / (2 + u)` with `u = e^(-2|x|) - 1` (sign restored), which keeps every digit
/// near 0; `h' = 4 e^(-2|x|) / (1 + e^(-2|x|))^2`, exact at both tails.
struct TanhFn;
impl Pointwise for TanhFn {
    #[inline(always)]
    fn value(x: f32, p: f32) -> f32 {
        Self::value_and_derivative(x, p).0
    }
    #[inline(always)]
    fn value_and_derivative(x: f32, _: f32) -> (f32, f32) {
        let (e, u) = exp_and_expm1(-2.0 * x.abs());
        let t = -u / (2.0 + u);
        let one_plus_e = 1.0 + e;
        (t.copysign(x), 4.0 * e / (one_plus_e * one_plus_e))
    }
}

/// `max(0, x)`, NaN kept as NaN; `h' = 1` for `x > 0`, else 0 (PyTorch's choice at 0).
struct ReluFn;
impl Pointwise for ReluFn {
    #[inline(always)]
    fn value(x: f32, _: f32) -> f32 {
        if x <= 0.0 {
            0.0
        } else {
            x
        }
    }
    #[inline(always)]
    fn value_and_derivative(x: f32, p: f32) -> (f32, f32) {
        (Self::value(x, p), if x > 0.0 { 1.0 } else { 0.0 })
    }
}

/// `x` for `x > 0`, else `alpha x` (alpha >= 0).
struct LeakyReluFn;
impl Pointwise for LeakyReluFn {
    #[inline(always)]
    fn value(x: f32, alpha: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            alpha * x
        }
    }
    #[inline(always)]
    fn value_and_derivative(x: f32, alpha: f32) -> (f32, f32) {
        if x > 0.0 {
            (x, 1.0)
        } else {
            (alpha * x, alpha)
        }
    }
    fn check(alpha: f32) -> std::result::Result<(), &'static str> {
        if alpha.is_finite() && alpha >= 0.0 {
            Ok(())
        } else {
            Err("alpha must be a number >= 0")
        }
    }
}

/// `x` for `x > 0`, else `alpha (e^x - 1)` through `expm1` (alpha > 0); `h' = alpha e^x`
/// below 0, from the input (the output's `y + alpha` cancels below about -6).
struct EluFn;
impl Pointwise for EluFn {
    #[inline(always)]
    fn value(x: f32, alpha: f32) -> f32 {
        Self::value_and_derivative(x, alpha).0
    }
    #[inline(always)]
    fn value_and_derivative(x: f32, alpha: f32) -> (f32, f32) {
        // Not `x.min(0.0)`: that turns NaN into 0 and would hide a diverged layer.
        let (e, m) = exp_and_expm1(if x > 0.0 { 0.0 } else { x });
        if x > 0.0 {
            (x, 1.0)
        } else {
            (alpha * m, alpha * e)
        }
    }
    fn check(alpha: f32) -> std::result::Result<(), &'static str> {
        if alpha.is_finite() && alpha > 0.0 {
            Ok(())
        } else {
            Err("alpha must be a number > 0")
        }
    }
}

/// `ln(1 + e^x)`, as `max(x, 0) + ln(1 + e^-|x|)` so that it neither overflows nor loses
/// the small values below 0; `h' = sigmoid(x)`.
struct SoftplusFn;
impl Pointwise for SoftplusFn {
    #[inline(always)]
    fn value(x: f32, p: f32) -> f32 {
        Self::value_and_derivative(x, p).0
    }
    #[inline(always)]
    fn value_and_derivative(x: f32, _: f32) -> (f32, f32) {
        let e = exp(-x.abs());
        let s = 1.0 / (1.0 + e);
        (x.max(0.0) + e.ln_1p(), if x >= 0.0 { s } else { e * s })
    }
}

simd_kernel! {
    fn map_values<F: Pointwise>(x: &mut [f32], p: f32) {
        for v in x {
            *v = F::value(*v, p);
        }
    }
}

simd_kernel! {
    fn map_values_and_derivatives<F: Pointwise>(x: &mut [f32], d: &mut [f32], p: f32) {
        for (v, dv) in x.iter_mut().zip(d.iter_mut()) {
            let (y, g) = F::value_and_derivative(*v, p);
            *v = y;
            *dv = g;
        }
    }
}

simd_kernel! {
    /// `g *= d`: the chain rule through an element-wise activation.
    fn mul_assign(g: &mut [f32], d: &[f32]) {
        for (g, &d) in g.iter_mut().zip(d) {
            *g *= d;
        }
    }
}

/// How an activation is computed.
#[derive(Clone, Copy)]
enum Kind {
    /// `y = x`: nothing to do either way.
    Identity,
    /// Element by element, with the kernels of one [`Pointwise`] type and its parameter.
    Pointwise {
        values: fn(&mut [f32], f32),
        values_and_derivatives: fn(&mut [f32], &mut [f32], f32),
        check: fn(f32) -> std::result::Result<(), &'static str>,
        param: f32,
    },
    /// Along each row; the backward pass needs the output.
    Softmax,
}

/// An activation's name, its kernels, and its parameter when it has one.
struct Definition {
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    param: Option<Param>,
}

/// An activation's parameter: its value, and how to make the activation with another value.
#[derive(Clone, Copy)]
struct Param {
    value: f32,
    make: fn(f32) -> Activation,
}

impl Definition {
    fn pointwise<F: Pointwise>(name: &'static str, aliases: &'static [&'static str]) -> Definition {
        Definition {
            name,
            aliases,
            kind: Kind::Pointwise {
                values: map_values::<F>,
                values_and_derivatives: map_values_and_derivatives::<F>,
                check: F::check,
                param: 0.0,
            },
            param: None,
        }
    }

    fn with_param(mut self, value: f32, make: fn(f32) -> Activation) -> Definition {
        if let Kind::Pointwise { param, .. } = &mut self.kind {
            *param = value;
        }
        self.param = Some(Param { value, make });
        self
    }
}

/// An activation function `h` in `y = h(w.x + b)`, with Keras' names.
///
/// ```
/// use neurite::{nn::Activation, Tensor};
/// let y = Activation::Sigmoid.forward(&Tensor::vector(&[-1.0, 1.0, 2.0]))?;
/// assert!(y.allclose(&Tensor::vector(&[0.26894142, 0.73105858, 0.88079708]), 1e-6, 0.0));
/// assert_eq!("leaky_relu(0.2)".parse::<Activation>()?, Activation::LeakyRelu { alpha: 0.2 });
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Activation {
    /// `x` (Keras calls it `linear`): regression outputs.
    #[serde(rename = "linear", alias = "identity")]
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
    /// `ln(1 + e^x)`: a smooth ReLU.
    Softplus,
    /// `e^x_i / sum_j e^x_j` over the last axis, stable: multi-class outputs.
    Softmax,
}

impl Activation {
    /// Leaky ReLU with the default slope 0.01.
    pub const LEAKY_RELU: Activation = Activation::LeakyRelu { alpha: 0.01 };
    /// ELU with the default alpha 1.
    pub const ELU: Activation = Activation::Elu { alpha: 1.0 };

    /// Every activation, with its default parameter.
    pub const ALL: [Activation; 9] = [
        Activation::Identity,
        Activation::Step,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LEAKY_RELU,
        Activation::ELU,
        Activation::Softplus,
        Activation::Softmax,
    ];

    /// The one place each activation is defined: its names and its kernels.
    fn definition(self) -> Definition {
        use Activation::*;
        match self {
            Identity => {
                Definition { name: "linear", aliases: &["identity", "none"], kind: Kind::Identity, param: None }
            }
            Step => Definition::pointwise::<StepFn>("step", &["heaviside"]),
            Sigmoid => Definition::pointwise::<SigmoidFn>("sigmoid", &["logistic"]),
            Tanh => Definition::pointwise::<TanhFn>("tanh", &[]),
            Relu => Definition::pointwise::<ReluFn>("relu", &[]),
            LeakyRelu { alpha } => Definition::pointwise::<LeakyReluFn>("leaky_relu", &["leakyrelu", "leaky-relu"])
                .with_param(alpha, |alpha| LeakyRelu { alpha }),
            Elu { alpha } => Definition::pointwise::<EluFn>("elu", &[]).with_param(alpha, |alpha| Elu { alpha }),
            Softplus => Definition::pointwise::<SoftplusFn>("softplus", &[]),
            Softmax => Definition { name: "softmax", aliases: &[], kind: Kind::Softmax, param: None },
        }
    }

    /// The Keras name (`linear`, `sigmoid`, `relu`, `leaky_relu`, ...).
    pub fn name(&self) -> &'static str {
        self.definition().name
    }

    /// Whether `h` works element by element (all but softmax), so that its derivative is a
    /// number per element rather than a Jacobian per row.
    pub fn is_elementwise(&self) -> bool {
        !matches!(self.definition().kind, Kind::Softmax)
    }

    /// Checks the parameter (alpha >= 0 for leaky ReLU, > 0 for ELU).
    pub fn validate(&self) -> Result<()> {
        match self.definition().kind {
            Kind::Pointwise { check, param, .. } => {
                check(param).map_err(|why| Error::Value(format!("{}: {why}, got {param}", self.name())))
            }
            _ => Ok(()),
        }
    }

    /// `h` in place on a row-major buffer with `cols` columns (softmax works along rows).
    pub(crate) fn forward_rows(&self, x: &mut [f32], cols: usize) {
        match self.definition().kind {
            Kind::Identity => {}
            Kind::Pointwise { values, param, .. } => values(x, param),
            Kind::Softmax => softmax::softmax_rows(x, cols),
        }
    }

    /// `h` in place, keeping what the backward pass needs in `d` (the same length as `x`):
    /// `h'(x)` for the element-wise activations; softmax and identity leave it untouched
    /// (their backward pass needs only the output).
    pub(crate) fn forward_rows_keeping_derivative(&self, x: &mut [f32], d: &mut [f32], cols: usize) {
        match self.definition().kind {
            Kind::Identity => {}
            Kind::Pointwise { values_and_derivatives, param, .. } => values_and_derivatives(x, d, param),
            Kind::Softmax => softmax::softmax_rows(x, cols),
        }
    }

    /// Whether the derivative can be read from the output alone, so that a layer need not
    /// keep it: ReLU's is `y > 0` (and the identity's is 1).
    pub(crate) fn derivative_from_output(&self) -> bool {
        matches!(self.definition().kind, Kind::Identity) || *self == Activation::Relu
    }

    /// Turns `g = dL/dy` into `dL/dx` in place from the output `y` alone, for an activation
    /// whose [`Activation::derivative_from_output`] is true (ReLU: `g` where `y > 0`, else 0).
    pub(crate) fn backward_from_output(&self, y: &[f32], g: &mut [f32]) {
        if *self == Activation::Relu {
            relu_mask(y, g);
        }
    }

    /// Turns `g = dL/dy` into `dL/dx` in place, from the output `y` and the `d` that
    /// [`Activation::forward_rows_keeping_derivative`] left.
    pub(crate) fn backward_rows(&self, y: &[f32], d: &[f32], g: &mut [f32], cols: usize) {
        match self.definition().kind {
            Kind::Identity => {}
            Kind::Pointwise { .. } => mul_assign(g, d),
            Kind::Softmax => softmax::softmax_grad(y, g, cols),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let definition = self.definition();
        let default = Activation::ALL.iter().find(|a| a.name() == definition.name).and_then(|a| a.definition().param);
        match (definition.param, default) {
            (Some(p), Some(d)) if p.value != d.value => write!(f, "{}({})", definition.name, p.value),
            _ => f.write_str(definition.name),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    /// Parses Keras names: `linear`/`identity`, `step`, `sigmoid`, `tanh`, `relu`,
    /// `leaky_relu` (or `leaky_relu(0.2)`), `elu` (or `elu(0.5)`), `softplus`, `softmax`.
    fn from_str(s: &str) -> Result<Activation> {
        let text = s.trim().to_ascii_lowercase();
        let (name, arg) = match text.split_once('(') {
            Some((name, rest)) => {
                let v = rest.strip_suffix(')').unwrap_or(rest).trim();
                let value =
                    v.parse::<f32>().map_err(|_| Error::Value(format!("activation {s:?}: {v:?} is not a number")))?;
                (name.trim(), Some(value))
            }
            None => (text.as_str(), None),
        };
        let found = Activation::ALL.into_iter().find(|a| {
            let d = a.definition();
            d.name == name || d.aliases.contains(&name)
        });
        let Some(activation) = found else {
            let names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
            return Err(Error::Value(format!("unknown activation {s:?}: expected one of {}", names.join(", "))));
        };
        let activation = match (arg, activation.definition().param) {
            (None, _) => activation,
            (Some(value), Some(param)) => (param.make)(value),
            (Some(_), None) => {
                return Err(Error::Value(format!("activation {s:?}: {} takes no parameter", activation.name())))
            }
        };
        activation.validate()?;
        Ok(activation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_expm1_match_the_library_within_two_ulp() {
        let mut worst = (0.0f64, 0.0f64);
        let mut x = -87.0f32;
        while x < 88.0 {
            let (e, m) = exp_and_expm1(x);
            let (want_e, want_m) = ((x as f64).exp(), (x as f64).exp_m1());
            worst.0 = worst.0.max(((e as f64 - want_e) / want_e).abs());
            worst.1 = worst.1.max(((m as f64 - want_m) / want_m).abs());
            x += 0.0137;
        }
        for x in [1e-30f32, -1e-20, 1e-8, -7.9e-6, 3e-4, -0.3, 0.34, 0.36, -0.36] {
            let m = expm1(x) as f64;
            let want = (x as f64).exp_m1();
            worst.1 = worst.1.max(((m - want) / want).abs());
        }
        assert!(worst.0 < 2.5 * f32::EPSILON as f64, "exp: worst relative error {}", worst.0);
        assert!(worst.1 < 2.5 * f32::EPSILON as f64, "expm1: worst relative error {}", worst.1);
        assert_eq!(exp_and_expm1(-1000.0), (0.0, -1.0));
        assert_eq!(exp_and_expm1(1000.0), (f32::INFINITY, f32::INFINITY));
        assert!(exp(f32::NAN).is_nan() && expm1(f32::NAN).is_nan());
        assert_eq!(exp_and_expm1(0.0), (1.0, 0.0));
        assert!(expm1(88.7).is_finite());
    }

    #[test]
    fn names_parse_print_and_serialise_the_same_way() {
        for a in Activation::ALL {
            assert_eq!(a.to_string().parse::<Activation>().unwrap(), a);
            let json = serde_json::to_value(a).unwrap();
            assert_eq!(json["name"], a.name(), "{a:?}");
            assert_eq!(serde_json::from_value::<Activation>(json).unwrap(), a);
        }
        assert_eq!(Activation::LeakyRelu { alpha: 0.2 }.to_string(), "leaky_relu(0.2)");
        assert_eq!("ELU(0.5)".parse::<Activation>().unwrap(), Activation::Elu { alpha: 0.5 });
        assert!("elu(-1)".parse::<Activation>().unwrap_err().to_string().contains("alpha must be a number > 0"));
        assert!("relu(2)".parse::<Activation>().unwrap_err().to_string().contains("takes no parameter"));
        assert!("swish".parse::<Activation>().unwrap_err().to_string().contains("softplus"));
    }

    #[test]
    fn relu_keeps_nan_so_that_divergence_shows() {
        let mut x = [f32::NAN, -1.0, 2.0];
        Activation::Relu.forward_rows(&mut x, 3);
        assert!(x[0].is_nan());
        assert_eq!(&x[1..], &[0.0, 2.0]);
    }
}

simd_kernel! {
    /// ReLU's backward pass from its output: `g` where `y > 0`, else 0.
    fn relu_mask(y: &[f32], g: &mut [f32]) {
        for (g, &y) in g.iter_mut().zip(y) {
            *g = if y > 0.0 { *g } else { 0.0 };
        }
    }
}

simd_kernel! {
    /// `y = relu(y + bias)` for every row of `y` (rows of `bias.len()` values): a
    /// convolution's bias and ReLU in one pass over its output.
    pub(crate) fn bias_relu_rows(y: &mut [f32], bias: &[f32]) {
        for row in y.chunks_exact_mut(bias.len().max(1)) {
            for (v, &b) in row.iter_mut().zip(bias) {
                let z = *v + b;
                // As ReLU itself: a NaN stays NaN.
                *v = if z <= 0.0 { 0.0 } else { z };
            }
        }
    }
}
