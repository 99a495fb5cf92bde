//! Shape operations: `reshape` (one `-1` inferred), `view`, `transpose`, `permute`,
//! `squeeze`/`unsqueeze`, `flatten`, `cat`, `stack`, `narrow`, `select`, `index_select`.
//! All but `cat`, `stack` and `index_select` are views when the layout allows it.

use super::shape::{contiguous_strides, infer_shape, normalize_axis};
use super::Tensor;
use crate::error::{shape_str, Error, Result};

impl Tensor {
    /// The same elements in a new shape; one dimension may be `-1` and is inferred
    /// (`x.reshape(&[-1, 784])`). A view when the tensor is contiguous, else a copy.
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let shape = infer_shape("reshape", &self.shape, shape)?;
        let base = if self.is_contiguous() { self.clone() } else { self.contiguous() };
        let strides = contiguous_strides(&shape);
        Ok(base.with_layout(shape, strides, base.offset))
    }

    /// Like `reshape`, but never copies: errors when the tensor is not contiguous, as
    /// PyTorch's `view` does.
    pub fn view(&self, shape: &[isize]) -> Result<Tensor> {
        if !self.is_contiguous() {
            return Err(Error::Shape(format!(
                "view: the tensor of shape {} is not contiguous (strides {:?}); use reshape, which copies",
                shape_str(&self.shape),
                self.strides
            )));
        }
        self.reshape(shape)
    }

    /// All elements in one dimension.
    pub fn flatten(&self) -> Tensor {
        let n = self.size() as isize;
        self.reshape(&[n]).unwrap_or_else(|_| self.clone())
    }

    /// Swaps two axes (a view).
    pub fn transpose(&self, axis0: isize, axis1: isize) -> Result<Tensor> {
        let a = normalize_axis("transpose", axis0, self.ndim())?;
        let b = normalize_axis("transpose", axis1, self.ndim())?;
        let (mut shape, mut strides) = (self.shape.clone(), self.strides.clone());
        shape.swap(a, b);
        strides.swap(a, b);
        Ok(self.with_layout(shape, strides, self.offset))
    }

    /// The matrix transpose of a 2-D tensor (1-D and 0-d are returned as they are).
    pub fn t(&self) -> Result<Tensor> {
        match self.ndim() {
            0 | 1 => Ok(self.clone()),
            2 => self.transpose(0, 1),
            n => Err(Error::Shape(format!(
                "t: expects a tensor of at most 2 dimensions, got {n}; use transpose or permute"
            ))),
        }
    }

    /// Reorders the axes: axis `i` of the result is axis `order[i]` of `self` (a view).
    pub fn permute(&self, order: &[usize]) -> Result<Tensor> {
        let mut seen = vec![false; self.ndim()];
        if order.len() != self.ndim()
            || order.iter().any(|&a| a >= self.ndim() || std::mem::replace(&mut seen[a], true))
        {
            return Err(Error::Shape(format!(
                "permute: {order:?} is not a permutation of the {} axes of shape {}",
                self.ndim(),
                shape_str(&self.shape)
            )));
        }
        let shape = order.iter().map(|&a| self.shape[a]).collect();
        let strides = order.iter().map(|&a| self.strides[a]).collect();
        Ok(self.with_layout(shape, strides, self.offset))
    }

    /// Removes every axis of size 1.
    pub fn squeeze(&self) -> Tensor {
        let (shape, strides) =
            self.shape.iter().zip(&self.strides).filter(|(&d, _)| d != 1).map(|(&d, &s)| (d, s)).unzip();
        self.with_layout(shape, strides, self.offset)
    }

    /// Removes `axis` if its size is 1 (otherwise returns the tensor unchanged, as PyTorch).
    pub fn squeeze_axis(&self, axis: isize) -> Result<Tensor> {
        let a = normalize_axis("squeeze", axis, self.ndim())?;
        if self.shape[a] != 1 {
            return Ok(self.clone());
        }
        let (mut shape, mut strides) = (self.shape.clone(), self.strides.clone());
        shape.remove(a);
        strides.remove(a);
        Ok(self.with_layout(shape, strides, self.offset))
    }

    /// Inserts an axis of size 1 at `axis` (`-1` appends one at the end).
    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let a = normalize_axis("unsqueeze", axis, self.ndim() + 1)?;
        let (mut shape, mut strides) = (self.shape.clone(), self.strides.clone());
        let stride = if a < self.ndim() { self.strides[a] * self.shape[a] } else { 1 };
        shape.insert(a, 1);
        strides.insert(a, stride);
        Ok(self.with_layout(shape, strides, self.offset))
    }

    /// Joins tensors along an existing axis (`np.concatenate`, `torch.cat`).
    pub fn cat(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| Error::Value("cat: expects at least one tensor".into()))?;
        let axis = normalize_axis("cat", axis, first.ndim())?;
        for t in tensors {
            let same = t.ndim() == first.ndim()
                && t.shape.iter().zip(&first.shape).enumerate().all(|(i, (a, b))| i == axis || a == b);
            if !same {
                return Err(Error::Shape(format!(
                    "cat: shapes {} and {} differ outside axis {axis}",
                    shape_str(&first.shape),
                    shape_str(&t.shape)
                )));
            }
        }
        let outer: usize = first.shape[..axis].iter().product();
        let parts: Vec<(Vec<f32>, usize)> =
            tensors.iter().map(|t| (t.to_vec(), t.shape[axis..].iter().product::<usize>())).collect();
        let mut data = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
        for o in 0..outer {
            for (values, chunk) in &parts {
                data.extend_from_slice(&values[o * chunk..(o + 1) * chunk]);
            }
        }
        let mut shape = first.shape.clone();
        shape[axis] = tensors.iter().map(|t| t.shape[axis]).sum();
        Ok(Tensor::from_parts(data, &shape))
    }

    /// Joins tensors of one shape along a new axis (`np.stack`, `torch.stack`).
    pub fn stack(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors.first().ok_or_else(|| Error::Value("stack: expects at least one tensor".into()))?;
        if let Some(t) = tensors.iter().find(|t| t.shape != first.shape) {
            return Err(Error::Shape(format!(
                "stack: every tensor must have the same shape, got {} and {}",
                shape_str(&first.shape),
                shape_str(&t.shape)
            )));
        }
        let expanded = tensors.iter().map(|t| t.unsqueeze(axis)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Tensor> = expanded.iter().collect();
        Tensor::cat(&refs, axis)
    }

    /// The elements `start..start + len` along `axis` (a view).
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor> {
        let a = normalize_axis("narrow", axis, self.ndim())?;
        if start.checked_add(len).is_none_or(|end| end > self.shape[a]) {
            return Err(Error::Index(format!(
                "narrow: {start}..{} is out of range for axis {axis} of shape {}",
                start.saturating_add(len),
                shape_str(&self.shape)
            )));
        }
        let mut shape = self.shape.clone();
        shape[a] = len;
        Ok(self.with_layout(shape, self.strides.clone(), self.offset + start * self.strides[a]))
    }

    /// The slice at `index` along `axis`, with that axis removed (`x[i]` for axis 0).
    pub fn select(&self, axis: isize, index: usize) -> Result<Tensor> {
        let a = normalize_axis("select", axis, self.ndim())?;
        if index >= self.shape[a] {
            return Err(Error::Index(format!(
                "select: index {index} is out of bounds for axis {axis} with size {}",
                self.shape[a]
            )));
        }
        self.narrow(axis, index, 1)?.squeeze_axis(a as isize)
    }

    /// The slices at `indices` along `axis`, gathered into a new tensor (`x[idx]`).
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Tensor> {
        let a = normalize_axis("index_select", axis, self.ndim())?;
        let n = self.shape[a];
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(Error::Index(format!(
                "index_select: index {bad} is out of range for axis {a} of shape {}",
                shape_str(&self.shape)
            )));
        }
        // Whole runs copied at once: the rows of a batch gathered from a data set are one
        // copy each (a view is made contiguous first).
        let src = self.contiguous();
        let data = src.as_slice().unwrap_or(&[]);
        let outer: usize = self.shape[..a].iter().product();
        let inner: usize = self.shape[a + 1..].iter().product();
        let mut out = Vec::with_capacity(outer * indices.len() * inner);
        for o in 0..outer {
            let base = o * n * inner;
            for &i in indices {
                out.extend_from_slice(&data[base + i * inner..base + (i + 1) * inner]);
            }
        }
        let mut shape = self.shape.clone();
        shape[a] = indices.len();
        Ok(Tensor::from_parts(out, &shape))
    }
}
