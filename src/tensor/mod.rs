//! n-dimensional f32 tensors with NumPy/PyTorch semantics.
//!
//! A [`Tensor`] is a strided view over shared, reference-counted storage: `reshape` of a
//! contiguous tensor, `transpose`, `squeeze`, `broadcast_to` and `narrow` cost no copy.
//! Writes never reach through a view: the in-place methods (`add_`, `fill_`, ...) take
//! `&mut self` and copy the storage first if anyone else shares it, so a tensor you hold
//! never changes behind your back (the Rust way, where NumPy and PyTorch would alias).
//!
//! Every operation that can fail on shapes or indices returns [`Result`], with a message
//! naming the shapes (`dot: shapes (3, 2) and (3,) not aligned: 2 (dim 1) != 3 (dim 0)`).
//!
//! ```
//! use neurite::Tensor;
//! let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0]]);
//! let b = Tensor::matrix([[5.0, 6.0], [7.0, 8.0]]);
//! assert_eq!(a.dot(&b)?.to_vec(), vec![19.0, 22.0, 43.0, 50.0]);
//! let x = Tensor::arange(9).reshape(&[-1, 3])?;
//! assert_eq!(x.shape(), &[3, 3]);
//! assert_eq!(x.sum_axis(0, false)?.to_vec(), vec![9.0, 12.0, 15.0]);
//! # Ok::<(), neurite::Error>(())
//! ```
//!
//! The operators `+ - * /` between tensors (owned or borrowed) broadcast and give a
//! [`Result`], so a chain ends with one `?`; with a number on either side they cannot fail
//! and give a tensor. `Display` prints a tensor as PyTorch prints one (`Debug` adds the
//! shape).
//!
//! ```
//! use neurite::Tensor;
//! let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0]]);
//! let b = Tensor::vector(&[10.0, 20.0]);
//! let y = (&a * &b + &a)?;
//! assert_eq!(y.to_vec(), vec![11.0, 42.0, 33.0, 84.0]);
//! assert_eq!(y.to_string(), "tensor([[11., 42.],\n        [33., 84.]])");
//! assert_eq!((1.0 - &a / 4.0).to_vec(), vec![0.75, 0.5, 0.25, 0.0]);
//! let err = (&a + &Tensor::vector(&[1.0, 2.0, 3.0])).unwrap_err();
//! assert!(err.to_string().contains("shapes (2, 2) (3,)"));
//! # Ok::<(), neurite::Error>(())
//! ```

mod display;
mod elementwise;
mod linalg;
mod manip;
mod operators;
mod reduce;
pub mod shape;

use std::sync::Arc;

pub(crate) use elementwise::sum_to_shape;
pub use elementwise::Operand;

use crate::error::{shape_str, Error, Result};
use crate::rng::Rng;
use shape::{contiguous_strides, numel, OffsetIter};

/// An n-dimensional array of f32 (see the [module documentation](self)).
#[derive(Clone)]
pub struct Tensor {
    data: Arc<Vec<f32>>,
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
}

// ---------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------
impl Tensor {
    /// A tensor of `shape` owning `data` (row-major). Errors when the lengths differ.
    ///
    /// ```
    /// let t = neurite::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// assert_eq!(t.shape(), &[2, 3]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        if data.len() != numel(shape) {
            return Err(Error::Shape(format!(
                "from_vec: {} values cannot fill shape {} ({} elements)",
                data.len(),
                shape_str(shape),
                numel(shape)
            )));
        }
        Ok(Tensor::from_parts(data, shape))
    }

    /// Like [`Tensor::from_vec`], copying from a slice.
    pub fn from_slice(data: &[f32], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// Internal constructor for data whose length is known to match.
    pub(crate) fn from_parts(data: Vec<f32>, shape: &[usize]) -> Tensor {
        debug_assert_eq!(data.len(), numel(shape));
        Tensor { data: Arc::new(data), strides: contiguous_strides(shape), shape: shape.to_vec(), offset: 0 }
    }

    /// A 1-D tensor.
    pub fn vector(values: &[f32]) -> Tensor {
        Tensor::from_parts(values.to_vec(), &[values.len()])
    }

    /// A 2-D tensor from rows of equal length, checked at compile time.
    ///
    /// ```
    /// let w = neurite::Tensor::matrix([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]);
    /// assert_eq!(w.shape(), &[2, 3]);
    /// ```
    pub fn matrix<const R: usize, const C: usize>(rows: [[f32; C]; R]) -> Tensor {
        Tensor::from_parts(rows.iter().flatten().copied().collect(), &[R, C])
    }

    /// A 0-d tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_parts(vec![value], &[])
    }

    /// All zeros.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// All ones.
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// Every element equal to `value`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::from_parts(vec![value; numel(shape)], shape)
    }

    /// Zeros with the shape of `other`.
    pub fn zeros_like(other: &Tensor) -> Tensor {
        Tensor::zeros(other.shape())
    }

    /// Ones with the shape of `other`.
    pub fn ones_like(other: &Tensor) -> Tensor {
        Tensor::ones(other.shape())
    }

    /// `[0, 1, ..., n-1]`, as `np.arange(n)`.
    pub fn arange(n: usize) -> Tensor {
        Tensor::from_parts((0..n).map(|i| i as f32).collect(), &[n])
    }

    /// `start, start + step, ...` below `end` (above it for a negative step), as
    /// `np.arange(start, end, step)`.
    pub fn arange_step(start: f32, end: f32, step: f32) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::Value(format!(
                "arange: start {start}, end {end}, step {step} do not make a finite range"
            )));
        }
        let n = ((end as f64 - start as f64) / step as f64).ceil().max(0.0);
        if n > (1u64 << 32) as f64 {
            return Err(Error::Value(format!("arange: start {start}, end {end}, step {step} make {n:e} elements")));
        }
        let n = n as usize;
        Ok(Tensor::from_parts((0..n).map(|i| start + i as f32 * step).collect(), &[n]))
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive, as `np.linspace`.
    pub fn linspace(start: f32, end: f32, steps: usize) -> Tensor {
        let data = match steps {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (end as f64 - start as f64) / (steps - 1) as f64;
                (0..steps).map(|i| if i == steps - 1 { end } else { (start as f64 + step * i as f64) as f32 }).collect()
            }
        };
        Tensor::from_parts(data, &[steps])
    }

    /// The `n x n` identity matrix.
    pub fn eye(n: usize) -> Tensor {
        let mut data = vec![0.0; n * n];
        for i in 0..n {
            data[i * n + i] = 1.0;
        }
        Tensor::from_parts(data, &[n, n])
    }

    /// Uniform in `[0, 1)`, from a seeded generator (`torch.rand`).
    pub fn rand(shape: &[usize], rng: &mut Rng) -> Tensor {
        Tensor::from_parts((0..numel(shape)).map(|_| rng.next_f32()).collect(), shape)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(shape: &[usize], low: f32, high: f32, rng: &mut Rng) -> Tensor {
        Tensor::from_parts((0..numel(shape)).map(|_| rng.uniform(low, high)).collect(), shape)
    }

    /// Standard normal samples (`torch.randn`).
    pub fn randn(shape: &[usize], rng: &mut Rng) -> Tensor {
        Tensor::from_parts((0..numel(shape)).map(|_| rng.normal()).collect(), shape)
    }

    /// From bytes (grey levels, labels): each `u8` becomes its f32 value.
    pub fn from_u8(data: &[u8], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.iter().map(|&b| b as f32).collect(), shape)
    }

    /// From integers (class indices).
    pub fn from_i64(data: &[i64], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.iter().map(|&v| v as f32).collect(), shape)
    }

    /// From booleans: true is 1, false is 0.
    pub fn from_bool(data: &[bool], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect(), shape)
    }
}

// ---------------------------------------------------------------------------------------
// Inspection and access
// ---------------------------------------------------------------------------------------
impl Tensor {
    /// The size of each dimension.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions (the rank): `ndim` in NumPy, `dim()` in PyTorch.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Total number of elements (`size` in NumPy, `numel()` in PyTorch).
    pub fn size(&self) -> usize {
        numel(&self.shape)
    }

    /// Length of the first dimension, as Python's `len()` (0 for a 0-d tensor).
    pub fn len(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.size() == 0
    }

    /// The strides of each dimension, in elements.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// Whether the elements lie in row-major order without gaps.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            // Saturating as `contiguous_strides` is: an empty tensor's other dimensions may
            // multiply past usize (a file can declare (2, 0, 777713, 7.7e17)).
            expected = expected.saturating_mul(d);
        }
        true
    }

    /// The elements as a slice, when the tensor is contiguous.
    pub fn as_slice(&self) -> Option<&[f32]> {
        self.is_contiguous().then(|| &self.data[self.offset..self.offset + self.size()])
    }

    /// The elements in row-major order, copied out.
    pub fn to_vec(&self) -> Vec<f32> {
        match self.as_slice() {
            Some(s) => s.to_vec(),
            None => self.offsets().map(|o| self.data[o]).collect(),
        }
    }

    /// The elements rounded toward zero and saturated to `0..=255`.
    pub fn to_u8(&self) -> Vec<u8> {
        self.to_vec().into_iter().map(|v| v as u8).collect()
    }

    /// The elements as integers, truncated toward zero (NumPy's `astype(int)`).
    pub fn to_i64(&self) -> Vec<i64> {
        self.to_vec().into_iter().map(|v| v as i64).collect()
    }

    /// The elements as booleans: non-zero is true.
    pub fn to_bool(&self) -> Vec<bool> {
        self.to_vec().into_iter().map(|v| v != 0.0).collect()
    }

    /// A contiguous tensor with the same values (no copy if it already is one).
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() && self.offset == 0 && self.data.len() == self.size() {
            self.clone()
        } else {
            Tensor::from_parts(self.to_vec(), &self.shape)
        }
    }

    /// The single value of a tensor with one element (PyTorch's `item()`).
    pub fn item(&self) -> Result<f32> {
        if self.size() != 1 {
            return Err(Error::Shape(format!(
                "item: only a tensor with one element can be converted to a scalar, got shape {}",
                shape_str(&self.shape)
            )));
        }
        Ok(self.data[self.offset])
    }

    /// The element at a full index, e.g. `t.get(&[1, 2])`.
    pub fn get(&self, index: &[usize]) -> Result<f32> {
        Ok(self.data[self.offset_of("get", index)?])
    }

    /// Sets the element at a full index (copying shared storage first).
    pub fn set(&mut self, index: &[usize], value: f32) -> Result<()> {
        self.offset_of("set", index)?;
        let logical: usize = index.iter().zip(contiguous_strides(&self.shape)).map(|(i, s)| i * s).sum();
        self.make_unique_contiguous()[logical] = value;
        Ok(())
    }

    fn offset_of(&self, op: &str, index: &[usize]) -> Result<usize> {
        if index.len() != self.ndim() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            return Err(Error::Index(format!(
                "{op}: index {index:?} is out of bounds for shape {}",
                shape_str(&self.shape)
            )));
        }
        Ok(self.offset + index.iter().zip(&self.strides).map(|(i, s)| i * s).sum::<usize>())
    }

    /// Storage offsets of the elements in row-major order.
    pub(crate) fn offsets(&self) -> OffsetIter {
        OffsetIter::new(&self.shape, &self.strides, self.offset)
    }

    /// Makes the storage unique and contiguous, then returns it for writing.
    pub(crate) fn make_unique_contiguous(&mut self) -> &mut [f32] {
        let simple = self.is_contiguous() && self.offset == 0 && self.data.len() == self.size();
        if !simple {
            *self = Tensor::from_parts(self.to_vec(), &self.shape);
        }
        Arc::make_mut(&mut self.data).as_mut_slice()
    }

    /// The raw storage and this view's layout, for kernels that read strides directly.
    pub(crate) fn raw(&self) -> (&[f32], &[usize], usize) {
        (&self.data, &self.strides, self.offset)
    }

    /// Whether two tensors view the same storage (used by tests of no-copy views).
    pub fn shares_storage_with(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }

    /// A view with another layout over the same storage.
    pub(crate) fn with_layout(&self, shape: Vec<usize>, strides: Vec<usize>, offset: usize) -> Tensor {
        Tensor { data: Arc::clone(&self.data), shape, strides, offset }
    }

    /// True when the shapes match and every pair of elements differs by at most
    /// `atol + rtol * |other|` (NumPy's `allclose`).
    pub fn allclose(&self, other: &Tensor, rtol: f32, atol: f32) -> bool {
        self.shape == other.shape
            && self.to_vec().iter().zip(other.to_vec()).all(|(&a, b)| (a - b).abs() <= atol + rtol * b.abs() || a == b)
    }
}

impl PartialEq for Tensor {
    /// Equal shapes and equal values (not storage identity).
    fn eq(&self, other: &Tensor) -> bool {
        self.shape == other.shape && self.to_vec() == other.to_vec()
    }
}
