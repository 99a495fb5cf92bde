//! Products whose left operand is mostly exact zeros: pixels (four in five of an MNIST image
//! are 0), one-hot features, the outputs of ReLU. Only the nonzero entries are multiplied,
//! which the GEMM crates cannot do: on the notes' model this is a fifth of the arithmetic of
//! the first layer's two products (see BENCHMARKS.md, issue 25). The same kernels, listing
//! every entry, take small dense products ([`small_product`]: a training step's output layer,
//! 16 x 50 x 10), where the GEMM crates' packing costs more than the arithmetic.
//!
//! The order of the arithmetic is fixed and does not depend on where the zeros are: every
//! output is a chain of fused multiply-adds over the inner dimension in increasing order,
//! starting from 0 (or from the output's old value when accumulating). A zero term adds
//! exactly nothing to such a chain (`fma(0, w, acc) == acc` for finite `w`), so skipping it
//! gives the same bits as not skipping it, and the answer is the same on AVX2 and AVX-512.
//! Both kernels need FMA: on other machines (the baseline level, WebAssembly) they decline
//! and the caller uses the GEMM crates.
//!
//! Both take several outputs at a time (four rows of `x` for the product, four of its columns
//! for the transposed product; three of each with AVX2's 16 registers), so that
//! independent chains keep the FMA units busy and each loaded row of the other operand
//! serves several, and first list where any of them is not 0 (a compare per 16 values and
//! the positions of the set bits from a table), so that the multiply-adds run over lists
//! whose lengths are known instead of testing every entry. Pixels are 0 in the same places
//! from image to image, so a set's list is not much longer than one row's. ReLU's outputs
//! are 0 anywhere (a set of four rows of the wide model's hidden layer, 60% zeros, has few
//! columns all 0), so for them each row (column) is taken alone over its own list, in wider
//! blocks for enough chains, with the other operand's block copied where the cache keeps it.

use super::dispatch::{isa, product_kernel, Isa, ProductKernel};
use crate::simd_kernel;

/// Columns of `x` listed at once: a tile of the other operand's rows for one block of
/// columns (128 x 64 floats) fits in the first-level cache.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const TILE: usize = 128;

/// Rows of `x` listed at once (a column's rows are the bits of a `u32`; the lists live on
/// the stack, about 40 KB).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const GROUP: usize = 32;

/// Rows of `x` listed at once when each row is taken alone (their lists and listed entries,
/// about 40 KB each, and a copied tile of the other operand, at most 32 KB, live on the
/// stack): the copy serves them all.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const ROW_GROUP: usize = 128;

/// Rows of `x` listed at once when each column is taken alone (the transposed product): a
/// copy of `delta`'s block for them is at most 32 KB.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const COLUMN_GROUP: usize = 64;

/// Columns of `x` listed at once when each row is taken alone: a tile of `w` for one block
/// of columns is 64 x 128 floats with AVX-512, 32 KB.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const ROW_TILE: usize = 64;

/// Whether these kernels run on this machine at the current instruction-set level.
pub fn available() -> bool {
    cfg!(target_arch = "x86_64") && isa() >= Isa::Avx2
}

/// Whether products may come here: the kernels exist at this level, and the products are
/// routed by default (not all sent to one GEMM crate by a test or a benchmark,
/// [`ProductKernel`]).
fn routed_here() -> bool {
    available() && product_kernel() == ProductKernel::Auto
}

/// The operands of one product: `x` is `rows x count`, row `i` starting at `x[i * stride]`.
#[derive(Clone, Copy)]
struct Shape {
    rows: usize,
    stride: usize,
    count: usize,
    n: usize,
}

impl Shape {
    /// Whether slices of these lengths hold the operands (`other`: `count x n` or `rows x n`,
    /// `out`: the other one).
    fn fits(&self, x: usize, other: usize, out: usize, other_rows: usize, out_rows: usize) -> bool {
        let x_needed = if self.rows == 0 { 0 } else { (self.rows - 1) * self.stride + self.count };
        self.stride >= self.count && x >= x_needed && other == other_rows * self.n && out == out_rows * self.n
    }
}

/// The fraction of columns where both rows of a pair of rows of `x` (`rows x count`, rows
/// `stride` apart) are exactly 0, over up to 4 pairs spread over the rows: the kernels
/// multiply sets of rows (threes with AVX2, fours with AVX-512) over the columns where any is
/// not 0, so this measures the share of the work they skip. Pixels are 0 in the same places
/// from image to image (81% of an MNIST image, about 70% of a pair); random zeros are not (60%
/// zeros leave 36% for a pair).
pub fn paired_zero_fraction(x: &[f32], rows: usize, stride: usize, count: usize) -> f32 {
    sampled_share(x, rows, stride, count, |a, b| count_both_zero(a, b) as usize, 1)
}

/// The fraction of entries that are exactly 0 in the rows [`paired_zero_fraction`] samples.
fn zero_fraction(x: &[f32], rows: usize, stride: usize, count: usize) -> f32 {
    sampled_share(x, rows, stride, count, |a, b| (count_zero(a) + count_zero(b)) as usize, 2)
}

/// `count(a, b)` summed over up to 4 pairs of rows `(a, b)` spread over `x`'s rows, over
/// `per_column` times their columns.
fn sampled_share<T>(
    x: &[T],
    rows: usize,
    stride: usize,
    count: usize,
    count_pair: impl Fn(&[T], &[T]) -> usize,
    per_column: usize,
) -> f32 {
    if rows < 2 || count == 0 {
        return 0.0;
    }
    let step = (rows / 2).div_ceil(4) * 2;
    let (mut found, mut seen) = (0usize, 0usize);
    for i in (0..rows - 1).step_by(step) {
        let (Some(a), Some(b)) =
            (x.get(i * stride..i * stride + count), x.get((i + 1) * stride..(i + 1) * stride + count))
        else {
            break;
        };
        found += count_pair(a, b);
        seen += count * per_column;
    }
    found as f32 / seen.max(1) as f32
}

simd_kernel! {
    /// How many positions are 0 in both `a` and `b`.
    fn count_both_zero(a: &[f32], b: &[f32]) -> u32 {
        let mut both = 0u32;
        for (&p, &q) in a.iter().zip(b) {
            both += u32::from(p == 0.0 && q == 0.0);
        }
        both
    }
}

simd_kernel! {
    /// How many positions are 0 in both `a` and `b`.
    fn count_both_zero_bytes(a: &[u8], b: &[u8]) -> u32 {
        let mut both = 0u32;
        for (&p, &q) in a.iter().zip(b) {
            both += u32::from((p | q) == 0);
        }
        both
    }
}

simd_kernel! {
    /// How many positions are 0 in `a`.
    fn count_zero(a: &[f32]) -> u32 {
        let mut zeros = 0u32;
        for &p in a {
            zeros += u32::from(p == 0.0);
        }
        zeros
    }
}

/// How the kernels take the rows of `x` (columns, in the transposed product).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sets {
    /// In sets that share one list of the columns where any of them is not 0: zeros in the
    /// same places from row to row (pixels).
    Shared,
    /// Each alone, over its own list: zeros anywhere (the outputs of ReLU).
    Single,
}

/// At least this share of a pair of rows' columns both 0 sends `x` to the kernels in shared
/// sets (measured on MNIST's pixels and on random zeros, BENCHMARKS.md, issue 25).
const SHARED_ZEROS: f32 = 0.55;

/// At least this share of `x`'s entries 0 (and fewer in pairs), with at least
/// [`SINGLE_WIDTH`] columns in the other operand, sends `x` to the kernels a row at a time.
/// Measured on 128 x 1024 x 1024 with random zeros (the wide model's second layer, whose
/// inputs are ReLU's outputs, about 60% zeros; BENCHMARKS.md, issue 25): they overtake the
/// GEMM crates at about 25% zeros (product) and 32% (transposed product), on both levels.
const SINGLE_ZEROS: f32 = 0.4;

/// The narrowest other operand for the kernels a row at a time: with fewer columns a row's
/// block has too few chains to hide the multiply-adds' latency (measured: 1024 x 10 and
/// 1024 x 64 slower than the GEMM crates at 60% zeros, 1024 x 256 faster).
const SINGLE_WIDTH: usize = 256;

/// How the zero-skipping kernels would take this `x` (times an operand of `n` columns), when
/// they are the faster way.
fn sets_for(x: &[f32], rows: usize, stride: usize, count: usize, n: usize) -> Option<Sets> {
    if paired_zero_fraction(x, rows, stride, count) >= SHARED_ZEROS {
        Some(Sets::Shared)
    } else if n >= SINGLE_WIDTH && zero_fraction(x, rows, stride, count) >= SINGLE_ZEROS {
        Some(Sets::Single)
    } else {
        None
    }
}

/// Runs [`product`] when it is the faster way to multiply this `x` by a matrix of `n` columns
/// on this machine (with the products routed by default), and returns whether it did (else
/// the caller runs its GEMM). Measured on MNIST's pixels, on ReLU's outputs and on random
/// zeros (BENCHMARKS.md, issue 25): when at least 55% of a pair of rows' columns are both 0,
/// or 40% of the entries are and `n` is at least 256, and `n` is at most 1,024 (see
/// `SHARED_ZEROS`, `SINGLE_ZEROS` and `WIDEST` in the source).
#[allow(clippy::too_many_arguments)]
pub fn product_if_faster(
    x: &[f32],
    rows: usize,
    stride: usize,
    count: usize,
    w: &[f32],
    n: usize,
    out: &mut [f32],
    accumulate: bool,
) -> bool {
    faster_sets(x, rows, stride, count, n, count >= 16)
        .is_some_and(|sets| product_in(sets, Input::Floats(x), Shape { rows, stride, count, n }, w, out, accumulate))
}

/// How the kernels would take this `x` (times an operand of `n` columns) where they are the
/// faster way on this machine: the products routed here, `n` at most [`WIDEST`], the
/// caller's own condition on the shape (`worth`), and zeros enough ([`sets_for`]).
fn faster_sets(x: &[f32], rows: usize, stride: usize, count: usize, n: usize, worth: bool) -> Option<Sets> {
    if !routed_here() || n > WIDEST || !worth {
        return None;
    }
    sets_for(x, rows, stride, count, n)
}

/// The widest products the zero-skipping kernels take, with AVX-512 and with AVX2: 1,024
/// columns. Measured on the wide model's first layer, 256 x 392 x 1024 of MNIST's pixels per
/// thread (BENCHMARKS.md, issue 25), against the GEMM crates at the same level: with AVX-512
/// product 0.98-1.05 against 1.22-1.32 ms, transposed product 0.96-1.04 against 1.20-1.32 ms;
/// with AVX2 (the same machine with AVX-512 hidden from every library, `bench/avx2_view.c`)
/// 1.33-1.49 against 2.13-2.24 ms and 1.22-1.29 against 2.11-2.23 ms.
const WIDEST: usize = 1024;

/// Runs [`transposed_product`] when it is the faster way to compute this `x^T delta` (`n`
/// columns), and returns whether it did: as for [`product_if_faster`] (on MNIST's pixels:
/// 6.7 against 12.4 us for the seed model's halves, 113 against 159 us for 256 rows).
#[allow(clippy::too_many_arguments)]
pub fn transposed_product_if_faster(
    x: &[f32],
    rows: usize,
    stride: usize,
    count: usize,
    delta: &[f32],
    n: usize,
    grad: &mut [f32],
    accumulate: bool,
) -> bool {
    faster_sets(x, rows, stride, count, n, rows >= 8).is_some_and(|sets| {
        transposed_product_in(sets, Input::Floats(x), Shape { rows, stride, count, n }, delta, grad, accumulate)
    })
}

/// The floats that bytes stand for (`values[b]` for byte `b`): a byte 0 for a 0 (`+0.0`), every
/// other byte for a value that is not 0, so that a kernel can tell the zeros of the floats
/// from the bytes. A data set's pixels, scaled, are such bytes: kept as bytes, a batch's
/// inputs take a quarter of the memory, and nobody writes their floats.
///
/// ```
/// use neurite::kernels::sparse::ByteTable;
/// let grey = ByteTable::new(std::array::from_fn(|b| b as f32 / 255.0)).unwrap();
/// assert_eq!(grey.value(255), 1.0);
/// let mut x = [0.0; 3];
/// grey.convert(&[0, 51, 255], &mut x);
/// assert_eq!(x, [0.0, 0.2, 1.0]);
/// // Another 0 than the byte 0's could not be told from the bytes.
/// assert!(ByteTable::new([0.0; 256]).is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ByteTable {
    values: [f32; 256],
}

impl ByteTable {
    /// The table, where `values[0]` is `+0.0` and no other value is 0 (else `None`).
    pub fn new(values: [f32; 256]) -> Option<ByteTable> {
        let zero_only_at_0 = values[0].to_bits() == 0 && values[1..].iter().all(|&v| v != 0.0);
        zero_only_at_0.then_some(ByteTable { values })
    }

    /// The float that byte `b` stands for.
    pub fn value(&self, b: u8) -> f32 {
        self.values[usize::from(b)]
    }

    /// `dst[i]` = the float of `src[i]`.
    pub fn convert(&self, src: &[u8], dst: &mut [f32]) {
        for (d, &b) in dst.iter_mut().zip(src) {
            *d = self.values[usize::from(b)];
        }
    }
}

/// [`product_if_faster`] of the floats that the bytes `x` stand for, read from the bytes:
/// where that function would take those floats in shared sets (pixels), the same sums
/// (every output the same chain of multiply-adds), and true; else false, having done
/// nothing (the caller then converts the bytes and calls it).
///
/// ```
/// use neurite::kernels::sparse::{self, ByteTable};
/// let grey = ByteTable::new(std::array::from_fn(|b| b as f32 / 255.0)).unwrap();
/// // 8 images of 32 pixels, inked in one place: mostly zeros in the same places.
/// let mut x = vec![0u8; 8 * 32];
/// for i in 0..8 {
///     x[i * 32 + 5] = 255;
/// }
/// let w: Vec<f32> = (0..32 * 4).map(|v| v as f32).collect(); // 32 x 4
/// let mut out = vec![0.0; 8 * 4];
/// if sparse::product_of_bytes(&x, &grey, 8, 32, 32, &w, 4, &mut out, false) {
///     assert_eq!(&out[..4], &w[5 * 4..6 * 4]); // row 5 of w, times 1.0
/// }
/// ```
#[allow(clippy::too_many_arguments)]
pub fn product_of_bytes(
    x: &[u8],
    table: &ByteTable,
    rows: usize,
    stride: usize,
    count: usize,
    w: &[f32],
    n: usize,
    out: &mut [f32],
    accumulate: bool,
) -> bool {
    let shape = Shape { rows, stride, count, n };
    shared_bytes(x, shape, count >= 16) && product_in(Sets::Shared, Input::Bytes(x, table), shape, w, out, accumulate)
}

/// [`transposed_product_if_faster`] of the floats that the bytes `x` stand for, read from the
/// bytes, as [`product_of_bytes`] is for [`product_if_faster`].
#[allow(clippy::too_many_arguments)]
pub fn transposed_product_of_bytes(
    x: &[u8],
    table: &ByteTable,
    rows: usize,
    stride: usize,
    count: usize,
    delta: &[f32],
    n: usize,
    grad: &mut [f32],
    accumulate: bool,
) -> bool {
    let shape = Shape { rows, stride, count, n };
    shared_bytes(x, shape, rows >= 8)
        && transposed_product_in(Sets::Shared, Input::Bytes(x, table), shape, delta, grad, accumulate)
}

/// Whether the products of bytes take an other operand of `n` columns: at most two blocks of
/// four vectors (the seed model's 50 at both levels). Each block splats every listed entry
/// again, two loads from bytes (the byte, its float) where a float is one: on the wide
/// model's first layer (1,024 columns, 16 blocks) the epoch took 2.07-2.34 s from bytes
/// against 1.93-2.18 s from floats (BENCHMARKS.md, issue 25).
fn narrow_for_bytes(n: usize) -> bool {
    n <= if isa() == Isa::Avx512 { 128 } else { 64 }
}

/// Whether [`faster_sets`] would send the floats of the bytes `x` to the kernels in shared
/// sets (a byte is 0 exactly where its float is, so the sampled shares are the same), on a
/// machine where products are routed here, for an other operand narrow enough
/// ([`narrow_for_bytes`]).
fn shared_bytes(x: &[u8], s: Shape, worth: bool) -> bool {
    routed_here()
        && narrow_for_bytes(s.n)
        && worth
        && sampled_share(x, s.rows, s.stride, s.count, |a, b| count_both_zero_bytes(a, b) as usize, 1) >= SHARED_ZEROS
}

/// `out (=, or += with accumulate) x w`: `x` is `rows x count` (row `i` at `x[i * stride]`),
/// `w` is `count x n` and `out` is `rows x n`, both row-major. Each output is the chain
/// `acc = fma(x[i, k], w[k, j], acc)` over `k` in increasing order. Returns false, having
/// done nothing, when this machine has no such kernel or the slices do not hold the shapes
/// (the caller then runs its GEMM, which reports the shapes).
///
/// ```
/// use neurite::kernels::sparse;
/// let x = [0.0, 2.0, 0.0, 1.0]; // 2 x 2
/// let w = [1.0, 2.0, 3.0, 4.0]; // 2 x 2
/// let mut out = [0.0; 4];
/// if sparse::product(&x, 2, 2, 2, &w, 2, &mut out, false) {
///     assert_eq!(out, [6.0, 8.0, 3.0, 4.0]);
/// }
/// ```
#[allow(clippy::too_many_arguments)]
pub fn product(
    x: &[f32],
    rows: usize,
    stride: usize,
    count: usize,
    w: &[f32],
    n: usize,
    out: &mut [f32],
    accumulate: bool,
) -> bool {
    let sets = sets_for(x, rows, stride, count, n).unwrap_or(Sets::Shared);
    product_in(sets, Input::Floats(x), Shape { rows, stride, count, n }, w, out, accumulate)
}

/// What the kernels read `x` as: floats, or bytes that stand for a table's floats (taken in
/// shared sets only).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy)]
enum Input<'a> {
    Floats(&'a [f32]),
    Bytes(&'a [u8], &'a ByteTable),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Floats(x) => x.len(),
            Input::Bytes(x, _) => x.len(),
        }
    }
}

/// [`product`] with the rows taken as `sets` says.
fn product_in(sets: Sets, x: Input<'_>, shape: Shape, w: &[f32], out: &mut [f32], accumulate: bool) -> bool {
    if !available() || !shape.fits(x.len(), w.len(), out.len(), shape.count, shape.rows) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the level's features are present (`isa()` never exceeds what was detected),
    // and `fits` checked that every index the kernels touch is inside its slice.
    unsafe {
        let (w, out, wide) = (w.as_ptr(), out.as_mut_ptr(), isa() == Isa::Avx512);
        match (x, sets) {
            (Input::Floats(x), Sets::Shared) if wide => {
                avx512::product(x.as_ptr(), std::ptr::null(), shape, w, out, accumulate)
            }
            (Input::Floats(x), Sets::Shared) => avx2::product(x.as_ptr(), std::ptr::null(), shape, w, out, accumulate),
            (Input::Floats(x), Sets::Single) if wide => avx512::product_by_rows(x.as_ptr(), shape, w, out, accumulate),
            (Input::Floats(x), Sets::Single) => avx2::product_by_rows(x.as_ptr(), shape, w, out, accumulate),
            (Input::Bytes(x, t), _) if wide => {
                avx512::product(x.as_ptr(), t.values.as_ptr(), shape, w, out, accumulate)
            }
            (Input::Bytes(x, t), _) => avx2::product(x.as_ptr(), t.values.as_ptr(), shape, w, out, accumulate),
        }
        true
    }
    // No such kernel on this target (`available` was false above).
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (sets, accumulate);
        false
    }
}

/// `grad (=, or += with accumulate) x^T delta`: `x` is `rows x count` (row `i` at
/// `x[i * stride]`), `delta` is `rows x n` and `grad` is `count x n`, both row-major. Each
/// output is the chain `acc = fma(x[i, k], delta[i, j], acc)` over `i` in increasing order.
/// This is a dense layer's weight gradient, for the weight rows of `x`'s columns. Returns
/// false as [`product`] does.
///
/// ```
/// use neurite::kernels::sparse;
/// let x = [0.0, 2.0, 0.0, 1.0]; // 2 x 2
/// let delta = [1.0, 2.0, 3.0, 4.0]; // 2 x 2
/// let mut grad = [0.0; 4];
/// if sparse::transposed_product(&x, 2, 2, 2, &delta, 2, &mut grad, false) {
///     assert_eq!(grad, [0.0, 0.0, 5.0, 8.0]);
/// }
/// ```
#[allow(clippy::too_many_arguments)]
pub fn transposed_product(
    x: &[f32],
    rows: usize,
    stride: usize,
    count: usize,
    delta: &[f32],
    n: usize,
    grad: &mut [f32],
    accumulate: bool,
) -> bool {
    let sets = sets_for(x, rows, stride, count, n).unwrap_or(Sets::Shared);
    transposed_product_in(sets, Input::Floats(x), Shape { rows, stride, count, n }, delta, grad, accumulate)
}

/// [`transposed_product`] with the columns taken as `sets` says.
fn transposed_product_in(
    sets: Sets,
    x: Input<'_>,
    shape: Shape,
    delta: &[f32],
    grad: &mut [f32],
    accumulate: bool,
) -> bool {
    if !available() || !shape.fits(x.len(), delta.len(), grad.len(), shape.rows, shape.count) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `product`.
    unsafe {
        let (d, g, wide) = (delta.as_ptr(), grad.as_mut_ptr(), isa() == Isa::Avx512);
        let none = std::ptr::null();
        match (x, sets) {
            (Input::Floats(x), Sets::Shared) if wide => {
                avx512::transposed_product(x.as_ptr(), none, shape, d, g, accumulate)
            }
            (Input::Floats(x), Sets::Shared) => avx2::transposed_product(x.as_ptr(), none, shape, d, g, accumulate),
            (Input::Floats(x), Sets::Single) if wide => {
                avx512::transposed_product_by_columns(x.as_ptr(), shape, d, g, accumulate)
            }
            (Input::Floats(x), Sets::Single) => {
                avx2::transposed_product_by_columns(x.as_ptr(), shape, d, g, accumulate)
            }
            (Input::Bytes(x, t), _) if wide => {
                avx512::transposed_product(x.as_ptr(), t.values.as_ptr(), shape, d, g, accumulate)
            }
            (Input::Bytes(x, t), _) => avx2::transposed_product(x.as_ptr(), t.values.as_ptr(), shape, d, g, accumulate),
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (sets, accumulate);
        false
    }
}

/// The most multiply-adds of a product that [`small_product`] takes at this level: up to
/// there the GEMM crates' packing of both operands, into a buffer allocated per call, costs
/// more than the arithmetic. Measured (BENCHMARKS.md, issue 25): with AVX-512, 16 x 50 x 10
/// (a training step's output layer) 1,650 cycles against 740 here, 256 x 50 x 10 16,700
/// against 10,500, and faster up to 128 x 64 x 32; with AVX2's eight lanes the crates' kernel
/// catches up sooner (32 x 64 x 32: 3,850 against 4,470 here), so a smaller limit.
pub fn small_product_limit() -> usize {
    if isa() == Isa::Avx512 {
        1 << 18
    } else {
        1 << 15
    }
}

/// Floats on a cache line's boundary, for the kernels' copies of an operand's block: a
/// vector load that crosses a line costs two (with AVX-512 every load of a block at an
/// unaligned place on the stack did).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[repr(C, align(64))]
struct Aligned<const N: usize>([f32; N]);

/// How the chains of a block start and end: from 0, written; from the outputs' old values;
/// or from 0, then added to the old values (as the GEMM crates accumulate).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    Zero,
    Old,
    ZeroThenAdd,
}

/// The inner indices `0..256`: a small product lists every one.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const ALL_COLUMNS: [u32; 256] = {
    let mut all = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        all[i] = i as u32;
        i += 1;
    }
    all
};

/// `c (=, or += with add) a b` for a small dense product: `a` is `m x k` (entry `(i, p)` at
/// `a[i * a_rows + p * a_step]`), `b` is `k x n` by rows (at `b[p * b_rows + j]`), `c` is
/// `m x n` by rows (at `c[i * c_rows + j]`). Each output is the chain `acc = fma(a[i, p],
/// b[p, j], acc)` over `p` in increasing order from 0, then written or added to the output:
/// what `matrixmultiply` computes on a machine with FMA, to the bit, without its packing.
/// Returns false, having done nothing, when the product is not small (more than
/// [`small_product_limit`] multiply-adds, or an inner dimension over 256), when this machine has
/// no such kernel (or the products are sent to one GEMM crate, [`ProductKernel`]), or when
/// the slices do not hold the shapes. (A `b` read across its rows, a weight read transposed,
/// stays with the GEMM crates: copying it into rows first measured slower.)
///
/// ```
/// use neurite::kernels::sparse;
/// let a = [1.0, 2.0, 3.0, 4.0]; // 2 x 2
/// let b = [5.0, 6.0, 7.0, 8.0]; // 2 x 2
/// let mut c = [1.0; 4];
/// if sparse::small_product(&a, 2, 1, 2, 2, &b, 2, 2, &mut c, 2, true) {
///     assert_eq!(c, [20.0, 23.0, 44.0, 51.0]);
/// }
/// ```
#[allow(clippy::too_many_arguments)]
pub fn small_product(
    a: &[f32],
    a_rows: usize,
    a_step: usize,
    m: usize,
    k: usize,
    b: &[f32],
    b_rows: usize,
    n: usize,
    c: &mut [f32],
    c_rows: usize,
    add: bool,
) -> bool {
    // One past the last index of a `rows x cols` operand, when it fits in `usize`.
    let extent = |rows: usize, cols: usize, rs: usize, cs: usize| {
        (rows - 1).checked_mul(rs)?.checked_add((cols - 1).checked_mul(cs)?)?.checked_add(1)
    };
    let small = m > 0
        && n > 0
        && (1..=ALL_COLUMNS.len()).contains(&k)
        && m.saturating_mul(n).saturating_mul(k) <= small_product_limit();
    if !routed_here()
        || !small
        || c_rows < n
        || extent(m, k, a_rows, a_step).is_none_or(|e| e > a.len())
        || extent(k, n, b_rows, 1).is_none_or(|e| e > b.len())
        || extent(m, n, c_rows, 1).is_none_or(|e| e > c.len())
    {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let start = if add { Start::ZeroThenAdd } else { Start::Zero };
        // SAFETY: the level's features are present (`isa()` never exceeds what was detected);
        // the extents checked above bound every index the kernels read (rows of `a` past `m`
        // repeat its last row) and write (`c_rows >= n`: rows do not overlap).
        unsafe {
            let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
            if isa() == Isa::Avx512 {
                avx512::small_product(a, a_rows, a_step, m, k, b, b_rows, n, c, c_rows, start);
            } else {
                avx2::small_product(a, a_rows, a_step, m, k, b, b_rows, n, c, c_rows, start);
            }
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = add;
        false
    }
}

#[cfg(target_arch = "x86_64")]
/// Runs `$call` for each block of at most four vectors of `LANES` columns of a row of `$n`
/// values, with `$j0` its first column, `$last` the lanes of its last vector, and `$nv` a
/// constant: its number of vectors.
macro_rules! for_blocks {
    ($n:expr, |$j0:ident, $last:ident, $nv:ident| $call:expr) => {{
        let n = $n;
        let mut $j0 = 0;
        while $j0 < n {
            let cols = (n - $j0).min(4 * LANES);
            let vectors = cols.div_ceil(LANES);
            let $last = cols - (vectors - 1) * LANES;
            match vectors {
                4 => {
                    const $nv: usize = 4;
                    $call
                }
                3 => {
                    const $nv: usize = 3;
                    $call
                }
                2 => {
                    const $nv: usize = 2;
                    $call
                }
                _ => {
                    const $nv: usize = 1;
                    $call
                }
            }
            $j0 += cols;
        }
    }};
}

#[cfg(target_arch = "x86_64")]
/// As [`for_blocks`], in blocks of `WIDE` vectors while the row has that many left, then
/// blocks of at most four.
macro_rules! for_wide_blocks {
    ($n:expr, |$j0:ident, $last:ident, $nv:ident| $call:expr) => {{
        let n = $n;
        let wide_end = n - n % (WIDE * LANES);
        let mut $j0 = 0;
        while $j0 < wide_end {
            let $last = LANES;
            const $nv: usize = WIDE;
            $call;
            $j0 += WIDE * LANES;
        }
        for_blocks!(n - wide_end, |rest, $last, $nv| {
            let $j0 = wide_end + rest;
            $call
        });
    }};
}

/// The two kernels, written once over a level's vector operations (`$lanes` floats per
/// vector, four vectors per block of columns). Both take `x` by groups of [`GROUP`] rows
/// and tiles of [`TILE`] columns, list the nonzero entries of each set of rows (or columns)
/// of the tile once, and keep their other operand's block in the first-level cache while
/// they use the lists.
#[cfg(target_arch = "x86_64")]
macro_rules! kernels {
    ($features:literal, $lanes:expr) => {
        /// Floats per vector.
        const LANES: usize = $lanes;

        /// Lists for a group of rows in one tile of columns, as offsets from the tile's
        /// first column or from the group's first row (each list with room for the 16 slots
        /// a compress writes). The lists are not zeroed: up to 37 KB a call, zeroing them was
        /// 1.2% of the seed model's fit; only the entries a listing wrote are read.
        struct Lists<const L: usize, const W: usize = { super::TILE + 16 }> {
            lists: [[std::mem::MaybeUninit<u32>; W]; L],
            counts: [usize; L],
        }

        impl<const L: usize, const W: usize> Lists<L, W> {
            fn new() -> Lists<L, W> {
                Lists { lists: [[const { std::mem::MaybeUninit::uninit() }; W]; L], counts: [0; L] }
            }

            /// List `i` as written by the last listing (empty before any).
            fn get(&self, i: usize) -> &[u32] {
                let count = self.counts[i].min(W);
                // SAFETY: every listing writes list `i`'s first `counts[i]` entries before it
                // sets `counts[i]` (0 until then), and `MaybeUninit<u32>` has `u32`'s layout.
                unsafe { std::slice::from_raw_parts(self.lists[i].as_ptr().cast::<u32>(), count) }
            }

            /// Where a listing writes list `i` (`W` slots).
            fn slot(&mut self, i: usize) -> *mut u32 {
                self.lists[i].as_mut_ptr().cast::<u32>()
            }
        }

        /// What the shared-set kernels read `x` as: floats, or bytes that stand for the
        /// floats of a table (`table[b]` for byte `b`; a byte 0 stands for 0).
        pub(super) trait Elem: Copy {
            /// Bit `t` set where entry `t` at `p` (`t < len <= 16`) is not 0.
            unsafe fn nonzero16(p: *const Self, len: usize) -> u16;
            /// As the float `column_rows16`.
            unsafe fn column_rows16(x: *const Self, stride: usize, rows: usize, len: usize, out: *mut u32);
            /// The value at `p`, in every lane.
            unsafe fn splat_at(p: *const Self, table: *const f32) -> V;
        }

        impl Elem for f32 {
            #[inline(always)]
            unsafe fn nonzero16(p: *const f32, len: usize) -> u16 {
                nonzero16(p, len)
            }
            #[inline(always)]
            unsafe fn column_rows16(x: *const f32, stride: usize, rows: usize, len: usize, out: *mut u32) {
                column_rows16(x, stride, rows, len, out)
            }
            #[inline(always)]
            unsafe fn splat_at(p: *const f32, _table: *const f32) -> V {
                splat(*p)
            }
        }

        impl Elem for u8 {
            #[inline(always)]
            unsafe fn nonzero16(p: *const u8, len: usize) -> u16 {
                nonzero16_bytes(p, len)
            }
            #[inline(always)]
            unsafe fn column_rows16(x: *const u8, stride: usize, rows: usize, len: usize, out: *mut u32) {
                column_rows16_bytes(x, stride, rows, len, out)
            }
            #[inline(always)]
            unsafe fn splat_at(p: *const u8, table: *const f32) -> V {
                splat(*table.add(usize::from(*p)))
            }
        }

        /// The mask of the nonzero columns `c..c + 16` (below `len`) of row `r` of the group
        /// at `x` (0 for a row past `rows`).
        #[target_feature(enable = $features)]
        unsafe fn row_mask<E: Elem>(x: *const E, stride: usize, rows: usize, r: usize, c: usize, len: usize) -> u16 {
            if r >= rows {
                return 0;
            }
            E::nonzero16(x.add(r * stride + c), (len - c).min(16))
        }

        /// For each set of `R` rows `R p .. R p + R` of the group at `x` (`rows` of them),
        /// the columns `0..len` where any of them is not 0, into `lists.get(p)`.
        #[target_feature(enable = $features)]
        unsafe fn list_row_sets<E: Elem, const R: usize, const L: usize, const W: usize>(
            x: *const E,
            stride: usize,
            rows: usize,
            len: usize,
            lists: &mut Lists<L, W>,
        ) {
            for p in 0..rows.div_ceil(R) {
                let list = lists.slot(p);
                let (mut found, mut c) = (0, 0);
                while c < len {
                    let mut mask = 0;
                    for r in 0..R {
                        mask |= row_mask(x, stride, rows, R * p + r, c, len);
                    }
                    // The borders of an image are 0 in every row of a set.
                    if mask != 0 {
                        found += compress16(mask, c as u32, list.add(found));
                    }
                    c += 16;
                }
                lists.counts[p] = found;
            }
        }

        /// For each set of `R` columns `R q .. R q + R` of the tile at `x` (`len` of them), the
        /// rows of the group (`rows` of them) where any is not 0, in increasing order, into
        /// `lists.get(q)`: a mask of rows per column first (bit `r` for row `r`), 16 columns
        /// at a time.
        #[target_feature(enable = $features)]
        unsafe fn list_column_sets<E: Elem, const R: usize>(
            x: *const E,
            stride: usize,
            rows: usize,
            len: usize,
            lists: &mut Lists<{ super::TILE / 2 }>,
        ) {
            // Columns past `len` are 0 (`column_rows16` writes 16 slots, the rest are zeroed).
            let mut column_rows = [0u32; super::TILE + 16];
            let mut c = 0;
            while c < len {
                E::column_rows16(x.add(c), stride, rows, (len - c).min(16), column_rows.as_mut_ptr().add(c));
                c += 16;
            }
            for q in 0..len.div_ceil(R) {
                let mut mask = 0;
                for t in 0..R {
                    mask |= column_rows[R * q + t];
                }
                let list = lists.slot(q);
                let low = compress16(mask as u16, 0, list);
                lists.counts[q] = low + compress16((mask >> 16) as u16, 16, list.add(low));
            }
        }

        /// Where the transposed product reads a block of `NV` vectors of columns `j0..` (`last`
        /// lanes in the last) of `rows` rows of `delta` at `b` (rows `n` apart): in place when
        /// the rows are one block wide, else copied one after another to `packed` (room for
        /// `rows` x `NV` vectors), since wide rows a multiple of 4 KB apart (1,024 floats)
        /// fall in the same few sets of the first-level cache and evict each other; each
        /// copy serves every set of columns of the tile. Returns the operand, the step between
        /// its rows and the block's first column in it.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn block_of(
            b: *const f32,
            n: usize,
            rows: usize,
            j0: usize,
            nv: usize,
            last: usize,
            packed: *mut f32,
        ) -> (*const f32, usize, usize) {
            if n <= 4 * LANES {
                return (b, n, j0);
            }
            let cols = (nv - 1) * LANES + last;
            for r in 0..rows {
                std::ptr::copy_nonoverlapping(b.add(r * n + j0), packed.add(r * cols), cols);
            }
            (packed, cols, 0)
        }

        /// Vector `v` of a block of `NV` at `p`: whole, or the last one's `last` lanes, read
        /// with `PAIR` (two lanes) by a plain 8-byte load: a masked load takes a second
        /// micro-operation on the ports the multiply-adds use (BENCHMARKS.md, issue 25).
        #[inline(always)]
        unsafe fn load_lanes<const NV: usize, const PAIR: bool>(p: *const f32, v: usize, last: usize) -> V {
            if v + 1 < NV {
                load(p, LANES)
            } else if PAIR {
                load_pair(p)
            } else {
                load(p, last)
            }
        }

        /// Writes vector `v` of a block of `NV` at `p`, as [`load_lanes`] reads it.
        #[inline(always)]
        unsafe fn store_lanes<const NV: usize, const PAIR: bool>(p: *mut f32, v: usize, x: V, last: usize) {
            if v + 1 < NV {
                store(p, x, LANES)
            } else if PAIR {
                store_pair(p, x)
            } else {
                store(p, x, last)
            }
        }

        /// One block of `NV` vectors of columns `j0..` (`last` lanes in the last vector) of `R`
        /// output rows `o[r]`, whose operand's row `k` starts at `b + k * b_step + b_j0` (the
        /// block itself, or a copy of it): the chains over the listed columns `k` of `x[r][k] w[k, :]` (a
        /// listed 0 adds exactly 0), from the outputs' old values or from 0 (`start`), then
        /// the stores (of the chain, or of the old value plus the chain). A set with fewer
        /// rows repeats its last row (the same input and output) in the places left. A last
        /// vector of two lanes (50 columns at either level) is read and written without masks
        /// ([`load_lanes`]), decided here once per block.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn row_set_block<E: Elem, const NV: usize, const R: usize>(
            x: [*const E; R],
            table: *const f32,
            x_step: usize,
            list: &[u32],
            b: *const f32,
            b_step: usize,
            b_j0: usize,
            j0: usize,
            last: usize,
            o: [*mut f32; R],
            start: super::Start,
        ) {
            if last == 2 {
                row_set_lanes::<E, NV, R, true>(x, table, x_step, list, b, b_step, b_j0, j0, last, o, start);
            } else {
                row_set_lanes::<E, NV, R, false>(x, table, x_step, list, b, b_step, b_j0, j0, last, o, start);
            }
        }

        /// [`row_set_block`] with its last vector read and written as `PAIR` says.
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn row_set_lanes<E: Elem, const NV: usize, const R: usize, const PAIR: bool>(
            x: [*const E; R],
            table: *const f32,
            x_step: usize,
            list: &[u32],
            b: *const f32,
            b_step: usize,
            b_j0: usize,
            j0: usize,
            last: usize,
            o: [*mut f32; R],
            start: super::Start,
        ) {
            let mut acc = [[zero(); NV]; R];
            if start == super::Start::Old {
                for r in 0..R {
                    for v in 0..NV {
                        acc[r][v] = load_lanes::<NV, PAIR>(o[r].add(j0 + v * LANES), v, last);
                    }
                }
            }
            for &k in list {
                let k = k as usize;
                let row = b.add(k * b_step + b_j0);
                let mut s = [zero(); R];
                for r in 0..R {
                    s[r] = E::splat_at(x[r].add(k * x_step), table);
                }
                for v in 0..NV {
                    let bv = load_lanes::<NV, PAIR>(row.add(v * LANES), v, last);
                    for r in 0..R {
                        acc[r][v] = fma(s[r], bv, acc[r][v]);
                    }
                }
            }
            if start == super::Start::ZeroThenAdd {
                // Every old value read before any store, as a repeated row is stored twice.
                for r in 0..R {
                    for v in 0..NV {
                        acc[r][v] = add(load_lanes::<NV, PAIR>(o[r].add(j0 + v * LANES), v, last), acc[r][v]);
                    }
                }
            }
            // The last row first: where a set repeats a row, every store of it writes the same.
            for r in (0..R).rev() {
                for v in 0..NV {
                    store_lanes::<NV, PAIR>(o[r].add(j0 + v * LANES), v, acc[r][v], last);
                }
            }
        }

        /// One block of `NV` vectors of columns `j0..` (`last` lanes in the last vector) of one
        /// output row `o`: the chain over the listed rows `k` of the operand at `b` (row `k`
        /// at `b + k * b_step + b_j0`) times the listed values (`values[e]` is the entry of `x`
        /// of `list[e]`), from the output's old values or from 0 (`start`), then the store.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn alone_block<const NV: usize>(
            list: &[u32],
            values: *const f32,
            b: *const f32,
            b_step: usize,
            b_j0: usize,
            j0: usize,
            last: usize,
            o: *mut f32,
            start: super::Start,
        ) {
            let lanes = |v: usize| if v + 1 == NV { last } else { LANES };
            let mut acc = [zero(); NV];
            if start == super::Start::Old {
                for v in 0..NV {
                    acc[v] = load(o.add(j0 + v * LANES), lanes(v));
                }
            }
            for (e, &k) in list.iter().enumerate() {
                let s = splat(*values.add(e));
                let row = b.add(k as usize * b_step + b_j0);
                for v in 0..NV {
                    acc[v] = fma(s, load(row.add(v * LANES), lanes(v)), acc[v]);
                }
            }
            for v in 0..NV {
                store(o.add(j0 + v * LANES), acc[v], lanes(v));
            }
        }

        /// See [`super::small_product`]: every column listed, in sets of rows that give a
        /// block at least eight chains (which hide the multiply-adds' latency), or of
        /// [`ROW_SET`] rows where that gives more.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn small_product(
            a: *const f32,
            a_rows: usize,
            a_step: usize,
            m: usize,
            k: usize,
            b: *const f32,
            b_rows: usize,
            n: usize,
            c: *mut f32,
            c_rows: usize,
            start: super::Start,
        ) {
            let list = &super::ALL_COLUMNS[..k];
            for_blocks!(n, |j0, last, NV| {
                if NV == 1 {
                    small_row_sets::<NV, 8>(a, a_rows, a_step, m, list, b, b_rows, j0, last, c, c_rows, start);
                } else if NV == 2 {
                    small_row_sets::<NV, 4>(a, a_rows, a_step, m, list, b, b_rows, j0, last, c, c_rows, start);
                } else {
                    small_row_sets::<NV, ROW_SET>(a, a_rows, a_step, m, list, b, b_rows, j0, last, c, c_rows, start);
                }
            });
        }

        /// The rows of [`small_product`] for one block of columns, in sets of `R`.
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn small_row_sets<const NV: usize, const R: usize>(
            a: *const f32,
            a_rows: usize,
            a_step: usize,
            m: usize,
            list: &[u32],
            b: *const f32,
            b_rows: usize,
            j0: usize,
            last: usize,
            c: *mut f32,
            c_rows: usize,
            start: super::Start,
        ) {
            for p in 0..m.div_ceil(R) {
                // A set short of rows repeats its last one.
                let rows: [usize; R] = std::array::from_fn(|r| (R * p + r).min(m - 1));
                let xs = rows.map(|r| a.add(r * a_rows));
                let os = rows.map(|r| c.add(r * c_rows));
                row_set_block::<f32, NV, R>(xs, std::ptr::null(), a_step, list, b, b_rows, j0, j0, last, os, start);
            }
        }

        /// See [`super::product`]: sets of [`ROW_SET`] rows of `x`, over the columns where any
        /// of them is not 0.
        #[target_feature(enable = $features)]
        pub(super) unsafe fn product<E: Elem>(
            x: *const E,
            table: *const f32,
            s: super::Shape,
            w: *const f32,
            out: *mut f32,
            accumulate: bool,
        ) {
            let mut lists = Lists::<{ super::GROUP / 2 }>::new();
            for g0 in (0..s.rows).step_by(super::GROUP) {
                let group = (s.rows - g0).min(super::GROUP);
                for k0 in (0..s.count).step_by(super::TILE) {
                    let len = (s.count - k0).min(super::TILE);
                    let xg = x.add(g0 * s.stride + k0);
                    list_row_sets::<E, ROW_SET, { super::GROUP / 2 }, { super::TILE + 16 }>(
                        xg, s.stride, group, len, &mut lists,
                    );
                    let start = if k0 == 0 && !accumulate { super::Start::Zero } else { super::Start::Old };
                    let wt = w.add(k0 * s.n);
                    for_blocks!(s.n, |j0, last, NV| {
                        // The weight in place: a copy of its block for each group of rows
                        // measured slower (the copy is used by only eight sets of rows).
                        for p in 0..group.div_ceil(ROW_SET) {
                            // A set short of rows repeats its last one.
                            let rows: [usize; ROW_SET] = std::array::from_fn(|r| (ROW_SET * p + r).min(group - 1));
                            let xs = rows.map(|r| xg.add(r * s.stride));
                            let os = rows.map(|r| out.add((g0 + r) * s.n));
                            row_set_block::<E, NV, ROW_SET>(
                                xs,
                                table,
                                1,
                                lists.get(p),
                                wt,
                                s.n,
                                j0,
                                j0,
                                last,
                                os,
                                start,
                            );
                        }
                    });
                }
            }
            if s.count == 0 && !accumulate {
                std::ptr::write_bytes(out, 0, s.rows * s.n);
            }
        }

        /// See [`super::transposed_product`]: sets of [`ROW_SET`] columns of `x` (rows of the
        /// gradient), over the rows where any of them is not 0.
        #[target_feature(enable = $features)]
        pub(super) unsafe fn transposed_product<E: Elem>(
            x: *const E,
            table: *const f32,
            s: super::Shape,
            delta: *const f32,
            grad: *mut f32,
            accumulate: bool,
        ) {
            let mut lists = Lists::<{ super::TILE / 2 }>::new();
            let mut copy = std::mem::MaybeUninit::<super::Aligned<{ super::GROUP * 4 * LANES }>>::uninit();
            let packed = copy.as_mut_ptr().cast::<f32>();
            for g0 in (0..s.rows).step_by(super::GROUP) {
                let group = (s.rows - g0).min(super::GROUP);
                let start = if g0 == 0 && !accumulate { super::Start::Zero } else { super::Start::Old };
                for k0 in (0..s.count).step_by(super::TILE) {
                    let len = (s.count - k0).min(super::TILE);
                    let xg = x.add(g0 * s.stride + k0);
                    list_column_sets::<E, ROW_SET>(xg, s.stride, group, len, &mut lists);
                    let dg = delta.add(g0 * s.n);
                    for_blocks!(s.n, |j0, last, NV| {
                        let (b, b_step, b_j0) = block_of(dg, s.n, group, j0, NV, last, packed);
                        for q in 0..len.div_ceil(ROW_SET) {
                            // A set short of columns repeats its last one.
                            let cols: [usize; ROW_SET] = std::array::from_fn(|t| (ROW_SET * q + t).min(len - 1));
                            let xs = cols.map(|t| xg.add(t));
                            let os = cols.map(|t| grad.add((k0 + t) * s.n));
                            row_set_block::<E, NV, ROW_SET>(
                                xs,
                                table,
                                s.stride,
                                lists.get(q),
                                b,
                                b_step,
                                b_j0,
                                j0,
                                last,
                                os,
                                start,
                            );
                        }
                    });
                }
            }
            if s.rows == 0 && !accumulate {
                std::ptr::write_bytes(grad, 0, s.count * s.n);
            }
        }

        /// See [`super::product`], for zeros that fall anywhere (the outputs of ReLU): each
        /// row of `x` alone, over its own nonzero columns, in blocks of [`WIDE`] vectors of
        /// columns (enough chains to hide the multiply-adds' latency with one row). A tile of
        /// [`super::ROW_TILE`] rows of `w` for one block is copied, one row after another,
        /// to the first-level cache for the [`super::ROW_GROUP`] rows of `x` that use it: in
        /// place, rows of `w` a multiple of 4 KB apart fall in the same few sets of the cache
        /// and evict each other.
        #[target_feature(enable = $features)]
        pub(super) unsafe fn product_by_rows(
            x: *const f32,
            s: super::Shape,
            w: *const f32,
            out: *mut f32,
            accumulate: bool,
        ) {
            let mut lists = Lists::<{ super::ROW_GROUP }, { super::ROW_TILE + 16 }>::new();
            let mut values = [[0f32; super::ROW_TILE + 16]; super::ROW_GROUP];
            let mut copy = std::mem::MaybeUninit::<super::Aligned<{ super::ROW_TILE * WIDE * LANES }>>::uninit();
            let packed = copy.as_mut_ptr().cast::<f32>();
            for g0 in (0..s.rows).step_by(super::ROW_GROUP) {
                let group = (s.rows - g0).min(super::ROW_GROUP);
                for k0 in (0..s.count).step_by(super::ROW_TILE) {
                    let len = (s.count - k0).min(super::ROW_TILE);
                    let xg = x.add(g0 * s.stride + k0);
                    list_row_sets::<f32, 1, { super::ROW_GROUP }, { super::ROW_TILE + 16 }>(
                        xg, s.stride, group, len, &mut lists,
                    );
                    // The listed entries once, for every block (rows a multiple of 4 KB apart
                    // evict each other from the cache).
                    for r in 0..group {
                        for (e, &k) in lists.get(r).iter().enumerate() {
                            values[r][e] = *xg.add(r * s.stride + k as usize);
                        }
                    }
                    let start = if k0 == 0 && !accumulate { super::Start::Zero } else { super::Start::Old };
                    let wt = w.add(k0 * s.n);
                    for_wide_blocks!(s.n, |j0, last, NV| {
                        let cols = (NV - 1) * LANES + last;
                        for k in 0..len {
                            std::ptr::copy_nonoverlapping(wt.add(k * s.n + j0), packed.add(k * cols), cols);
                        }
                        for r in 0..group {
                            let or = out.add((g0 + r) * s.n);
                            alone_block::<NV>(lists.get(r), values[r].as_ptr(), packed, cols, 0, j0, last, or, start);
                        }
                    });
                }
            }
            if s.count == 0 && !accumulate {
                std::ptr::write_bytes(out, 0, s.rows * s.n);
            }
        }

        /// For each column of the tile at `x` (`len` of them), the rows of the group (`rows`
        /// of them, at most [`super::COLUMN_GROUP`]) where it is not 0, in increasing order,
        /// into `lists.get(q)`: masks of rows per column, 32 rows at a time.
        #[target_feature(enable = $features)]
        unsafe fn list_columns(
            x: *const f32,
            stride: usize,
            rows: usize,
            len: usize,
            lists: &mut Lists<{ super::TILE }, { super::COLUMN_GROUP + 16 }>,
        ) {
            lists.counts[..len].fill(0);
            for h in (0..rows).step_by(32) {
                let half = (rows - h).min(32);
                // Columns past `len` are 0 (`column_rows16` writes 16 slots, the rest are zeroed).
                let mut column_rows = [0u32; super::TILE + 16];
                let mut c = 0;
                while c < len {
                    column_rows16(
                        x.add(h * stride + c),
                        stride,
                        half,
                        (len - c).min(16),
                        column_rows.as_mut_ptr().add(c),
                    );
                    c += 16;
                }
                for q in 0..len {
                    let (mask, found) = (column_rows[q], lists.counts[q]);
                    let list = lists.slot(q).add(found);
                    let low = compress16(mask as u16, h as u32, list);
                    lists.counts[q] = found + low + compress16((mask >> 16) as u16, h as u32 + 16, list.add(low));
                }
            }
        }

        /// See [`super::transposed_product`], for zeros that fall anywhere: each column of
        /// `x` (row of the gradient) alone, over its own nonzero rows of a group of
        /// [`super::COLUMN_GROUP`], in blocks of [`WIDE`] vectors of columns of `delta`.
        #[target_feature(enable = $features)]
        pub(super) unsafe fn transposed_product_by_columns(
            x: *const f32,
            s: super::Shape,
            delta: *const f32,
            grad: *mut f32,
            accumulate: bool,
        ) {
            let mut lists = Lists::<{ super::TILE }, { super::COLUMN_GROUP + 16 }>::new();
            let mut values = [[0f32; super::COLUMN_GROUP + 16]; super::TILE];
            let mut copy = std::mem::MaybeUninit::<super::Aligned<{ super::COLUMN_GROUP * WIDE * LANES }>>::uninit();
            let packed = copy.as_mut_ptr().cast::<f32>();
            for g0 in (0..s.rows).step_by(super::COLUMN_GROUP) {
                let group = (s.rows - g0).min(super::COLUMN_GROUP);
                let start = if g0 == 0 && !accumulate { super::Start::Zero } else { super::Start::Old };
                for k0 in (0..s.count).step_by(super::TILE) {
                    let len = (s.count - k0).min(super::TILE);
                    let xg = x.add(g0 * s.stride + k0);
                    list_columns(xg, s.stride, group, len, &mut lists);
                    // The listed entries once, for every block (rows a multiple of 4 KB apart
                    // evict each other from the cache).
                    for q in 0..len {
                        for (e, &i) in lists.get(q).iter().enumerate() {
                            values[q][e] = *xg.add(i as usize * s.stride + q);
                        }
                    }
                    let dg = delta.add(g0 * s.n);
                    for_wide_blocks!(s.n, |j0, last, NV| {
                        let (b, b_step, b_j0) = block_of(dg, s.n, group, j0, NV, last, packed);
                        for q in 0..len {
                            let oq = grad.add((k0 + q) * s.n);
                            alone_block::<NV>(lists.get(q), values[q].as_ptr(), b, b_step, b_j0, j0, last, oq, start);
                        }
                    });
                }
            }
            if s.rows == 0 && !accumulate {
                std::ptr::write_bytes(grad, 0, s.count * s.n);
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    type V = __m512;

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn zero() -> V {
        _mm512_setzero_ps()
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn splat(x: f32) -> V {
        _mm512_set1_ps(x)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn fma(a: V, b: V, c: V) -> V {
        _mm512_fmadd_ps(a, b, c)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn add(a: V, b: V) -> V {
        _mm512_add_ps(a, b)
    }

    /// The first `lanes` floats at `p` (the others 0, not read).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn load(p: *const f32, lanes: usize) -> V {
        if lanes == 16 {
            _mm512_loadu_ps(p)
        } else {
            _mm512_maskz_loadu_ps(_cvtu32_mask16((1u32 << lanes) - 1), p)
        }
    }

    /// The two floats at `p` (the other lanes 0): one plain load, where a masked one takes a
    /// second micro-operation.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn load_pair(p: *const f32) -> V {
        _mm512_zextps128_ps512(_mm_castpd_ps(_mm_load_sd(p.cast())))
    }

    /// Writes the first `lanes` floats of `v` at `p`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn store(p: *mut f32, v: V, lanes: usize) {
        if lanes == 16 {
            _mm512_storeu_ps(p, v)
        } else {
            _mm512_mask_storeu_ps(p, _cvtu32_mask16((1u32 << lanes) - 1), v)
        }
    }

    /// Writes the first two floats of `v` at `p` (a plain store, see [`load_pair`]).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn store_pair(p: *mut f32, v: V) {
        _mm_store_sd(p.cast(), _mm_castps_pd(_mm512_castps512_ps128(v)))
    }

    /// Bit `t` set where the float `p[t]` (`t < len <= 16`) is not 0 (NaN included).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn nonzero16(p: *const f32, len: usize) -> u16 {
        _cvtmask16_u32(_mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(load(p, len), _mm512_setzero_ps())) as u16
    }

    /// Bit `t` set where the byte `p[t]` (`t < len <= 16`) is not 0.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn nonzero16_bytes(p: *const u8, len: usize) -> u16 {
        let k = _cvtu32_mask16((1u32 << len) - 1);
        _cvtmask16_u32(_mm_mask_cmpneq_epi8_mask(k, _mm_maskz_loadu_epi8(k, p.cast()), _mm_setzero_si128())) as u16
    }

    // The compress instruction (`vpcompressd`) makes LLVM fail to compile the kernels
    // without optimisation (as rustdoc builds release doctests: "Cannot emit physreg copy
    // instruction"); the AVX2 level's table lookup does the same (`pext` measured as fast as it).
    use super::avx2::{column_rows16, compress16};

    /// The AVX2 level's `column_rows16` for bytes: a test per row gives the mask of its
    /// nonzero columns, which ors the row's bit into those columns' lanes (a third of the
    /// instructions of the compare, widen and select per eight columns).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn column_rows16_bytes(x: *const u8, stride: usize, rows: usize, len: usize, out: *mut u32) {
        let k = _cvtu32_mask16((1u32 << len) - 1);
        let (mut masks, mut bit) = (_mm512_setzero_si512(), _mm512_set1_epi32(1));
        for r in 0..rows {
            let row = _mm_maskz_loadu_epi8(k, x.add(r * stride).cast());
            masks = _mm512_mask_or_epi32(masks, _mm_test_epi8_mask(row, row), masks, bit);
            bit = _mm512_slli_epi32::<1>(bit);
        }
        _mm512_storeu_si512(out.cast(), masks);
    }

    /// Rows of `x` per set of the product (columns, of the transposed product): four of four
    /// vectors are 16 chains, twice what hides the multiply-adds' latency, with registers to
    /// spare.
    const ROW_SET: usize = 4;

    /// Vectors per block of one row (or column) alone: eight chains hide the multiply-adds'
    /// latency on two units.
    const WIDE: usize = 8;

    kernels!("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,popcnt", 16);
}

/// For each byte `m`, the positions of its set bits in increasing order, one per byte from
/// the lowest (the rest 0): a table instead of computing them, as the lists are built
/// for every set of rows.
#[cfg(target_arch = "x86_64")]
const SET_BIT_POSITIONS: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut m = 0;
    while m < 256 {
        let (mut positions, mut found, mut bit) = (0u64, 0, 0);
        while bit < 8 {
            if (m >> bit) & 1 == 1 {
                positions |= (bit as u64) << (8 * found);
                found += 1;
            }
            bit += 1;
        }
        table[m] = positions;
        m += 1;
    }
    table
};

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    type V = __m256;

    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn zero() -> V {
        _mm256_setzero_ps()
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn splat(x: f32) -> V {
        _mm256_set1_ps(x)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn fma(a: V, b: V, c: V) -> V {
        _mm256_fmadd_ps(a, b, c)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn add(a: V, b: V) -> V {
        _mm256_add_ps(a, b)
    }

    /// A mask selecting the first `lanes` of eight.
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn lane_mask(lanes: usize) -> __m256i {
        _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }

    /// The first `lanes` floats at `p` (the others 0, not read).
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn load(p: *const f32, lanes: usize) -> V {
        if lanes == 8 {
            _mm256_loadu_ps(p)
        } else {
            _mm256_maskload_ps(p, lane_mask(lanes))
        }
    }

    /// The two floats at `p` (the other lanes 0): one plain load, where a masked one takes
    /// further micro-operations.
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn load_pair(p: *const f32) -> V {
        _mm256_zextps128_ps256(_mm_castpd_ps(_mm_load_sd(p.cast())))
    }

    /// Writes the first `lanes` floats of `v` at `p`.
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn store(p: *mut f32, v: V, lanes: usize) {
        if lanes == 8 {
            _mm256_storeu_ps(p, v)
        } else {
            _mm256_maskstore_ps(p, lane_mask(lanes), v)
        }
    }

    /// Writes the first two floats of `v` at `p` (a plain store, see [`load_pair`]).
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn store_pair(p: *mut f32, v: V) {
        _mm_store_sd(p.cast(), _mm_castps_pd(_mm256_castps256_ps128(v)))
    }

    /// Bit `t` set where the float `p[t]` (`t < len <= 16`) is not 0 (NaN included).
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn nonzero16(p: *const f32, len: usize) -> u16 {
        let z = _mm256_setzero_ps();
        let lo = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(load(p, len.min(8)), z)) as u16;
        if len <= 8 {
            return lo & ((1u32 << len) - 1) as u16;
        }
        let hi = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(load(p.add(8), len - 8), z)) as u16;
        lo | ((hi & ((1u32 << (len - 8)) - 1) as u16) << 8)
    }

    /// Writes `base + t` for each bit `t` of the 8-bit `mask`, in order, at `out` (8 slots
    /// written), and returns how many bits there were: the bit positions as bytes from
    /// [`super::SET_BIT_POSITIONS`], then widened.
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn compress8(mask: u8, base: u32, out: *mut u32) -> usize {
        let positions = super::SET_BIT_POSITIONS[mask as usize];
        let wide = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(positions as i64));
        _mm256_storeu_si256(out.cast(), _mm256_add_epi32(wide, _mm256_set1_epi32(base as i32)));
        mask.count_ones() as usize
    }

    /// For the columns `0..len` (`len <= 16`) of `rows` rows (`rows <= 32`) starting at `x`,
    /// each column's mask of rows that are not 0 there (bit `r` for row `r`), into `out` (16
    /// slots written): a compare per row and eight columns, whose all-ones lanes select the
    /// row's bit.
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    pub(super) unsafe fn column_rows16(x: *const f32, stride: usize, rows: usize, len: usize, out: *mut u32) {
        let z = _mm256_setzero_ps();
        let (mut low, mut high) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for r in 0..rows {
            let row = x.add(r * stride);
            let bit = _mm256_set1_epi32((1u32 << r) as i32);
            let lo = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NEQ_UQ>(load(row, len.min(8)), z));
            low = _mm256_or_si256(low, _mm256_and_si256(lo, bit));
            if len > 8 {
                let hi = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NEQ_UQ>(load(row.add(8), len - 8), z));
                high = _mm256_or_si256(high, _mm256_and_si256(hi, bit));
            }
        }
        _mm256_storeu_si256(out.cast(), low);
        _mm256_storeu_si256(out.add(8).cast(), high);
    }

    /// The bytes `p[..len]` (`len <= 16`) in the low lanes, the others 0 (none read past `len`).
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn load_bytes16(p: *const u8, len: usize) -> __m128i {
        if len == 16 {
            _mm_loadu_si128(p.cast())
        } else {
            let mut buf = [0u8; 16];
            std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), len);
            _mm_loadu_si128(buf.as_ptr().cast())
        }
    }

    /// Bit `t` set where the byte `p[t]` (`t < len <= 16`) is not 0.
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    unsafe fn nonzero16_bytes(p: *const u8, len: usize) -> u16 {
        let zeros = _mm_movemask_epi8(_mm_cmpeq_epi8(load_bytes16(p, len), _mm_setzero_si128())) as u32;
        (!zeros & ((1u32 << len) - 1)) as u16
    }

    /// [`column_rows16`] for bytes: a compare per row and sixteen columns, whose all-ones
    /// bytes, widened to lanes, select the row's bit.
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    pub(super) unsafe fn column_rows16_bytes(x: *const u8, stride: usize, rows: usize, len: usize, out: *mut u32) {
        let (mut low, mut high) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let ones = _mm_set1_epi8(-1);
        for r in 0..rows {
            let zero = _mm_cmpeq_epi8(load_bytes16(x.add(r * stride), len), _mm_setzero_si128());
            let nonzero = _mm_xor_si128(zero, ones);
            let bit = _mm256_set1_epi32((1u32 << r) as i32);
            low = _mm256_or_si256(low, _mm256_and_si256(_mm256_cvtepi8_epi32(nonzero), bit));
            high = _mm256_or_si256(high, _mm256_and_si256(_mm256_cvtepi8_epi32(_mm_srli_si128::<8>(nonzero)), bit));
        }
        _mm256_storeu_si256(out.cast(), low);
        _mm256_storeu_si256(out.add(8).cast(), high);
    }

    /// As [`compress8`] for 16 bits (16 slots written).
    #[inline]
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
    pub(super) unsafe fn compress16(mask: u16, base: u32, out: *mut u32) -> usize {
        let low = compress8(mask as u8, base, out);
        low + compress8((mask >> 8) as u8, base + 8, out.add(low))
    }

    /// Rows of `x` per set of the product (columns, of the transposed product): three of four
    /// vectors are 12 chains, with a broadcast per row and a load of the other operand the 16
    /// registers. Measured against pairs (8 chains) with the GEMM crates on AVX2 as well
    /// (`bench/avx2_view.c`; BENCHMARKS.md, issue 25): 256 x 392 x 1024 of MNIST's pixels
    /// product 1.13-1.36 against 1.33-1.46 ms, transposed product 1.12-1.24 against 1.24-1.34
    /// ms; the seed fit 0.78-0.87 against 0.81-0.89 s.
    const ROW_SET: usize = 3;

    /// Vectors per block of one row (or column) alone: eight chains hide the multiply-adds'
    /// latency on two units, with a broadcast and a spare among the 16 registers.
    const WIDE: usize = 8;

    kernels!("avx2,fma,bmi1,bmi2,popcnt", 8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    /// Each output as the documented chain of fused multiply-adds, zeros included.
    fn chain_product(x: &[f32], rows: usize, stride: usize, count: usize, w: &[f32], n: usize, out: &mut [f32]) {
        for i in 0..rows {
            for j in 0..n {
                let mut acc = out[i * n + j];
                for k in 0..count {
                    acc = x[i * stride + k].mul_add(w[k * n + j], acc);
                }
                out[i * n + j] = acc;
            }
        }
    }

    fn chain_transposed(x: &[f32], rows: usize, stride: usize, count: usize, d: &[f32], n: usize, g: &mut [f32]) {
        for k in 0..count {
            for j in 0..n {
                let mut acc = g[k * n + j];
                for i in 0..rows {
                    acc = x[i * stride + k].mul_add(d[i * n + j], acc);
                }
                g[k * n + j] = acc;
            }
        }
    }

    /// The values' bit patterns, for comparisons that tell 0 from -0.
    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|f| f.to_bits()).collect()
    }

    /// Random values with about `zeros` of them exactly 0 (some negative zeros too).
    fn sparse_values(len: usize, zeros: f32, rng: &mut Rng) -> Vec<f32> {
        (0..len)
            .map(|_| {
                let u = rng.next_f32();
                if u < zeros / 2.0 {
                    0.0
                } else if u < zeros {
                    -0.0
                } else {
                    rng.uniform(-1.0, 1.0)
                }
            })
            .collect()
    }

    /// The same bits as the chain that does not skip zeros (at this machine's level; every
    /// level is crossed in `tests/kernel_paths.rs`, which may change the process-wide level),
    /// for widths around the vector sizes and inner dimensions across the list's tile.
    #[test]
    fn skipping_zeros_gives_the_chain_bit_for_bit() {
        if !available() {
            eprintln!("skipped: no AVX2 with FMA here");
            return;
        }
        let mut rng = Rng::new(11);
        for &(rows, count, n, stride_extra) in &[
            (1, 1, 1, 0),
            (3, 17, 7, 2),
            (32, 392, 50, 392),
            (5, 100, 64, 0),
            (4, 33, 65, 1),
            (2, 1030, 10, 0),
            (70, 300, 33, 5),
            (7, 20, 130, 3),
            (33, 70, 1030, 2),
            (130, 200, 300, 0),
            (70, 129, 1024, 1),
        ] {
            let stride = count + stride_extra;
            for zeros in [0.0, 0.6, 0.8, 1.0] {
                let x = sparse_values(rows * stride, zeros, &mut rng);
                let w = sparse_values(count * n, 0.0, &mut rng);
                let d = sparse_values(rows * n, 0.0, &mut rng);
                let old_out = sparse_values(rows * n, 0.0, &mut rng);
                let old_grad = sparse_values(count * n, 0.0, &mut rng);
                for accumulate in [false, true] {
                    let mut want = if accumulate { old_out.clone() } else { vec![0.0; rows * n] };
                    chain_product(&x, rows, stride, count, &w, n, &mut want);
                    let mut want_g = if accumulate { old_grad.clone() } else { vec![0.0; count * n] };
                    chain_transposed(&x, rows, stride, count, &d, n, &mut want_g);
                    let shape = Shape { rows, stride, count, n };
                    for sets in [Sets::Shared, Sets::Single] {
                        let mut got = old_out.clone();
                        assert!(product_in(sets, Input::Floats(&x), shape, &w, &mut got, accumulate));
                        let mut got_g = old_grad.clone();
                        assert!(transposed_product_in(sets, Input::Floats(&x), shape, &d, &mut got_g, accumulate));
                        let case =
                            format!("{sets:?}, rows {rows} count {count} n {n} zeros {zeros} accumulate {accumulate}");
                        assert_eq!(bits(&got), bits(&want), "product, {case}");
                        assert_eq!(bits(&got_g), bits(&want_g), "transposed product, {case}");
                    }
                }
            }
        }
    }

    /// Bytes that stand for a table's floats give the chains of those floats, bit for bit,
    /// where the floats would be taken in shared sets (and decline, doing nothing, where they
    /// would not): shapes around the tiles and vectors, strided rows, both starts.
    #[test]
    fn bytes_give_the_chains_of_their_floats_bit_for_bit() {
        if !available() {
            eprintln!("skipped: no AVX2 with FMA here");
            return;
        }
        let mut rng = Rng::new(17);
        let mut values = [0f32; 256];
        for v in &mut values[1..] {
            *v = loop {
                let v = rng.uniform(-2.0, 2.0);
                if v != 0.0 {
                    break v;
                }
            };
        }
        let table = ByteTable::new(values).unwrap();
        for &(rows, count, n, stride_extra) in
            &[(32, 392, 50, 0), (3, 17, 7, 2), (40, 200, 70, 5), (33, 129, 16, 1), (8, 300, 130, 0), (9, 40, 1024, 0)]
        {
            let stride = count + stride_extra;
            for zeros in [0.0, 0.85, 1.0] {
                let x: Vec<u8> = (0..rows * stride)
                    .map(|_| if rng.next_f32() < zeros { 0 } else { rng.below(255) as u8 + 1 })
                    .collect();
                let mut floats = vec![0f32; x.len()];
                table.convert(&x, &mut floats);
                let w = sparse_values(count * n, 0.0, &mut rng);
                let d = sparse_values(rows * n, 0.0, &mut rng);
                let old_out = sparse_values(rows * n, 0.0, &mut rng);
                let old_grad = sparse_values(count * n, 0.0, &mut rng);
                let shared =
                    faster_sets(&floats, rows, stride, count, n, true) == Some(Sets::Shared) && narrow_for_bytes(n);
                for accumulate in [false, true] {
                    let case = format!("rows {rows} count {count} n {n} zeros {zeros} accumulate {accumulate}");
                    let mut want = if accumulate { old_out.clone() } else { vec![0.0; rows * n] };
                    chain_product(&floats, rows, stride, count, &w, n, &mut want);
                    let mut want_g = if accumulate { old_grad.clone() } else { vec![0.0; count * n] };
                    chain_transposed(&floats, rows, stride, count, &d, n, &mut want_g);
                    let mut got = old_out.clone();
                    let ran = product_of_bytes(&x, &table, rows, stride, count, &w, n, &mut got, accumulate);
                    assert_eq!(ran, shared && count >= 16, "product taken, {case}");
                    let mut got_g = old_grad.clone();
                    let ran_g =
                        transposed_product_of_bytes(&x, &table, rows, stride, count, &d, n, &mut got_g, accumulate);
                    assert_eq!(ran_g, shared && rows >= 8, "transposed product taken, {case}");
                    if ran {
                        assert_eq!(bits(&got), bits(&want), "product, {case}");
                    } else {
                        assert_eq!(bits(&got), bits(&old_out), "a declined product wrote, {case}");
                    }
                    if ran_g {
                        assert_eq!(bits(&got_g), bits(&want_g), "transposed product, {case}");
                    } else {
                        assert_eq!(bits(&got_g), bits(&old_grad), "a declined transposed product wrote, {case}");
                    }
                }
            }
        }
    }

    /// A table must say 0 for the byte 0, and only for it: the kernels tell the zeros from the
    /// bytes.
    #[test]
    fn a_byte_table_has_its_only_zero_at_0() {
        let mut values: [f32; 256] = std::array::from_fn(|b| b as f32 / 255.0);
        assert!(ByteTable::new(values).is_some_and(|t| t.value(255) == 1.0 && t.value(0) == 0.0));
        values[0] = -0.0;
        assert!(ByteTable::new(values).is_none());
        values[0] = 0.5;
        assert!(ByteTable::new(values).is_none());
        values[0] = 0.0;
        values[7] = 0.0;
        assert!(ByteTable::new(values).is_none());
    }

    /// A small product is, for every output, the chain from 0 over the inner dimension in
    /// order, then written or added to the old value (as `matrixmultiply` accumulates), for
    /// row counts around the sets' sizes, widths around the vector sizes, strided rows of `a`
    /// and `a` read transposed.
    #[test]
    fn small_products_are_the_chains_from_zero_bit_for_bit() {
        if !available() {
            eprintln!("skipped: no AVX2 with FMA here");
            return;
        }
        let mut rng = Rng::new(12);
        // Every shape within the smaller limit (AVX2's, 2^15 multiply-adds).
        for &(m, k, n) in &[(1, 1, 1), (16, 50, 10), (25, 16, 10), (9, 10, 50), (3, 256, 40), (17, 7, 16), (8, 33, 65)]
        {
            assert!(m * k * n <= small_product_limit(), "{m} x {k} x {n} is not a small product here");
            for transposed in [false, true] {
                // a: m x k, by rows with 3 values between rows, or read transposed.
                let (a_rows, a_step, a_len) =
                    if transposed { (1, m + 2, k * (m + 2)) } else { (k + 3, 1, m * (k + 3)) };
                let a = sparse_values(a_len, 0.2, &mut rng);
                let b_rows = n + 1;
                let b = sparse_values(k * b_rows, 0.0, &mut rng);
                let c_rows = n + 2;
                let old = sparse_values(m * c_rows, 0.0, &mut rng);
                for add in [false, true] {
                    let mut want = old.clone();
                    for i in 0..m {
                        for j in 0..n {
                            let mut acc = 0.0f32;
                            for p in 0..k {
                                acc = a[i * a_rows + p * a_step].mul_add(b[p * b_rows + j], acc);
                            }
                            let out = &mut want[i * c_rows + j];
                            *out = if add { *out + acc } else { acc };
                        }
                    }
                    let mut got = old.clone();
                    assert!(small_product(&a, a_rows, a_step, m, k, &b, b_rows, n, &mut got, c_rows, add));
                    assert_eq!(bits(&got), bits(&want), "m {m} k {k} n {n} transposed {transposed} add {add}");
                }
            }
        }
        // Not small: declined, nothing written.
        let mut c = vec![0.0; 4 * 300];
        assert!(!small_product(&[1.0; 4 * 300], 300, 1, 4, 300, &[1.0; 300 * 300], 300, 300, &mut c, 300, false));
        assert!(!small_product(&[1.0; 4], 2, 1, 2, 2, &[1.0; 3], 2, 2, &mut c[..4], 2, false), "b too short");
        assert!(c.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn wrong_lengths_decline() {
        let mut out = [0.0; 4];
        assert!(!product(&[1.0; 3], 2, 2, 2, &[1.0; 4], 2, &mut out, false));
        assert!(!transposed_product(&[1.0; 4], 2, 2, 2, &[1.0; 3], 2, &mut out, false));
        assert!(!product(&[1.0; 4], 2, 1, 2, &[1.0; 4], 2, &mut out, false), "a stride below the count");
        assert_eq!(out, [0.0; 4]);
    }

    /// Zeros in the same columns from row to row go to shared sets; zeros anywhere go a row
    /// at a time when the other operand is wide enough; few zeros go nowhere.
    #[test]
    fn the_zeros_choose_the_kernels() {
        let mut rng = Rng::new(13);
        let (rows, count) = (64, 300);
        let border: Vec<bool> = (0..count).map(|c| c % 10 < 7).collect();
        let pixels: Vec<f32> =
            (0..rows * count).map(|i| if border[i % count] { 0.0 } else { rng.next_f32() + 0.5 }).collect();
        let relu = sparse_values(rows * count, 0.6, &mut rng);
        let dense = sparse_values(rows * count, 0.1, &mut rng);
        assert_eq!(sets_for(&pixels, rows, count, count, 50), Some(Sets::Shared));
        assert_eq!(sets_for(&relu, rows, count, count, 1024), Some(Sets::Single));
        assert_eq!(sets_for(&relu, rows, count, count, 10), None, "too narrow for rows alone");
        assert_eq!(sets_for(&dense, rows, count, count, 1024), None);
        assert!((zero_fraction(&relu, rows, count, count) - 0.6).abs() < 0.05);
    }

    #[test]
    fn paired_zero_fraction_counts_columns_zero_in_both_rows() {
        let x = [0.0, 1.0, 0.0, 7.0, 0.0, 0.0, 5.0, 7.0];
        assert_eq!(paired_zero_fraction(&x, 2, 4, 3), 1.0 / 3.0);
        assert_eq!(paired_zero_fraction(&x, 1, 4, 3), 0.0);
    }
}
