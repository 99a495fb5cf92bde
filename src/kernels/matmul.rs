//! Strided single-precision GEMM, `C = alpha * A B + beta * C`, on two proven kernel crates:
//! `matrixmultiply` for small products (most of the seed model's training step, where it
//! measured faster) and `gemm` for large ones and for long inner dimensions (inference over
//! thousands of rows, wide layers, the first layer's forward product; see BENCHMARKS.md).
//! The smallest (a training step's output layer) run on neurite's own chains instead
//! ([`super::sparse::small_product`]), the same sums as `matrixmultiply`'s without its packing.
//!
//! Operands are described by [`MatLayout`] (rows, columns, row and column strides, offset)
//! so that transposed operands are read in place, never copied.

use std::cell::{Cell, RefCell};

use super::dispatch::ProductKernel;
use crate::error::{Error, Result};
use crate::simd_kernel;

thread_local! {
    static INSIDE_GEMM: Cell<bool> = const { Cell::new(false) };
    /// Where [`gemm`] writes a product column by column before turning it into rows (see
    /// [`writes_columns_first`]); it grows to the largest such product of the thread, once.
    static COLUMNS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Whether the `gemm` crate should write `C = A B` (m x k times k x n, C in rows, beta 0)
/// column by column into scratch memory, to be turned into rows after: when A is read along
/// its rows, B along its columns (a weight read transposed: a dense layer's input gradient),
/// and C is much wider than tall, the crate is 1.5-4x slower writing rows than columns (128
/// x 1024 x 1024: 2.7 against 1.8 ms, and 0.1 ms to turn; 32 x 1024 x 1024: 2.3 against 0.6
/// ms), with the same sums to the bit (BENCHMARKS.md, issue 25). Short inner dimensions gain
/// nothing (128 x 256 x 1024: 0.50 against 0.49 ms).
fn writes_columns_first(la: &MatLayout, lb: &MatLayout, lc: &MatLayout, beta: f32) -> bool {
    let (m, k, n) = (la.rows, la.cols, lb.cols);
    beta == 0.0 && la.col_stride == 1 && lb.row_stride == 1 && lc.col_stride == 1 && 2 * m <= n && k >= 512
}

simd_kernel! {
    /// `dst[i * dst_stride + j] = src[j * rows + i]` for `i < rows`, `j < cols`: a
    /// column-major `rows x cols` matrix into rows, by tiles that stay in the first-level
    /// cache, each written along its rows.
    fn columns_to_rows(src: &[f32], rows: usize, cols: usize, dst: &mut [f32], dst_stride: usize) {
        const TILE: usize = 32;
        for i0 in (0..rows).step_by(TILE) {
            for j0 in (0..cols).step_by(TILE) {
                for i in i0..(i0 + TILE).min(rows) {
                    let row = &mut dst[i * dst_stride..];
                    for j in j0..(j0 + TILE).min(cols) {
                        row[j] = src[j * rows + i];
                    }
                }
            }
        }
    }
}

/// Products of at least this many multiply-adds go to the `gemm` crate.
const LARGE_PRODUCT: usize = 2_000_000;

/// Smaller products with an inner dimension at least this long, read from unit-stride rows
/// of A, go to the `gemm` crate too: the first layer's forward product in a training step
/// (32 x 392 x 50 per thread on the seed model) measured 5-15% faster there, while the
/// weight gradient (inner dimension: the batch) stays faster on `matrixmultiply`.
const LONG_INNER: usize = 256;

/// Whether this thread is inside the GEMM kernel crates right now. Both crates allocate
/// a packing buffer on most calls (recycled at once by the allocator); the allocation guard
/// (`tests/alloc.rs`, an integration test, hence public) uses this to hold neurite's own
/// code to zero allocations per training step. Not part of the API.
#[doc(hidden)]
pub fn inside_gemm() -> bool {
    INSIDE_GEMM.with(Cell::get)
}

/// Marks this thread as inside the GEMM crates until dropped, so that the mark is cleared
/// even if a kernel panics.
struct InsideGemm;

impl InsideGemm {
    fn enter() -> InsideGemm {
        INSIDE_GEMM.with(|f| f.set(true));
        InsideGemm
    }
}

impl Drop for InsideGemm {
    fn drop(&mut self) {
        INSIDE_GEMM.with(|f| f.set(false));
    }
}

/// Where a 2-D matrix lives inside a slice: element `(i, j)` is at
/// `offset + i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatLayout {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance in elements between `(i, j)` and `(i + 1, j)`.
    pub row_stride: usize,
    /// Distance in elements between `(i, j)` and `(i, j + 1)`.
    pub col_stride: usize,
    /// Index of element `(0, 0)`.
    pub offset: usize,
}

impl MatLayout {
    /// A dense row-major `rows x cols` matrix starting at index 0.
    pub fn row_major(rows: usize, cols: usize) -> MatLayout {
        MatLayout { rows, cols, row_stride: cols, col_stride: 1, offset: 0 }
    }

    /// The same storage read as the transpose (no data moves).
    pub fn t(self) -> MatLayout {
        MatLayout {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            offset: self.offset,
        }
    }

    /// One past the largest index this layout touches (0 for an empty matrix); None when
    /// that index does not fit in `usize` or a stride does not fit in `isize`, which the
    /// kernels take.
    fn extent(&self) -> Option<usize> {
        if self.row_stride > isize::MAX as usize || self.col_stride > isize::MAX as usize {
            return None;
        }
        if self.rows == 0 || self.cols == 0 {
            return Some(0);
        }
        let last_row = (self.rows - 1).checked_mul(self.row_stride)?;
        let last_col = (self.cols - 1).checked_mul(self.col_stride)?;
        self.offset.checked_add(last_row)?.checked_add(last_col)?.checked_add(1)
    }

    /// Whether distinct elements are sure to have distinct addresses: the rows (or the
    /// columns) are laid out one after another without interleaving.
    fn is_one_to_one(&self) -> bool {
        let (r, c, rs, cs) = (self.rows, self.cols, self.row_stride, self.col_stride);
        match (r <= 1, c <= 1) {
            (true, true) => true,
            (true, false) => cs >= 1,
            (false, true) => rs >= 1,
            (false, false) => {
                // An overflowing product means a stride no buffer could hold: not one-to-one.
                (cs >= 1 && c.checked_mul(cs).is_some_and(|span| rs >= span))
                    || (rs >= 1 && r.checked_mul(rs).is_some_and(|span| cs >= span))
            }
        }
    }
}

/// `C = alpha * A B + beta * C` for strided operands. When `beta == 0` the old contents of
/// `C` are ignored (they may even be NaN), as in BLAS.
///
/// ```
/// use neurite::kernels::{gemm, MatLayout};
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [5.0, 6.0, 7.0, 8.0];
/// let mut c = [0.0; 4];
/// let l = MatLayout::row_major(2, 2);
/// gemm(1.0, &a, l, &b, l, 0.0, &mut c, l).unwrap();
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    alpha: f32,
    a: &[f32],
    la: MatLayout,
    b: &[f32],
    lb: MatLayout,
    beta: f32,
    c: &mut [f32],
    lc: MatLayout,
) -> Result<()> {
    if la.cols != lb.rows || lc.rows != la.rows || lc.cols != lb.cols {
        return Err(Error::Shape(format!(
            "gemm: ({}, {}) x ({}, {}) cannot be written to ({}, {})",
            la.rows, la.cols, lb.rows, lb.cols, lc.rows, lc.cols
        )));
    }
    let fits = |l: &MatLayout, len: usize| l.extent().is_some_and(|e| e <= len);
    if !(fits(&la, a.len()) && fits(&lb, b.len()) && fits(&lc, c.len())) {
        let show = |l: &MatLayout| l.extent().map_or("beyond usize".to_string(), |e| e.to_string());
        return Err(Error::Index(format!(
            "gemm: operand layout reaches past its buffer (A {} > {}, B {} > {}, C {} > {})",
            show(&la),
            a.len(),
            show(&lb),
            b.len(),
            show(&lc),
            c.len()
        )));
    }
    if !lc.is_one_to_one() {
        return Err(Error::Value(format!(
            "gemm: the output layout (strides {}, {}) maps two elements to one address",
            lc.row_stride, lc.col_stride
        )));
    }
    let (m, k, n) = (la.rows, la.cols, lb.cols);
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        // Nothing to multiply: C = beta * C (and exactly 0 when beta == 0, as BLAS does).
        for i in 0..m {
            for j in 0..n {
                let x = &mut c[lc.offset + i * lc.row_stride + j * lc.col_stride];
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
        }
        return Ok(());
    }
    // Safety of the two calls below: every index that the kernel reads or writes is
    // `offset + i*rs + j*cs` with i < rows, j < cols, which is below `extent()`, checked above
    // against each slice's length; the output layout maps distinct (i, j) to distinct
    // addresses (`is_one_to_one`), and `c` is a unique borrow so it aliases neither input.
    let _inside = InsideGemm::enter();
    let to_gemm_crate = match super::dispatch::product_kernel() {
        ProductKernel::Auto => {
            m.saturating_mul(n).saturating_mul(k) >= LARGE_PRODUCT || (k >= LONG_INNER && la.col_stride == 1)
        }
        ProductKernel::Matrixmultiply => false,
        ProductKernel::Gemm => true,
    };
    // The `gemm` crate, into `dst` with (column stride, row stride) `dst_strides`: the
    // output `c` at its layout, or the column-major scratch below.
    let gemm_crate = |dst: &mut [f32], dst_strides: (usize, usize), beta: f32| {
        // SAFETY: every index the crate reads in `a` and `b` is within its slice (checked
        // above); both callers' `dst` holds the output at `dst_strides` (`c` from its offset,
        // checked above; the scratch has m x n values for column-major strides (m, 1)), maps
        // distinct elements to distinct addresses and, a unique borrow, aliases neither input.
        // `gemm` computes dst = alpha_g * dst + beta_g * A B (its alpha and beta are BLAS's
        // swapped) and reads dst only when asked to.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
                dst_strides.0 as isize,
                dst_strides.1 as isize,
                beta != 0.0,
                a.as_ptr().add(la.offset),
                la.col_stride as isize,
                la.row_stride as isize,
                b.as_ptr().add(lb.offset),
                lb.col_stride as isize,
                lb.row_stride as isize,
                beta,
                alpha,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    };
    if to_gemm_crate && writes_columns_first(&la, &lb, &lc, beta) {
        COLUMNS.with(|columns| {
            let mut columns = columns.borrow_mut();
            if columns.len() < m * n {
                columns.resize(m * n, 0.0);
            }
            gemm_crate(&mut columns[..m * n], (m, 1), 0.0);
            columns_to_rows(&columns[..m * n], m, n, &mut c[lc.offset..], lc.row_stride);
        });
    } else if to_gemm_crate {
        gemm_crate(&mut c[lc.offset..], (lc.col_stride, lc.row_stride), beta);
    } else if alpha == 1.0
        && (beta == 0.0 || beta == 1.0)
        && lb.col_stride == 1
        && lc.col_stride == 1
        && super::sparse::small_product(
            &a[la.offset..],
            la.row_stride,
            la.col_stride,
            m,
            k,
            &b[lb.offset..],
            lb.row_stride,
            n,
            &mut c[lc.offset..],
            lc.row_stride,
            beta == 1.0,
        )
    {
        // A small product, on neurite's own chains (the same sums as `matrixmultiply`).
    } else {
        // SAFETY: see the comment above the checks: every index is within its slice and
        // the output does not overlap itself or the inputs.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                alpha,
                a.as_ptr().add(la.offset),
                la.row_stride as isize,
                la.col_stride as isize,
                b.as_ptr().add(lb.offset),
                lb.row_stride as isize,
                lb.col_stride as isize,
                beta,
                c.as_mut_ptr().add(lc.offset),
                lc.row_stride as isize,
                lc.col_stride as isize,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], la: MatLayout, b: &[f32], lb: MatLayout) -> Vec<f32> {
        let mut out = vec![0.0; la.rows * lb.cols];
        for i in 0..la.rows {
            for j in 0..lb.cols {
                let mut s = 0.0;
                for p in 0..la.cols {
                    s += a[la.offset + i * la.row_stride + p * la.col_stride]
                        * b[lb.offset + p * lb.row_stride + j * lb.col_stride];
                }
                out[i * lb.cols + j] = s;
            }
        }
        out
    }

    #[test]
    fn transposed_operands_are_read_in_place() {
        let a: Vec<f32> = (0..12).map(|x| x as f32).collect(); // 3x4, read as 4x3
        let b: Vec<f32> = (0..15).map(|x| (x as f32) * 0.5).collect(); // 5x3, read as 3x5
        let la = MatLayout::row_major(3, 4).t();
        let lb = MatLayout::row_major(5, 3).t();
        let mut c = vec![f32::NAN; 20];
        gemm(1.0, &a, la, &b, lb, 0.0, &mut c, MatLayout::row_major(4, 5)).unwrap();
        assert_eq!(c, naive(&a, la, &b, lb));
    }

    /// A dense layer's input gradient `delta W^T` with a wide, short output is written by
    /// columns first and turned into rows: the same bits as the crate writing rows, into an
    /// output with its own offset and row stride, everything else untouched.
    #[test]
    fn products_written_by_columns_first_have_the_same_bits() {
        let (m, k, n) = (6, 520, 20);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 * 0.001 - 0.5).collect();
        let b: Vec<f32> = (0..n * k).map(|i| ((i * 104_729) % 1000) as f32 * 0.001 - 0.5).collect();
        let (la, lb) = (MatLayout::row_major(m, k), MatLayout::row_major(n, k).t());
        let lc = MatLayout { rows: m, cols: n, row_stride: n + 3, col_stride: 1, offset: 2 };
        assert!(writes_columns_first(&la, &lb, &lc, 0.0));
        let mut want = vec![f32::NAN; 2 + m * (n + 3)];
        // SAFETY: the layouts fit their buffers (as `gemm` checks); rows written directly.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                want.as_mut_ptr().add(2),
                1,
                (n + 3) as isize,
                false,
                a.as_ptr(),
                1,
                k as isize,
                b.as_ptr(),
                k as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        let mut got = vec![f32::NAN; 2 + m * (n + 3)];
        // An inner dimension this long goes to the `gemm` crate (`LONG_INNER`).
        gemm(1.0, &a, la, &b, lb, 0.0, &mut got, lc).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want));
        let close = naive(&a, la, &b, lb);
        for i in 0..m {
            for j in 0..n {
                assert!((got[2 + i * (n + 3) + j] - close[i * n + j]).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn bad_shapes_and_short_buffers_are_errors() {
        let l = MatLayout::row_major(2, 2);
        let mut c = [0.0; 4];
        assert!(gemm(1.0, &[0.0; 4], l, &[0.0; 6], MatLayout::row_major(3, 2), 0.0, &mut c, l).is_err());
        assert!(gemm(1.0, &[0.0; 3], l, &[0.0; 4], l, 0.0, &mut c, l).is_err());
        let overlapping = MatLayout { rows: 2, cols: 2, row_stride: 1, col_stride: 1, offset: 0 };
        assert!(gemm(1.0, &[0.0; 4], l, &[0.0; 4], l, 0.0, &mut c, overlapping).is_err());
        // Strides whose extent wraps around usize must be refused, not wrapped into range.
        let huge = MatLayout { rows: 2, cols: 2, row_stride: usize::MAX / 2 + 2, col_stride: 1, offset: 0 };
        let err = gemm(1.0, &[0.0; 4], huge, &[0.0; 4], l, 0.0, &mut c, l).unwrap_err();
        assert!(err.to_string().contains("beyond usize"), "{err}");
        let wrapping = MatLayout { rows: 3, cols: 2, row_stride: usize::MAX / 2, col_stride: 1, offset: 3 };
        assert!(gemm(1.0, &[0.0; 6], wrapping, &[0.0; 4], l, 0.0, &mut [0.0; 6], MatLayout::row_major(3, 2)).is_err());
        let wide_out = MatLayout { rows: 2, cols: 2, row_stride: 1, col_stride: usize::MAX, offset: 0 };
        assert!(gemm(1.0, &[0.0; 4], l, &[0.0; 4], l, 0.0, &mut c, wide_out).is_err());
    }

    #[test]
    fn large_products_agree_with_the_small_kernel() {
        // 2,000,000+ multiply-adds go to the other crate: both must compute the same product.
        let (m, k, n) = (200, 100, 100);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.1).collect();
        let (la, lb) = (MatLayout::row_major(m, k), MatLayout::row_major(k, n).t().t());
        let mut c = vec![1.0; m * n];
        gemm(2.0, &a, la, &b, lb, 0.5, &mut c, MatLayout::row_major(m, n)).unwrap();
        let want = naive(&a, la, &b, lb);
        for (got, w) in c.iter().zip(&want) {
            assert!((got - (2.0 * w + 0.5)).abs() < 1e-3, "{got} vs {}", 2.0 * w + 0.5);
        }
    }

    #[test]
    fn beta_accumulates_and_empty_inner_dimension_scales() {
        let l = MatLayout::row_major(1, 1);
        let mut c = [2.0];
        gemm(1.0, &[3.0], l, &[4.0], l, 1.0, &mut c, l).unwrap();
        assert_eq!(c, [14.0]);
        let mut c = [2.0, 3.0];
        gemm(
            1.0,
            &[],
            MatLayout::row_major(1, 0),
            &[],
            MatLayout::row_major(0, 2),
            0.5,
            &mut c,
            MatLayout::row_major(1, 2),
        )
        .unwrap();
        assert_eq!(c, [1.0, 1.5]);
    }
}
