//! Element-wise arithmetic with NumPy broadcasting, comparisons giving 0/1 masks, `where`,
//! unary functions, activations, and the in-place variants that PyTorch has (`add_`, ...).

use super::shape::broadcast_shapes;
use super::Tensor;
use crate::error::{shape_str, Error, Result};
use crate::kernels::activation::Activation;

/// The right-hand side of a binary operation: another tensor or a plain number, so that
/// both `x.add(&y)` and `x.add(1.0)` read naturally.
#[derive(Clone, Copy)]
pub enum Operand<'a> {
    /// A tensor, broadcast against the left-hand side.
    Tensor(&'a Tensor),
    /// A number, used for every element.
    Scalar(f32),
}

impl<'a> From<&'a Tensor> for Operand<'a> {
    fn from(t: &'a Tensor) -> Self {
        Operand::Tensor(t)
    }
}

impl From<f32> for Operand<'_> {
    fn from(v: f32) -> Self {
        Operand::Scalar(v)
    }
}

impl Tensor {
    /// Applies `f` to every element, giving a new contiguous tensor.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Tensor {
        let data = match self.as_slice() {
            Some(s) => s.iter().map(|&v| f(v)).collect(),
            None => self.offsets().map(|o| f(self.data[o])).collect(),
        };
        Tensor::from_parts(data, &self.shape)
    }

    /// A view of this tensor broadcast to `shape` (stride 0 on repeated dimensions), as
    /// `np.broadcast_to` or PyTorch's `expand`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        let fits = broadcast_shapes("broadcast_to", &self.shape, shape).map(|s| s == shape).unwrap_or(false);
        if !fits {
            return Err(Error::Shape(format!(
                "broadcast_to: cannot broadcast shape {} to {}",
                shape_str(&self.shape),
                shape_str(shape)
            )));
        }
        let lead = shape.len() - self.ndim();
        let strides = (0..shape.len())
            .map(|i| if i < lead || self.shape[i - lead] != shape[i] { 0 } else { self.strides[i - lead] })
            .collect();
        Ok(self.with_layout(shape.to_vec(), strides, self.offset))
    }

    /// Combines two tensors element by element after broadcasting them together.
    pub fn zip_with(&self, other: &Tensor, op: &str, f: impl Fn(f32, f32) -> f32) -> Result<Tensor> {
        if self.shape == other.shape {
            if let (Some(a), Some(b)) = (self.as_slice(), other.as_slice()) {
                return Ok(Tensor::from_parts(a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect(), &self.shape));
            }
        }
        let shape = broadcast_shapes(op, &self.shape, &other.shape)?;
        let a = self.broadcast_to(&shape)?;
        let b = other.broadcast_to(&shape)?;
        let data = a.offsets().zip(b.offsets()).map(|(i, j)| f(a.data[i], b.data[j])).collect();
        Ok(Tensor::from_parts(data, &shape))
    }

    fn binary(&self, rhs: Operand<'_>, op: &str, f: impl Fn(f32, f32) -> f32) -> Result<Tensor> {
        match rhs {
            Operand::Tensor(t) => self.zip_with(t, op, f),
            Operand::Scalar(s) => Ok(self.map(|v| f(v, s))),
        }
    }

    /// `self + rhs` with broadcasting.
    pub fn add<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "add", |a, b| a + b)
    }

    /// `self - rhs` with broadcasting.
    pub fn sub<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "sub", |a, b| a - b)
    }

    /// `self * rhs` element-wise with broadcasting (not the matrix product: see `dot`).
    pub fn mul<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "mul", |a, b| a * b)
    }

    /// `self / rhs` with broadcasting (IEEE semantics: division by zero gives inf or NaN).
    pub fn div<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "div", |a, b| a / b)
    }

    /// `self ** rhs` with broadcasting.
    pub fn pow<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "pow", |a, b| if b == 2.0 { a * a } else { a.powf(b) })
    }

    /// Element-wise maximum (`np.maximum`); NaN propagates.
    pub fn maximum<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "maximum", |a, b| if a.is_nan() || b.is_nan() { f32::NAN } else { a.max(b) })
    }

    /// Element-wise minimum (`np.minimum`); NaN propagates.
    pub fn minimum<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "minimum", |a, b| if a.is_nan() || b.is_nan() { f32::NAN } else { a.min(b) })
    }

    /// Mask of `self > rhs`: 1.0 where true, 0.0 where false.
    pub fn gt<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "gt", |a, b| mask(a > b))
    }

    /// Mask of `self >= rhs`.
    pub fn ge<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "ge", |a, b| mask(a >= b))
    }

    /// Mask of `self < rhs`.
    pub fn lt<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "lt", |a, b| mask(a < b))
    }

    /// Mask of `self <= rhs`.
    pub fn le<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "le", |a, b| mask(a <= b))
    }

    /// Mask of `self == rhs` (element-wise; for whole-tensor equality use `==`).
    pub fn eq_elem<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "eq", |a, b| mask(a == b))
    }

    /// Mask of `self != rhs`.
    pub fn ne_elem<'a>(&self, rhs: impl Into<Operand<'a>>) -> Result<Tensor> {
        self.binary(rhs.into(), "ne", |a, b| mask(a != b))
    }

    /// `np.where(cond, a, b)`: `a` where `cond` is non-zero, else `b`, all three broadcast.
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let shape = broadcast_shapes("where", &broadcast_shapes("where", cond.shape(), a.shape())?, b.shape())?;
        let (c, a, b) = (cond.broadcast_to(&shape)?, a.broadcast_to(&shape)?, b.broadcast_to(&shape)?);
        let data = c
            .offsets()
            .zip(a.offsets())
            .zip(b.offsets())
            .map(|((k, i), j)| if c.data[k] != 0.0 { a.data[i] } else { b.data[j] })
            .collect();
        Ok(Tensor::from_parts(data, &shape))
    }

    /// `-x`.
    pub fn neg(&self) -> Tensor {
        self.map(|v| -v)
    }

    /// `e^x`.
    pub fn exp(&self) -> Tensor {
        self.map(f32::exp)
    }

    /// Natural logarithm (`-inf` at 0, NaN below).
    pub fn log(&self) -> Tensor {
        self.map(f32::ln)
    }

    /// Square root (NaN below 0).
    pub fn sqrt(&self) -> Tensor {
        self.map(f32::sqrt)
    }

    /// Absolute value.
    pub fn abs(&self) -> Tensor {
        self.map(f32::abs)
    }

    /// `x ** p` for a number `p`.
    pub fn powf(&self, p: f32) -> Tensor {
        self.map(|v| if p == 2.0 { v * v } else { v.powf(p) })
    }

    /// Each element limited to `[min, max]`.
    pub fn clamp(&self, min: f32, max: f32) -> Tensor {
        self.map(|v| v.clamp(min, max))
    }

    /// -1, 0 or 1 by the sign of each element.
    pub fn sign(&self) -> Tensor {
        self.map(|v| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        })
    }

    /// Rounded to the nearest integer, halves away from zero.
    pub fn round(&self) -> Tensor {
        self.map(f32::round)
    }

    /// `h(x)` for an activation `h` (softmax along the last axis).
    ///
    /// ```
    /// use neurite::{nn::Activation, Tensor};
    /// let y = Tensor::vector(&[-1.0, 0.0, 2.0]).activate(Activation::Relu)?;
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 2.0]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn activate(&self, activation: Activation) -> Result<Tensor> {
        activation.validate()?;
        if !activation.is_elementwise() && self.ndim() == 0 {
            return Err(Error::Shape(format!("{}: needs at least one dimension", activation.name())));
        }
        let mut data = self.to_vec();
        activation.forward_rows(&mut data, self.shape.last().copied().unwrap_or(1));
        Ok(Tensor::from_parts(data, &self.shape))
    }

    /// An element-wise activation without a parameter, which cannot fail.
    fn elementwise(&self, activation: Activation) -> Tensor {
        let mut data = self.to_vec();
        activation.forward_rows(&mut data, 1);
        Tensor::from_parts(data, &self.shape)
    }

    /// The logistic sigmoid, `1 / (1 + e^-x)`, stable at both tails.
    pub fn sigmoid(&self) -> Tensor {
        self.elementwise(Activation::Sigmoid)
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Tensor {
        self.elementwise(Activation::Tanh)
    }

    /// `max(0, x)` (NaN stays NaN).
    pub fn relu(&self) -> Tensor {
        self.elementwise(Activation::Relu)
    }

    /// 1 where `x > 0`, else 0.
    pub fn step(&self) -> Tensor {
        self.elementwise(Activation::Step)
    }

    /// `ln(1 + e^x)`.
    pub fn softplus(&self) -> Tensor {
        self.elementwise(Activation::Softplus)
    }

    /// Leaky ReLU with slope `alpha` (>= 0) below zero.
    pub fn leaky_relu(&self, alpha: f32) -> Result<Tensor> {
        self.activate(Activation::LeakyRelu { alpha })
    }

    /// ELU with scale `alpha` (> 0) below zero.
    pub fn elu(&self, alpha: f32) -> Result<Tensor> {
        self.activate(Activation::Elu { alpha })
    }

    // -------------------------------------------------------------------------------
    // In place, as PyTorch's trailing-underscore methods
    // -------------------------------------------------------------------------------

    fn binary_(&mut self, rhs: Operand<'_>, op: &str, f: impl Fn(f32, f32) -> f32) -> Result<()> {
        match rhs {
            Operand::Scalar(s) => {
                self.make_unique_contiguous().iter_mut().for_each(|v| *v = f(*v, s));
            }
            Operand::Tensor(t) => {
                let rhs = t.broadcast_to(&self.shape).map_err(|_| {
                    Error::Shape(format!(
                        "{op}: the right-hand side of shape {} cannot be broadcast to the tensor's shape {}",
                        shape_str(t.shape()),
                        shape_str(&self.shape)
                    ))
                })?;
                let values: Vec<f32> = rhs.offsets().map(|o| rhs.data[o]).collect();
                let dst = self.make_unique_contiguous();
                dst.iter_mut().zip(values).for_each(|(d, v)| *d = f(*d, v));
            }
        }
        Ok(())
    }

    /// `self += rhs` in place; `rhs` must broadcast to `self`'s shape.
    pub fn add_<'a>(&mut self, rhs: impl Into<Operand<'a>>) -> Result<()> {
        self.binary_(rhs.into(), "add_", |a, b| a + b)
    }

    /// `self -= rhs` in place.
    pub fn sub_<'a>(&mut self, rhs: impl Into<Operand<'a>>) -> Result<()> {
        self.binary_(rhs.into(), "sub_", |a, b| a - b)
    }

    /// `self *= rhs` in place.
    pub fn mul_<'a>(&mut self, rhs: impl Into<Operand<'a>>) -> Result<()> {
        self.binary_(rhs.into(), "mul_", |a, b| a * b)
    }

    /// `self /= rhs` in place.
    pub fn div_<'a>(&mut self, rhs: impl Into<Operand<'a>>) -> Result<()> {
        self.binary_(rhs.into(), "div_", |a, b| a / b)
    }

    /// Every element set to `value`.
    pub fn fill_(&mut self, value: f32) {
        self.make_unique_contiguous().fill(value);
    }

    /// Mutable access to the elements in row-major order (copying shared storage first).
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.make_unique_contiguous()
    }
}

fn mask(b: bool) -> f32 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Sums `grad` (of a broadcast result) back down to `shape`: over the leading axes that
/// broadcasting added and over the axes where `shape` has a 1. This undoes broadcasting in
/// a backward pass.
pub(crate) fn sum_to_shape(grad: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if grad.shape() == shape {
        return Ok(grad.clone());
    }
    let lead = grad.ndim().checked_sub(shape.len()).ok_or_else(|| {
        Error::Shape(format!(
            "sum_to_shape: {} has fewer dimensions than {}",
            shape_str(grad.shape()),
            shape_str(shape)
        ))
    })?;
    let mut out = grad.clone();
    for _ in 0..lead {
        out = out.sum_axis(0, false)?;
    }
    for (axis, &d) in shape.iter().enumerate() {
        if d == 1 && out.shape()[axis] != 1 {
            out = out.sum_axis(axis as isize, true)?;
        }
    }
    if out.shape() != shape {
        return Err(Error::Shape(format!(
            "sum_to_shape: {} does not reduce to {}",
            shape_str(grad.shape()),
            shape_str(shape)
        )));
    }
    Ok(out)
}

impl Tensor {
    /// Runs a row kernel along `axis`: the axis is moved last (copying only if needed), the
    /// kernel sees rows of that length, and the result is moved back.
    pub(crate) fn along_axis(&self, op: &str, axis: isize, kernel: impl Fn(&mut [f32], usize)) -> Result<Tensor> {
        let a = super::shape::normalize_axis(op, axis, self.ndim())?;
        let last = self.ndim() - 1;
        let moved = if a == last { self.clone() } else { self.transpose(a as isize, last as isize)? };
        let mut data = moved.to_vec();
        kernel(&mut data, self.shape()[a]);
        let result = Tensor::from_parts(data, moved.shape());
        if a == last {
            Ok(result)
        } else {
            Ok(result.transpose(a as isize, last as isize)?.contiguous())
        }
    }

    /// Softmax along `axis`, stable for large inputs (the row maximum is subtracted first).
    ///
    /// ```
    /// let p = neurite::Tensor::vector(&[0.3, 2.9, 4.0]).softmax(-1)?;
    /// assert!(p.allclose(&neurite::Tensor::vector(&[0.01821127, 0.24519181, 0.73659691]), 1e-5, 0.0));
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        self.along_axis("softmax", axis, crate::kernels::softmax::softmax_rows)
    }

    /// Log of the softmax along `axis`, computed without forming the softmax.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        self.along_axis("log_softmax", axis, crate::kernels::softmax::log_softmax_rows)
    }
}
