//! The activation functions on tensors: `h(x)`, `h'(x)` and the Jacobian. Each activation
//! itself is defined once, in [`crate::kernels::activation`]; these methods run that
//! definition on a tensor.

pub use crate::kernels::activation::Activation;

use crate::autograd::Var;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Activation {
    /// `h(x)` element-wise (softmax: over the last axis).
    ///
    /// ```
    /// use neurite::{nn::Activation, Tensor};
    /// let y = Activation::Sigmoid.forward(&Tensor::vector(&[-1.0, 1.0, 2.0]))?;
    /// assert!(y.allclose(&Tensor::vector(&[0.26894142, 0.73105858, 0.88079708]), 1e-6, 0.0));
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.activate(*self)
    }

    /// `h'(x)` element-wise. Softmax has a Jacobian, not an element-wise derivative, so it is
    /// an error here: see [`Activation::jacobian`].
    ///
    /// ```
    /// use neurite::{nn::Activation, Tensor};
    /// // tanh'(10) = 1 - tanh(10)^2 = 8.2e-9, although tanh(10) rounds to 1 in float32.
    /// let d = Activation::Tanh.derivative(&Tensor::vector(&[0.0, 10.0]))?.to_vec();
    /// assert_eq!(d[0], 1.0);
    /// assert!((d[1] - 8.244e-9).abs() < 1e-12);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn derivative(&self, x: &Tensor) -> Result<Tensor> {
        self.validate()?;
        if !self.is_elementwise() {
            return Err(Error::Value(format!(
                "{}'s derivative is a Jacobian, not element-wise: use Activation::jacobian",
                self.name()
            )));
        }
        if *self == Activation::Identity {
            return Ok(Tensor::ones(x.shape()));
        }
        let mut y = x.to_vec();
        let mut d = vec![0.0; y.len()];
        self.forward_rows_keeping_derivative(&mut y, &mut d, 1);
        Tensor::from_vec(d, x.shape())
    }

    /// The Jacobian `dh(x)/dx` of each row (the last axis): for `x` of shape `(..., n)` a
    /// tensor of shape `(..., n, n)` whose entry `[.., i, j]` is `dy_i/dx_j`. Diagonal for the
    /// element-wise activations; `diag(y) - y y^T` for softmax, whose rows therefore sum to 0.
    /// Computed by the activation's own backward pass, one unit vector at a time.
    ///
    /// ```
    /// use neurite::{nn::Activation, Tensor};
    /// let j = Activation::Softmax.jacobian(&Tensor::vector(&[0.0, 0.0]))?;
    /// assert_eq!(j.shape(), &[2, 2]);
    /// assert_eq!(j.to_vec(), vec![0.25, -0.25, -0.25, 0.25]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn jacobian(&self, x: &Tensor) -> Result<Tensor> {
        self.validate()?;
        let n = *x.shape().last().ok_or_else(|| {
            Error::Shape(format!("{}: the Jacobian needs at least one axis, got a 0-d tensor", self.name()))
        })?;
        let mut shape = x.shape().to_vec();
        shape.push(n);
        let mut y = x.to_vec();
        let mut d = vec![0.0; y.len()];
        self.forward_rows_keeping_derivative(&mut y, &mut d, n);
        let mut out = vec![0.0f32; y.len() * n];
        let mut column = vec![0.0f32; n];
        // dy_i/dx_j is the backward pass of the unit vector e_i, read at j: row i of J.
        for ((yr, dr), jr) in y.chunks_exact(n).zip(d.chunks_exact(n)).zip(out.chunks_exact_mut(n * n)) {
            for (i, j_row) in jr.chunks_exact_mut(n).enumerate() {
                column.fill(0.0);
                column[i] = 1.0;
                self.backward_rows(yr, dr, &mut column, n);
                j_row.copy_from_slice(&column);
            }
        }
        // The backward pass gives rows of J^T; J is symmetric for every activation here, but
        // transpose anyway so that the definition does not depend on it.
        for block in out.chunks_exact_mut(n * n) {
            for i in 0..n {
                for j in i + 1..n {
                    block.swap(i * n + j, j * n + i);
                }
            }
        }
        Tensor::from_vec(out, &shape)
    }

    /// `h(x)` on an autograd variable (softmax over the last axis).
    pub fn apply(&self, x: &Var) -> Result<Var> {
        x.activate(*self)
    }
}
