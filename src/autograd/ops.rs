//! The differentiable operations: each forward method computes the value with the
//! [`Tensor`] operation of the same name and records an [`Op`]; `Op::backward` holds the
//! chain rule for each one.

use std::sync::Arc;

use super::{is_grad_enabled, Var};
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::kernels::softmax as sm;
use crate::tensor::shape::{normalize_axis, numel};
use crate::tensor::Tensor;

/// A user-defined backward rule: given the gradient of the output and the output itself,
/// returns one gradient per input (None where an input gets none).
pub type BackwardFn = Arc<dyn Fn(&Tensor, &Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// How a variable was computed: the operation and its inputs.
#[allow(missing_docs)]
#[derive(Clone)]
pub enum Op {
    Add(Var, Var),
    Sub(Var, Var),
    Mul(Var, Var),
    Div(Var, Var),
    Pow(Var, Var),
    Maximum(Var, Var),
    Minimum(Var, Var),
    AddScalar(Var, f32),
    MulScalar(Var, f32),
    PowScalar(Var, f32),
    Neg(Var),
    Exp(Var),
    Log(Var),
    Sqrt(Var),
    Abs(Var),
    Clamp(Var, f32, f32),
    /// An activation along the last axis, with the derivative its forward pass kept
    /// (element-wise activations; softmax's backward pass uses the output instead).
    Activation(Var, Activation, Option<Tensor>),
    LogSoftmax(Var, usize),
    MatMul(Var, Var),
    /// PyTorch's `linear`: input, weight (out, in), optional bias.
    Linear(Var, Var, Option<Var>),
    Sum(Var),
    SumAxis(Var, usize, bool),
    Mean(Var),
    MeanAxis(Var, usize, bool),
    Max(Var),
    MaxAxis(Var, usize, bool),
    Reshape(Var),
    Transpose(Var, usize, usize),
    Permute(Var, Vec<usize>),
    BroadcastTo(Var),
    Cat(Vec<Var>, usize),
    Narrow(Var, usize, usize),
    IndexSelect(Var, usize, Vec<usize>),
    Where(Tensor, Var, Var),
    Custom {
        name: &'static str,
        inputs: Vec<Var>,
        backward: BackwardFn,
        /// What the operation is, for an exporter: a layer's configuration as JSON (`None`
        /// for a function defined only by its value and backward rule).
        described: Option<std::sync::Arc<str>>,
    },
}

impl Op {
    /// The operation's name, as shown when printing a graph.
    pub fn name(&self) -> &'static str {
        use Op::*;
        match self {
            Add(..) => "add",
            Sub(..) => "sub",
            Mul(..) => "mul",
            Div(..) => "div",
            Pow(..) => "pow",
            Maximum(..) => "maximum",
            Minimum(..) => "minimum",
            AddScalar(..) => "add_scalar",
            MulScalar(..) => "mul_scalar",
            PowScalar(..) => "powf",
            Neg(..) => "neg",
            Exp(..) => "exp",
            Log(..) => "log",
            Sqrt(..) => "sqrt",
            Abs(..) => "abs",
            Clamp(..) => "clamp",
            Activation(_, a, _) => a.name(),
            LogSoftmax(..) => "log_softmax",
            MatMul(..) => "matmul",
            Linear(..) => "linear",
            Sum(..) => "sum",
            SumAxis(..) => "sum_axis",
            Mean(..) => "mean",
            MeanAxis(..) => "mean_axis",
            Max(..) => "max",
            MaxAxis(..) => "max_axis",
            Reshape(..) => "reshape",
            Transpose(..) => "transpose",
            Permute(..) => "permute",
            BroadcastTo(..) => "broadcast_to",
            Cat(..) => "cat",
            Narrow(..) => "narrow",
            IndexSelect(..) => "index_select",
            Where(..) => "where",
            Custom { name, .. } => name,
        }
    }

    /// The variables this operation read.
    pub fn inputs(&self) -> Vec<Var> {
        use Op::*;
        match self {
            Add(a, b)
            | Sub(a, b)
            | Mul(a, b)
            | Div(a, b)
            | Pow(a, b)
            | Maximum(a, b)
            | Minimum(a, b)
            | MatMul(a, b) => {
                vec![a.clone(), b.clone()]
            }
            Where(_, a, b) => vec![a.clone(), b.clone()],
            Linear(x, w, b) => {
                let mut v = vec![x.clone(), w.clone()];
                v.extend(b.iter().cloned());
                v
            }
            AddScalar(a, _)
            | MulScalar(a, _)
            | PowScalar(a, _)
            | Neg(a)
            | Exp(a)
            | Log(a)
            | Sqrt(a)
            | Abs(a)
            | Clamp(a, ..)
            | Activation(a, ..)
            | LogSoftmax(a, _)
            | Sum(a)
            | SumAxis(a, ..)
            | Mean(a)
            | MeanAxis(a, ..)
            | Max(a)
            | MaxAxis(a, ..)
            | Reshape(a)
            | Transpose(a, ..)
            | Permute(a, _)
            | BroadcastTo(a)
            | Narrow(a, ..)
            | IndexSelect(a, ..) => {
                vec![a.clone()]
            }
            Cat(inputs, _) | Custom { inputs, .. } => inputs.clone(),
        }
    }

    /// The chain rule: the gradient of each input given `g`, the gradient of the output, and
    /// `out`, the output's value.
    pub fn backward(&self, g: &Tensor, out: &Tensor) -> Result<Vec<Option<Tensor>>> {
        use Op::*;
        let one = |t: Tensor| Ok(vec![Some(t)]);
        match self {
            Add(a, b) => Ok(vec![Some(reduce(g, a)?), Some(reduce(g, b)?)]),
            Sub(a, b) => Ok(vec![Some(reduce(g, a)?), Some(reduce(&g.neg(), b)?)]),
            Mul(a, b) => Ok(vec![Some(reduce(&g.mul(&b.value())?, a)?), Some(reduce(&g.mul(&a.value())?, b)?)]),
            Div(a, b) => {
                let bv = b.value();
                let ga = g.div(&bv)?;
                let gb = g.mul(out)?.div(&bv)?.neg();
                Ok(vec![Some(reduce(&ga, a)?), Some(reduce(&gb, b)?)])
            }
            Pow(a, b) => {
                let (av, bv) = (a.value(), b.value());
                // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (taken as 0 where a == 0).
                let ga = g.mul(&bv.mul(&av.pow(&bv.sub(1.0)?)?)?)?;
                let ln_a = av.map(|x| if x == 0.0 { 0.0 } else { x.ln() });
                let gb = g.mul(&out.mul(&ln_a)?)?;
                Ok(vec![Some(reduce(&ga, a)?), Some(reduce(&gb, b)?)])
            }
            Maximum(a, b) | Minimum(a, b) => {
                // The winner takes the gradient; a tie splits it evenly, as PyTorch does.
                let (av, bv) = (a.value(), b.value());
                let is_max = matches!(self, Maximum(..));
                let wa = av.zip_with(&bv, "maximum", |x, y| {
                    if x == y {
                        0.5
                    } else if (x > y) == is_max {
                        1.0
                    } else {
                        0.0
                    }
                })?;
                let wb = wa.map(|w| 1.0 - w);
                Ok(vec![Some(reduce(&g.mul(&wa)?, a)?), Some(reduce(&g.mul(&wb)?, b)?)])
            }
            AddScalar(..) => one(g.clone()),
            MulScalar(_, s) => one(g * *s),
            PowScalar(a, p) => {
                let p = *p;
                one(g.mul(&a.value().map(|x| p * x.powf(p - 1.0)))?)
            }
            Neg(_) => one(g.neg()),
            Exp(_) => one(g.mul(out)?),
            Log(a) => one(g.div(&a.value())?),
            Sqrt(_) => one(g.div(&(out * 2.0))?),
            Abs(a) => one(g.mul(&a.value().sign())?),
            Clamp(a, lo, hi) => {
                let (lo, hi) = (*lo, *hi);
                one(g.mul(&a.value().map(|x| if x >= lo && x <= hi { 1.0 } else { 0.0 }))?)
            }
            Activation(_, activation, derivative) => {
                let y = out.contiguous();
                let d = derivative.as_ref().map(Tensor::contiguous);
                let mut grad = g.to_vec();
                let cols = out.shape().last().copied().unwrap_or(1);
                activation.backward_rows(
                    y.as_slice().unwrap_or(&[]),
                    d.as_ref().and_then(|d| d.as_slice()).unwrap_or(&[]),
                    &mut grad,
                    cols,
                );
                one(Tensor::from_parts(grad, g.shape()))
            }
            LogSoftmax(_, axis) => one(rows_backward(out, g, *axis, sm::log_softmax_grad)?),
            MatMul(a, b) => matmul_backward(g, &a.value(), &b.value(), [a.requires_grad(), b.requires_grad()]),
            Linear(x, w, b) => linear_backward(g, x, w, b.as_ref()),
            Sum(a) => one(Tensor::full(&a.shape(), g.item()?)),
            Mean(a) => {
                let shape = a.shape();
                one(Tensor::full(&shape, g.item()? / numel(&shape) as f32))
            }
            SumAxis(a, axis, keepdim) => one(expand_axis(g, &a.shape(), *axis, *keepdim)?),
            MeanAxis(a, axis, keepdim) => {
                let shape = a.shape();
                one(expand_axis(g, &shape, *axis, *keepdim)? * (1.0 / shape[*axis] as f32))
            }
            Max(a) => {
                let av = a.value();
                let mut grad = vec![0.0; av.size()];
                if !grad.is_empty() {
                    grad[av.argmax()?] = g.item()?;
                }
                one(Tensor::from_vec(grad, av.shape())?)
            }
            MaxAxis(a, axis, keepdim) => one(max_axis_backward(&a.value(), g, *axis, *keepdim)?),
            Reshape(a) => {
                let shape: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
                one(g.reshape(&shape)?)
            }
            Transpose(_, d0, d1) => one(g.transpose(*d0 as isize, *d1 as isize)?.contiguous()),
            Permute(_, order) => {
                let mut inverse = vec![0; order.len()];
                for (i, &o) in order.iter().enumerate() {
                    inverse[o] = i;
                }
                one(g.permute(&inverse)?.contiguous())
            }
            BroadcastTo(a) => one(reduce(g, a)?),
            Cat(inputs, axis) => {
                let mut start = 0;
                let mut grads = Vec::with_capacity(inputs.len());
                for input in inputs {
                    let len = input.shape()[*axis];
                    grads.push(Some(g.narrow(*axis as isize, start, len)?.contiguous()));
                    start += len;
                }
                Ok(grads)
            }
            Narrow(a, axis, start) => {
                let shape = a.shape();
                let mut before = shape.clone();
                before[*axis] = *start;
                let mut after = shape.clone();
                after[*axis] = shape[*axis] - start - g.shape()[*axis];
                let parts = [Tensor::zeros(&before), g.clone(), Tensor::zeros(&after)];
                one(Tensor::cat(&[&parts[0], &parts[1], &parts[2]], *axis as isize)?)
            }
            IndexSelect(a, axis, indices) => one(index_add(&a.shape(), *axis, indices, g)?),
            Where(cond, a, b) => {
                let zero = Tensor::zeros(&[]);
                let ga = Tensor::where_cond(cond, g, &zero)?;
                let gb = Tensor::where_cond(cond, &zero, g)?;
                Ok(vec![Some(reduce(&ga, a)?), Some(reduce(&gb, b)?)])
            }
            Custom { backward, .. } => backward(g, out),
        }
    }
}

/// Undoes broadcasting: sums the gradient back to the input's shape.
fn reduce(g: &Tensor, input: &Var) -> Result<Tensor> {
    crate::tensor::sum_to_shape(g, &input.shape())
}

/// Runs a row-wise backward kernel (softmax, log-softmax) along `axis`.
fn rows_backward(out: &Tensor, g: &Tensor, axis: usize, kernel: impl Fn(&[f32], &mut [f32], usize)) -> Result<Tensor> {
    let last = out.ndim() - 1;
    let moved = |t: &Tensor| -> Result<Tensor> {
        Ok(if axis == last { t.contiguous() } else { t.transpose(axis as isize, last as isize)?.contiguous() })
    };
    let y = moved(out)?;
    let mut grad = moved(g)?.to_vec();
    kernel(y.as_slice().unwrap_or(&[]), &mut grad, out.shape()[axis]);
    let result = Tensor::from_parts(grad, y.shape());
    Ok(if axis == last { result } else { result.transpose(axis as isize, last as isize)?.contiguous() })
}

/// Gradients of `a.matmul(b)`: `g b^T` and `a^T g`, with 1-D operands promoted as in the
/// forward pass and batch broadcasting summed away.
/// The gradients of `matmul`, each computed only where `needed` (an input that needs no
/// gradient, such as a batch of data, costs no product).
fn matmul_backward(g: &Tensor, a: &Tensor, b: &Tensor, needed: [bool; 2]) -> Result<Vec<Option<Tensor>>> {
    if a.ndim() == 1 && b.ndim() == 1 {
        let s = g.item()?;
        return Ok(vec![Some(b * s), Some(a * s)]);
    }
    let mut g2 = g.clone();
    let a2 = if a.ndim() == 1 {
        g2 = g2.unsqueeze(-2)?;
        a.unsqueeze(0)?
    } else {
        a.clone()
    };
    let b2 = if b.ndim() == 1 {
        g2 = g2.unsqueeze(-1)?;
        b.unsqueeze(1)?
    } else {
        b.clone()
    };
    let back = |t: Tensor, shape: &[usize]| t.reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>());
    let ga = if needed[0] {
        let ga = crate::tensor::sum_to_shape(&g2.matmul(&b2.transpose(-1, -2)?)?, a2.shape())?;
        Some(back(ga, a.shape())?)
    } else {
        None
    };
    let gb = if needed[1] {
        let gb = crate::tensor::sum_to_shape(&a2.transpose(-1, -2)?.matmul(&g2)?, b2.shape())?;
        Some(back(gb, b.shape())?)
    } else {
        None
    };
    Ok(vec![ga, gb])
}

/// The gradients of `linear`, each only where its input needs one: `dx = g W`,
/// `dW = g^T x` (the rows of `x` and `g` read in place), `db` the column sums of `g`.
fn linear_backward(g: &Tensor, x: &Var, w: &Var, b: Option<&Var>) -> Result<Vec<Option<Tensor>>> {
    let (wv, xv) = (w.value(), x.value());
    let (out_f, in_f) = (wv.shape()[0], wv.shape()[1]);
    let rows = g.size() / out_f.max(1);
    let g2 = g.contiguous().reshape(&[rows as isize, out_f as isize])?;
    let dx = if x.requires_grad() {
        let shape: Vec<isize> = xv.shape().iter().map(|&d| d as isize).collect();
        Some(g2.matmul(&wv)?.reshape(&shape)?)
    } else {
        None
    };
    let dw = if w.requires_grad() {
        let x2 = xv.contiguous().reshape(&[rows as isize, in_f as isize])?;
        Some(g2.t()?.matmul(&x2)?)
    } else {
        None
    };
    let mut grads = vec![dx, dw];
    if let Some(b) = b {
        grads.push(if b.requires_grad() { Some(g2.sum_axis(0, false)?) } else { None });
    }
    Ok(grads)
}

/// Broadcasts the gradient of a reduction along `axis` back over that axis.
fn expand_axis(g: &Tensor, shape: &[usize], axis: usize, keepdim: bool) -> Result<Tensor> {
    let g = if keepdim { g.clone() } else { g.unsqueeze(axis as isize)? };
    Ok(g.broadcast_to(shape)?.contiguous())
}

/// Routes the gradient of `max_axis` to the first maximal element of each lane.
fn max_axis_backward(a: &Tensor, g: &Tensor, axis: usize, keepdim: bool) -> Result<Tensor> {
    let idx = a.argmax_axis(axis as isize)?;
    let g = if keepdim { g.contiguous() } else { g.unsqueeze(axis as isize)?.contiguous() };
    let gv = g.to_vec();
    let shape = a.shape();
    let (n, inner) = (shape[axis], numel(&shape[axis + 1..]));
    let mut out = vec![0.0; a.size()];
    for (lane, (&i, &gval)) in idx.iter().zip(&gv).enumerate() {
        let (o, r) = (lane / inner, lane % inner);
        out[o * n * inner + i * inner + r] = gval;
    }
    Tensor::from_vec(out, shape)
}

/// Adds the slices of `g` along `axis` into a zero tensor of `shape` at `indices`.
fn index_add(shape: &[usize], axis: usize, indices: &[usize], g: &Tensor) -> Result<Tensor> {
    let (n, inner) = (shape[axis], numel(&shape[axis + 1..]));
    let outer = numel(&shape[..axis]);
    let gv = g.contiguous().to_vec();
    let k = indices.len();
    let mut out = vec![0.0; numel(shape)];
    for o in 0..outer {
        for (j, &idx) in indices.iter().enumerate() {
            let src = (o * k + j) * inner;
            let dst = (o * n + idx) * inner;
            for r in 0..inner {
                out[dst + r] += gv[src + r];
            }
        }
    }
    Tensor::from_vec(out, shape)
}

// -------------------------------------------------------------------------------------
// Forward methods
// -------------------------------------------------------------------------------------
impl Var {
    fn unary(&self, value: Tensor, op: fn(Var) -> Op) -> Var {
        Var::from_op(value, op(self.clone()))
    }

    /// `self + other` with broadcasting.
    pub fn add(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().add(&other.value())?, Op::Add(self.clone(), other.clone())))
    }

    /// `self - other` with broadcasting.
    pub fn sub(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().sub(&other.value())?, Op::Sub(self.clone(), other.clone())))
    }

    /// `self * other` element-wise with broadcasting.
    pub fn mul(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().mul(&other.value())?, Op::Mul(self.clone(), other.clone())))
    }

    /// `self / other` with broadcasting.
    pub fn div(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().div(&other.value())?, Op::Div(self.clone(), other.clone())))
    }

    /// `self ** other` with broadcasting.
    pub fn pow(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().pow(&other.value())?, Op::Pow(self.clone(), other.clone())))
    }

    /// Element-wise maximum.
    pub fn maximum(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().maximum(&other.value())?, Op::Maximum(self.clone(), other.clone())))
    }

    /// Element-wise minimum.
    pub fn minimum(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().minimum(&other.value())?, Op::Minimum(self.clone(), other.clone())))
    }

    /// `self + s`.
    pub fn add_scalar(&self, s: f32) -> Result<Var> {
        Ok(Var::from_op(self.value() + s, Op::AddScalar(self.clone(), s)))
    }

    /// `self * s`.
    pub fn mul_scalar(&self, s: f32) -> Result<Var> {
        Ok(Var::from_op(self.value() * s, Op::MulScalar(self.clone(), s)))
    }

    /// `self ** p`.
    pub fn powf(&self, p: f32) -> Result<Var> {
        Ok(Var::from_op(self.value().powf(p), Op::PowScalar(self.clone(), p)))
    }

    /// `-self`.
    pub fn neg(&self) -> Result<Var> {
        Ok(self.unary(self.value().neg(), Op::Neg))
    }

    /// `e^self`.
    pub fn exp(&self) -> Result<Var> {
        Ok(self.unary(self.value().exp(), Op::Exp))
    }

    /// Natural logarithm.
    pub fn log(&self) -> Result<Var> {
        Ok(self.unary(self.value().log(), Op::Log))
    }

    /// Square root.
    pub fn sqrt(&self) -> Result<Var> {
        Ok(self.unary(self.value().sqrt(), Op::Sqrt))
    }

    /// Absolute value (derivative `sign(x)`, 0 at 0).
    pub fn abs(&self) -> Result<Var> {
        Ok(self.unary(self.value().abs(), Op::Abs))
    }

    /// Limits each element to `[min, max]`; the gradient is 0 where the limit bites.
    pub fn clamp(&self, min: f32, max: f32) -> Result<Var> {
        Ok(Var::from_op(self.value().clamp(min, max), Op::Clamp(self.clone(), min, max)))
    }

    /// `h(x)` for an activation `h`, along the last axis for softmax. The derivative is
    /// computed with the value, from the input, and kept for the backward pass (see
    /// [`crate::kernels::activation`]).
    pub fn activate(&self, activation: Activation) -> Result<Var> {
        activation.validate()?;
        let value = self.value();
        if !activation.is_elementwise() && value.ndim() == 0 {
            return Err(Error::Shape(format!("{}: needs at least one dimension", activation.name())));
        }
        let cols = value.shape().last().copied().unwrap_or(1);
        let mut y = value.to_vec();
        let recording = is_grad_enabled() && self.requires_grad();
        let derivative = if recording && activation.is_elementwise() {
            let mut d = vec![0.0; y.len()];
            activation.forward_rows_keeping_derivative(&mut y, &mut d, cols);
            Some(Tensor::from_parts(d, value.shape()))
        } else {
            activation.forward_rows(&mut y, cols);
            None
        };
        Ok(Var::from_op(Tensor::from_parts(y, value.shape()), Op::Activation(self.clone(), activation, derivative)))
    }

    /// The step function (derivative 0).
    pub fn step(&self) -> Result<Var> {
        self.activate(Activation::Step)
    }

    /// Logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Var> {
        self.activate(Activation::Sigmoid)
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Result<Var> {
        self.activate(Activation::Tanh)
    }

    /// ReLU.
    pub fn relu(&self) -> Result<Var> {
        self.activate(Activation::Relu)
    }

    /// Leaky ReLU with slope `alpha` (>= 0) below zero.
    pub fn leaky_relu(&self, alpha: f32) -> Result<Var> {
        self.activate(Activation::LeakyRelu { alpha })
    }

    /// ELU with scale `alpha` (> 0) below zero.
    pub fn elu(&self, alpha: f32) -> Result<Var> {
        self.activate(Activation::Elu { alpha })
    }

    /// Softplus, `ln(1 + e^x)`.
    pub fn softplus(&self) -> Result<Var> {
        self.activate(Activation::Softplus)
    }

    /// Softmax along `axis` (moved last and back for another axis).
    pub fn softmax(&self, axis: isize) -> Result<Var> {
        let ndim = self.shape().len();
        let a = normalize_axis("softmax", axis, ndim)?;
        if a + 1 == ndim {
            return self.activate(Activation::Softmax);
        }
        let last = ndim as isize - 1;
        self.transpose(a as isize, last)?.activate(Activation::Softmax)?.transpose(a as isize, last)
    }

    /// Log-softmax along `axis`.
    pub fn log_softmax(&self, axis: isize) -> Result<Var> {
        let value = self.value();
        let a = normalize_axis("log_softmax", axis, value.ndim())?;
        Ok(Var::from_op(value.log_softmax(axis)?, Op::LogSoftmax(self.clone(), a)))
    }

    /// Matrix product with PyTorch's `matmul` rules.
    pub fn matmul(&self, other: &Var) -> Result<Var> {
        Ok(Var::from_op(self.value().matmul(&other.value())?, Op::MatMul(self.clone(), other.clone())))
    }

    /// PyTorch's `linear`, `x W^T + b` with `W` of shape (out, in) ([`Tensor::linear`]): one
    /// operation in the graph, whose backward pass computes only the gradients needed.
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        let value = self.value().linear(&weight.value(), bias.map(Var::value).as_ref())?;
        Ok(Var::from_op(value, Op::Linear(self.clone(), weight.clone(), bias.cloned())))
    }

    /// NumPy's `dot`, built from differentiable pieces (matmul, reshape, permute).
    pub fn dot(&self, other: &Var) -> Result<Var> {
        let (a, b) = (self.value(), other.value());
        // Check with the tensor's own rules first, for NumPy's error message.
        let expected = a.dot(&b)?;
        let result = match (a.ndim(), b.ndim()) {
            (0, _) => other.mul(self)?,
            (_, 0) => self.mul(other)?,
            (na, nb) if na <= 2 && nb <= 2 => self.matmul(other)?,
            (na, 1) => {
                let k = a.shape()[na - 1] as isize;
                self.reshape(&[-1, k])?.matmul(other)?.reshape(&to_isize(expected.shape()))?
            }
            (_, nb) => {
                let k = b.shape()[nb - 2] as isize;
                let mut order = vec![nb - 2];
                order.extend(0..nb - 2);
                order.push(nb - 1);
                let b2 = other.permute(&order)?.reshape(&[k, -1])?;
                self.reshape(&[-1, k])?.matmul(&b2)?.reshape(&to_isize(expected.shape()))?
            }
        };
        Ok(result)
    }

    /// Sum of all elements (0-d).
    pub fn sum(&self) -> Result<Var> {
        Ok(self.unary(self.value().sum(), Op::Sum))
    }

    /// Sum along `axis`.
    pub fn sum_axis(&self, axis: isize, keepdim: bool) -> Result<Var> {
        let value = self.value();
        let a = normalize_axis("sum", axis, value.ndim())?;
        Ok(Var::from_op(value.sum_axis(axis, keepdim)?, Op::SumAxis(self.clone(), a, keepdim)))
    }

    /// Mean of all elements (0-d).
    pub fn mean(&self) -> Result<Var> {
        Ok(self.unary(self.value().mean()?, Op::Mean))
    }

    /// Mean along `axis`.
    pub fn mean_axis(&self, axis: isize, keepdim: bool) -> Result<Var> {
        let value = self.value();
        let a = normalize_axis("mean", axis, value.ndim())?;
        Ok(Var::from_op(value.mean_axis(axis, keepdim)?, Op::MeanAxis(self.clone(), a, keepdim)))
    }

    /// Largest element (the gradient goes to the first maximum).
    pub fn max(&self) -> Result<Var> {
        Ok(self.unary(self.value().max()?, Op::Max))
    }

    /// Largest element along `axis`.
    pub fn max_axis(&self, axis: isize, keepdim: bool) -> Result<Var> {
        let value = self.value();
        let a = normalize_axis("max", axis, value.ndim())?;
        Ok(Var::from_op(value.max_axis(axis, keepdim)?, Op::MaxAxis(self.clone(), a, keepdim)))
    }

    /// The same elements in a new shape (one `-1` inferred).
    pub fn reshape(&self, shape: &[isize]) -> Result<Var> {
        Ok(self.unary(self.value().reshape(shape)?, Op::Reshape))
    }

    /// Everything in one dimension.
    pub fn flatten(&self) -> Result<Var> {
        self.reshape(&[-1])
    }

    /// Removes `axis` if its size is 1.
    pub fn squeeze_axis(&self, axis: isize) -> Result<Var> {
        Ok(self.unary(self.value().squeeze_axis(axis)?, Op::Reshape))
    }

    /// Inserts an axis of size 1.
    pub fn unsqueeze(&self, axis: isize) -> Result<Var> {
        Ok(self.unary(self.value().unsqueeze(axis)?, Op::Reshape))
    }

    /// Swaps two axes.
    pub fn transpose(&self, axis0: isize, axis1: isize) -> Result<Var> {
        let value = self.value();
        let a = normalize_axis("transpose", axis0, value.ndim())?;
        let b = normalize_axis("transpose", axis1, value.ndim())?;
        Ok(Var::from_op(value.transpose(axis0, axis1)?, Op::Transpose(self.clone(), a, b)))
    }

    /// Matrix transpose of a 2-D variable.
    pub fn t(&self) -> Result<Var> {
        match self.shape().len() {
            0 | 1 => Ok(self.clone()),
            _ => {
                self.value().t()?;
                self.transpose(0, 1)
            }
        }
    }

    /// Reorders the axes.
    pub fn permute(&self, order: &[usize]) -> Result<Var> {
        Ok(Var::from_op(self.value().permute(order)?, Op::Permute(self.clone(), order.to_vec())))
    }

    /// Broadcasts to `shape` (PyTorch's `expand`).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Var> {
        Ok(self.unary(self.value().broadcast_to(shape)?.contiguous(), Op::BroadcastTo))
    }

    /// Joins variables along an existing axis.
    pub fn cat(vars: &[&Var], axis: isize) -> Result<Var> {
        let values: Vec<Tensor> = vars.iter().map(|v| v.value()).collect();
        let refs: Vec<&Tensor> = values.iter().collect();
        let value = Tensor::cat(&refs, axis)?;
        let a = normalize_axis("cat", axis, value.ndim())?;
        Ok(Var::from_op(value, Op::Cat(vars.iter().map(|&v| v.clone()).collect(), a)))
    }

    /// Joins variables of one shape along a new axis.
    pub fn stack(vars: &[&Var], axis: isize) -> Result<Var> {
        let expanded = vars.iter().map(|v| v.unsqueeze(axis)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Var> = expanded.iter().collect();
        Var::cat(&refs, axis)
    }

    /// Elements `start..start + len` along `axis`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Var> {
        let value = self.value();
        let a = normalize_axis("narrow", axis, value.ndim())?;
        Ok(Var::from_op(value.narrow(axis, start, len)?.contiguous(), Op::Narrow(self.clone(), a, start)))
    }

    /// Slices at `indices` along `axis` (the gradient of repeated indices adds up).
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Var> {
        let value = self.value();
        let a = normalize_axis("index_select", axis, value.ndim())?;
        Ok(Var::from_op(value.index_select(axis, indices)?, Op::IndexSelect(self.clone(), a, indices.to_vec())))
    }

    /// `a` where `cond` is non-zero, else `b` (the condition is not differentiated).
    pub fn where_cond(cond: &Tensor, a: &Var, b: &Var) -> Result<Var> {
        let value = Tensor::where_cond(cond, &a.value(), &b.value())?;
        Ok(Var::from_op(value, Op::Where(cond.clone(), a.clone(), b.clone())))
    }
}

fn to_isize(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&d| d as isize).collect()
}
