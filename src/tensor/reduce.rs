//! Reductions over all elements or along one axis: `sum`, `mean`, `max`, `min`, `argmax`,
//! `argmin`. Sums accumulate in f64, so the result does not depend on how long the axis is.
//!
//! A reduction returns a `Result` exactly when it can fail: `sum` of nothing is 0, as in
//! NumPy, so it cannot; `mean`, `max`, `min` and the arg-reductions of nothing have no value,
//! so they are an error (NumPy gives NaN with a warning for the mean, and raises for the
//! others). An axis out of range is an error for all of them. The arg-reductions give
//! integer indices.

use super::shape::{normalize_axis, numel};
use super::Tensor;
use crate::error::{shape_str, Error, Result};

impl Tensor {
    /// Reduces each lane along `axis` with `f`, which sees the lane's values in order.
    fn reduce_lanes(
        &self,
        op: &str,
        axis: isize,
        keepdim: bool,
        f: impl Fn(&mut dyn Iterator<Item = f32>) -> f32,
    ) -> Result<Tensor> {
        let axis = normalize_axis(op, axis, self.ndim())?;
        let c = self.contiguous();
        let data = c.as_slice().unwrap_or(&[]);
        let n = self.shape[axis];
        let outer = numel(&self.shape[..axis]);
        let inner = numel(&self.shape[axis + 1..]);
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            let base = o * n * inner;
            for i in 0..inner {
                let mut lane = (0..n).map(|k| data[base + k * inner + i]);
                out.push(f(&mut lane));
            }
        }
        let mut shape = self.shape.clone();
        if keepdim {
            shape[axis] = 1;
        } else {
            shape.remove(axis);
        }
        Ok(Tensor::from_parts(out, &shape))
    }

    fn nonempty(&self, op: &str) -> Result<()> {
        if self.is_empty() {
            return Err(Error::Shape(format!("{op}: the tensor of shape {} is empty", shape_str(&self.shape))));
        }
        Ok(())
    }

    fn nonempty_axis(&self, op: &str, axis: isize) -> Result<()> {
        let a = normalize_axis(op, axis, self.ndim())?;
        if self.shape[a] == 0 {
            return Err(Error::Shape(format!("{op}: axis {axis} of shape {} is empty", shape_str(&self.shape))));
        }
        Ok(())
    }

    /// Sum of all elements, as a 0-d tensor.
    pub fn sum(&self) -> Tensor {
        let s: f64 = self.to_vec().iter().map(|&v| v as f64).sum();
        Tensor::scalar(s as f32)
    }

    /// Sum along `axis` (negative counts from the end); `keepdim` keeps it with size 1.
    pub fn sum_axis(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.reduce_lanes("sum", axis, keepdim, |lane| lane.map(|v| v as f64).sum::<f64>() as f32)
    }

    /// Mean of all elements; an empty tensor has none, which is an error.
    pub fn mean(&self) -> Result<Tensor> {
        self.nonempty("mean")?;
        let s: f64 = self.to_vec().iter().map(|&v| v as f64).sum();
        Ok(Tensor::scalar((s / self.size() as f64) as f32))
    }

    /// Mean along `axis` (an empty axis is an error).
    pub fn mean_axis(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.nonempty_axis("mean", axis)?;
        let a = normalize_axis("mean", axis, self.ndim())?;
        let n = self.shape[a] as f64;
        self.reduce_lanes("mean", axis, keepdim, |lane| (lane.map(|v| v as f64).sum::<f64>() / n) as f32)
    }

    /// Largest element (NaN if any is NaN). Errors on an empty tensor.
    pub fn max(&self) -> Result<Tensor> {
        self.nonempty("max")?;
        Ok(Tensor::scalar(self.to_vec().into_iter().fold(f32::NEG_INFINITY, nan_max)))
    }

    /// Largest element along `axis`.
    pub fn max_axis(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.nonempty_axis("max", axis)?;
        self.reduce_lanes("max", axis, keepdim, |lane| lane.fold(f32::NEG_INFINITY, nan_max))
    }

    /// Smallest element (NaN if any is NaN). Errors on an empty tensor.
    pub fn min(&self) -> Result<Tensor> {
        self.nonempty("min")?;
        Ok(Tensor::scalar(self.to_vec().into_iter().fold(f32::INFINITY, nan_min)))
    }

    /// Min-max normalisation to 0..1: `(x - min) / (max - min)` over all elements (a
    /// constant tensor becomes zeros, as scikit-learn's `MinMaxScaler` does). The data
    /// loaders divide grey levels by their format's maximum instead, which is the same for
    /// a fixed range such as 0..255.
    ///
    /// ```
    /// let t = neurite::Tensor::vector(&[2.0, 4.0, 6.0]);
    /// assert_eq!(t.min_max_normalize()?.to_vec(), vec![0.0, 0.5, 1.0]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn min_max_normalize(&self) -> Result<Tensor> {
        let (lo, hi) = (self.min()?.item()?, self.max()?.item()?);
        let range = if hi > lo { hi - lo } else { 1.0 };
        Ok(self.map(|v| (v - lo) / range))
    }

    /// Smallest element along `axis`.
    pub fn min_axis(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.nonempty_axis("min", axis)?;
        self.reduce_lanes("min", axis, keepdim, |lane| lane.fold(f32::INFINITY, nan_min))
    }

    /// Index of the largest element in the flattened tensor (the first on ties), as
    /// `np.argmax` without an axis.
    pub fn argmax(&self) -> Result<usize> {
        self.nonempty("argmax")?;
        Ok(arg_best(&mut self.to_vec().into_iter(), |a, b| a > b))
    }

    /// Index of the smallest element in the flattened tensor.
    pub fn argmin(&self) -> Result<usize> {
        self.nonempty("argmin")?;
        Ok(arg_best(&mut self.to_vec().into_iter(), |a, b| a < b))
    }

    /// The index of the largest element of each lane along `axis` (the first on ties; a NaN
    /// wins, as in NumPy), in the row-major order of the remaining axes: for a batch of
    /// outputs of shape (n, classes), `argmax_axis(1)` is the predicted class of each row.
    ///
    /// ```
    /// let p = neurite::Tensor::matrix([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]);
    /// assert_eq!(p.argmax_axis(1)?, vec![1, 0]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn argmax_axis(&self, axis: isize) -> Result<Vec<usize>> {
        self.arg_lanes("argmax", axis, |a, b| a > b)
    }

    /// The index of the smallest element of each lane along `axis` (see
    /// [`Tensor::argmax_axis`]).
    pub fn argmin_axis(&self, axis: isize) -> Result<Vec<usize>> {
        self.arg_lanes("argmin", axis, |a, b| a < b)
    }

    fn arg_lanes(&self, op: &str, axis: isize, better: impl Fn(f32, f32) -> bool + Copy) -> Result<Vec<usize>> {
        self.nonempty_axis(op, axis)?;
        let axis = normalize_axis(op, axis, self.ndim())?;
        let c = self.contiguous();
        let data = c.as_slice().unwrap_or(&[]);
        let (n, inner) = (self.shape[axis], numel(&self.shape[axis + 1..]));
        let outer = numel(&self.shape[..axis]);
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                out.push(arg_best(&mut (0..n).map(|k| data[o * n * inner + k * inner + i]), better));
            }
        }
        Ok(out)
    }
}

fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

fn nan_min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.min(b)
    }
}

/// Position of the first element that beats all others by `better`; a NaN wins, as in NumPy.
fn arg_best(values: &mut dyn Iterator<Item = f32>, better: impl Fn(f32, f32) -> bool) -> usize {
    let mut best_i = 0;
    let mut best = f32::NAN;
    for (i, v) in values.enumerate() {
        if i == 0 || (!best.is_nan() && (v.is_nan() || better(v, best))) {
            best_i = i;
            best = v;
        }
    }
    best_i
}
