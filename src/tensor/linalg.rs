//! `dot` with NumPy's rules and `matmul` with PyTorch's batching, both on the strided GEMM
//! kernel: transposed operands are read through their strides, never copied.

use super::shape::{broadcast_shapes, numel, OffsetIter};
use super::Tensor;
use crate::error::{shape_str, Error, Result};
use crate::kernels::{gemm, MatLayout};

fn not_aligned(op: &str, a: &[usize], b: &[usize], da: usize, db: usize) -> Error {
    Error::Shape(format!(
        "{op}: shapes {} and {} not aligned: {} (dim {da}) != {} (dim {db})",
        shape_str(a),
        shape_str(b),
        a[da],
        b[db]
    ))
}

impl Tensor {
    /// The strided layout of a 2-D tensor, for the GEMM kernel.
    fn mat_layout(&self) -> MatLayout {
        let (_, strides, offset) = self.raw();
        MatLayout { rows: self.shape[0], cols: self.shape[1], row_stride: strides[0], col_stride: strides[1], offset }
    }

    /// Product of two 2-D tensors whose inner dimensions are already known to agree.
    fn matmul_2d(&self, other: &Tensor) -> Result<Tensor> {
        let (m, n) = (self.shape[0], other.shape[1]);
        let mut out = vec![0.0; m * n];
        gemm(
            1.0,
            self.raw().0,
            self.mat_layout(),
            other.raw().0,
            other.mat_layout(),
            0.0,
            &mut out,
            MatLayout::row_major(m, n),
        )?;
        Ok(Tensor::from_parts(out, &[m, n]))
    }

    /// NumPy's `dot`:
    /// - 1-D · 1-D: inner product (a 0-d tensor);
    /// - a 0-d operand: multiplication by a scalar;
    /// - 2-D · 2-D: the matrix product;
    /// - N-D · 1-D: sum product over the last axis of `self` and `other`;
    /// - N-D · M-D (M >= 2): sum product over the last axis of `self` and the second-to-last
    ///   of `other`, giving shape `self.shape[:-1] + other.shape[:-2] + other.shape[-1:]`.
    ///
    /// ```
    /// use neurite::Tensor;
    /// let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// let b = Tensor::vector(&[7.0, 8.0]);
    /// assert_eq!(a.dot(&b)?.to_vec(), vec![23.0, 53.0, 83.0]);
    /// let err = a.dot(&Tensor::vector(&[1.0, 2.0, 3.0])).unwrap_err();
    /// assert!(err.to_string().contains("shapes (3, 2) and (3,) not aligned: 2 (dim 1) != 3 (dim 0)"));
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn dot(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self, other);
        match (a.ndim(), b.ndim()) {
            (0, _) => b.mul(a.item()?),
            (_, 0) => a.mul(b.item()?),
            (1, 1) => {
                if a.shape[0] != b.shape[0] {
                    return Err(not_aligned("dot", &a.shape, &b.shape, 0, 0));
                }
                let s: f64 = a.to_vec().iter().zip(b.to_vec()).map(|(&x, y)| x as f64 * y as f64).sum();
                Ok(Tensor::scalar(s as f32))
            }
            (2, 2) => {
                if a.shape[1] != b.shape[0] {
                    return Err(not_aligned("dot", &a.shape, &b.shape, 1, 0));
                }
                a.matmul_2d(b)
            }
            (na, 1) => {
                let k = a.shape[na - 1];
                if k != b.shape[0] {
                    return Err(not_aligned("dot", &a.shape, &b.shape, na - 1, 0));
                }
                let a2 = a.reshape(&[-1, k as isize])?;
                let out = a2.matmul_2d(&b.reshape(&[k as isize, 1])?)?;
                out.reshape(&to_isize(&a.shape[..na - 1]))
            }
            (na, nb) => {
                let k = a.shape[na - 1];
                if k != b.shape[nb - 2] {
                    return Err(not_aligned("dot", &a.shape, &b.shape, na - 1, nb - 2));
                }
                // Bring b's contracted axis to the front: (K, batch..., M) -> (K, batch*M).
                let mut order = vec![nb - 2];
                order.extend(0..nb - 2);
                order.push(nb - 1);
                let b2 = b.permute(&order)?.reshape(&[k as isize, -1])?;
                let a2 = a.reshape(&[-1, k as isize])?;
                let out = a2.matmul_2d(&b2)?;
                let mut shape = a.shape[..na - 1].to_vec();
                shape.extend_from_slice(&b.shape[..nb - 2]);
                shape.push(b.shape[nb - 1]);
                out.reshape(&to_isize(&shape))
            }
        }
    }

    /// PyTorch's `linear`: `self W^T + b` for `self` of shape `(..., in)`, `weight` of shape
    /// `(out, in)` (PyTorch's layout, read in place through its strides) and `bias` of shape
    /// `(out,)`: one product, the bias written first and the product added to it.
    ///
    /// ```
    /// use neurite::Tensor;
    /// let x = Tensor::matrix([[1.0, 2.0]]);
    /// let w = Tensor::matrix([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
    /// let y = x.linear(&w, Some(&Tensor::vector(&[0.5, 0.5, 0.5])))?;
    /// assert_eq!(y.to_vec(), vec![1.5, 2.5, 3.5]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let (out_f, in_f) = match weight.shape() {
            [o, i] => (*o, *i),
            other => {
                return Err(Error::Shape(format!("linear: the weight must be 2-D (out, in), got {}", shape_str(other))))
            }
        };
        if self.ndim() == 0 || self.shape[self.ndim() - 1] != in_f {
            return Err(Error::Shape(format!(
                "linear: inputs of shape {} do not fit a weight of shape {} (inputs need {in_f} features in their last axis)",
                shape_str(&self.shape),
                shape_str(weight.shape())
            )));
        }
        if let Some(b) = bias {
            if b.shape() != [out_f] {
                return Err(Error::Shape(format!(
                    "linear: a bias of shape {} for a weight of shape {} (it needs ({out_f},))",
                    shape_str(b.shape()),
                    shape_str(weight.shape())
                )));
            }
        }
        let x = self.contiguous();
        let rows = x.size() / in_f.max(1);
        let mut out = match bias {
            Some(b) => b.contiguous().to_vec().repeat(rows),
            None => vec![0.0; rows * out_f],
        };
        let (wd, ws, woff) = weight.raw();
        let w_t = MatLayout { rows: in_f, cols: out_f, row_stride: ws[1], col_stride: ws[0], offset: woff };
        let beta = if bias.is_some() { 1.0 } else { 0.0 };
        gemm(
            1.0,
            x.raw().0,
            MatLayout::row_major(rows, in_f),
            wd,
            w_t,
            beta,
            &mut out,
            MatLayout::row_major(rows, out_f),
        )?;
        let mut shape = self.shape[..self.ndim() - 1].to_vec();
        shape.push(out_f);
        Ok(Tensor::from_parts(out, &shape))
    }

    /// PyTorch's `matmul`: 1-D operands are promoted to matrices (and the added dimension
    /// removed afterwards); for more than two dimensions the leading ones are batch
    /// dimensions and broadcast.
    ///
    /// ```
    /// use neurite::{Rng, Tensor};
    /// let mut rng = Rng::new(0);
    /// let x = Tensor::randn(&[10, 3, 4], &mut rng);
    /// let w = Tensor::randn(&[4, 5], &mut rng);
    /// assert_eq!(x.matmul(&w)?.shape(), &[10, 3, 5]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self, other);
        if a.ndim() == 0 || b.ndim() == 0 {
            return Err(Error::Shape(format!(
                "matmul: both operands need at least one dimension, got {} and {}",
                shape_str(&a.shape),
                shape_str(&b.shape)
            )));
        }
        if a.ndim() == 1 && b.ndim() == 1 {
            return a.dot(b);
        }
        // A 1-D operand is promoted to a matrix below; check it first, so that the error
        // names the shapes the caller passed.
        let (na, nb) = (a.ndim(), b.ndim());
        let (inner_a, inner_b) = (if na == 1 { 0 } else { na - 1 }, if nb == 1 { 0 } else { nb - 2 });
        if a.shape[inner_a] != b.shape[inner_b] {
            return Err(not_aligned("matmul", &a.shape, &b.shape, inner_a, inner_b));
        }
        if a.ndim() == 1 {
            let out = a.unsqueeze(0)?.matmul(b)?;
            return out.squeeze_axis(-2);
        }
        if b.ndim() == 1 {
            let out = a.matmul(&b.unsqueeze(1)?)?;
            return out.squeeze_axis(-1);
        }
        let (m, k, n) = (a.shape[na - 2], a.shape[na - 1], b.shape[nb - 1]);
        if na == 2 && nb == 2 {
            return a.matmul_2d(b);
        }
        let batch = broadcast_shapes("matmul", &a.shape[..na - 2], &b.shape[..nb - 2])?;
        let mut full_a = batch.clone();
        full_a.extend_from_slice(&[m, k]);
        let mut full_b = batch.clone();
        full_b.extend_from_slice(&[k, n]);
        let (a, b) = (a.broadcast_to(&full_a)?, b.broadcast_to(&full_b)?);
        let nbatch = batch.len();
        let count = numel(&batch);
        let mut out = vec![0.0; count * m * n];
        let (da, sa, _) = a.raw();
        let (db, sb, _) = b.raw();
        let a_offsets = OffsetIter::new(&batch, &sa[..nbatch], a.offset);
        let b_offsets = OffsetIter::new(&batch, &sb[..nbatch], b.offset);
        for (i, (oa, ob)) in a_offsets.zip(b_offsets).enumerate() {
            let la = MatLayout { rows: m, cols: k, row_stride: sa[nbatch], col_stride: sa[nbatch + 1], offset: oa };
            let lb = MatLayout { rows: k, cols: n, row_stride: sb[nbatch], col_stride: sb[nbatch + 1], offset: ob };
            gemm(1.0, da, la, db, lb, 0.0, &mut out[i * m * n..(i + 1) * m * n], MatLayout::row_major(m, n))?;
        }
        let mut shape = batch;
        shape.extend_from_slice(&[m, n]);
        Ok(Tensor::from_parts(out, &shape))
    }
}

fn to_isize(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&d| d as isize).collect()
}
