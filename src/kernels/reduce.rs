//! Column sums (a dense layer's bias gradient), row-wise arg-max, sums of buffers, and
//! bytes to floats.

use crate::simd_kernel;

simd_kernel! {
    /// `out[j] (=, or += with accumulate) sum_i x[i, first + j]` for a row-major matrix with
    /// `cols` columns: entries `first..first + out.len()` of the column sums, which is the bias
    /// gradient of a dense layer (the column sums of its output gradient). Rows are added in
    /// order, so the result does not depend on how the columns are split between threads.
    pub fn column_sums(x: &[f32], cols: usize, first: usize, out: &mut [f32], accumulate: bool) {
        if !accumulate {
            out.fill(0.0);
        }
        if cols == 0 {
            return;
        }
        let end = (first + out.len()).min(cols);
        for row in x.chunks_exact(cols) {
            for (o, &v) in out.iter_mut().zip(&row[first.min(end)..end]) {
                *o += v;
            }
        }
    }
}

/// Rows whose arg-max [`argmax_rows`] follows at once: each row's scan is a chain of
/// dependent selects, so four independent chains keep the core busy (a training step's 16
/// rows of 10 took about 1,000 cycles one row after another).
const ARGMAX_ROWS: usize = 4;

simd_kernel! {
    /// Index of the largest value in each row (the first one on ties), as NumPy's argmax.
    pub fn argmax_rows(x: &[f32], cols: usize, out: &mut [usize]) {
        if cols == 0 {
            return;
        }
        // NaN wins, as in NumPy, so a diverged model does not look accurate. Selects, not
        // branches: where the largest value falls is data, and a branch on it is mispredicted
        // about once a row (a tenth of a training step's loss measured).
        #[inline(always)]
        fn follow(v: f32, j: usize, best: &mut usize, largest: &mut f32) {
            // `|` and `&`, not `||` and `&&`: no branch to mispredict.
            let wins = (v > *largest) | (v.is_nan() & !largest.is_nan());
            *best = if wins { j } else { *best };
            *largest = if wins { v } else { *largest };
        }
        let mut groups = x.chunks_exact(cols * ARGMAX_ROWS);
        let mut outs = out.chunks_exact_mut(ARGMAX_ROWS);
        for (group, o) in (&mut groups).zip(&mut outs) {
            let rows: [&[f32]; ARGMAX_ROWS] = std::array::from_fn(|r| &group[r * cols..(r + 1) * cols]);
            let mut best = [0usize; ARGMAX_ROWS];
            let mut largest: [f32; ARGMAX_ROWS] = std::array::from_fn(|r| rows[r][0]);
            for j in 1..cols {
                for ((row, b), l) in rows.iter().zip(&mut best).zip(&mut largest) {
                    follow(row[j], j, b, l);
                }
            }
            o.copy_from_slice(&best);
        }
        for (row, o) in groups.remainder().chunks_exact(cols).zip(outs.into_remainder()) {
            let (mut best, mut largest) = (0, row[0]);
            for (j, &v) in row.iter().enumerate().skip(1) {
                follow(v, j, &mut best, &mut largest);
            }
            *o = best;
        }
    }
}

simd_kernel! {
    /// `rows[i][j] += bias[j]` for each row of `bias.len()` values (a dense layer's bias):
    /// the same sums as [`add_assign`] row by row, in one call.
    pub fn add_to_rows(rows: &mut [f32], bias: &[f32]) {
        if bias.is_empty() {
            return;
        }
        for row in rows.chunks_exact_mut(bias.len()) {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }
}

/// `dst[i] = src[i] / scale`: grey levels to 0..1, the data loader's inner loop. Where the
/// machine has fused multiply-adds and `scale` is a whole number up to 255 (a data set's
/// brightest grey level), the quotient is formed without the divider, with the same bits:
/// `q = s r` with `r` the rounded `1 / scale`, then `q + (s - q scale) r`, each with one
/// rounding, which is the correctly rounded `s / scale` (Markstein's correction; checked
/// against the division for every byte and every such scale by a test). The divider, one
/// quotient per pixel, bounded the seed model's gather: 7,400 cycles a thread and step, 4,400
/// to 4,600 this way (BENCHMARKS.md, issue 25).
pub fn bytes_to_unit(src: &[u8], dst: &mut [f32], scale: f32) {
    let whole_byte = scale.fract() == 0.0 && (1.0..=255.0).contains(&scale);
    if whole_byte && super::dispatch::isa() >= super::dispatch::Isa::Avx2 {
        bytes_over_whole_scale(src, dst, scale, 1.0 / scale);
    } else {
        bytes_over_scale(src, dst, scale);
    }
}

simd_kernel! {
    /// `dst[i] = src[i] / scale` by the divider.
    fn bytes_over_scale(src: &[u8], dst: &mut [f32], scale: f32) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s as f32 / scale;
        }
    }
}

simd_kernel! {
    /// `dst[i] = src[i] / scale` by the reciprocal `inverse` (`1 / scale` rounded) and one
    /// correction; exact for whole scales up to 255 (see [`bytes_to_unit`]). Only dispatched
    /// where fused multiply-adds are instructions (else `mul_add` would call the library's).
    fn bytes_over_whole_scale(src: &[u8], dst: &mut [f32], scale: f32, inverse: f32) {
        for (d, &s) in dst.iter_mut().zip(src) {
            let s = s as f32;
            let q = s * inverse;
            let residual = (-q).mul_add(scale, s);
            *d = residual.mul_add(inverse, q);
        }
    }
}

simd_kernel! {
    /// `dst[i] = a[i] + b[i]` (over the shortest of the three): one pass where a copy and
    /// [`add_assign`] would take two, with the same sums.
    pub fn add(dst: &mut [f32], a: &[f32], b: &[f32]) {
        for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
            *d = x + y;
        }
    }
}

simd_kernel! {
    /// `dst[i] += src[i]`.
    pub fn add_assign(dst: &mut [f32], src: &[f32]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    /// NumPy's argmax, row by row: the first largest value, or the first NaN.
    fn first_largest(row: &[f32]) -> usize {
        let mut best = 0;
        for (j, &v) in row.iter().enumerate() {
            if v > row[best] || (v.is_nan() && !row[best].is_nan()) {
                best = j;
            }
        }
        best
    }

    /// The conversion without the divider is the division, bit for bit, for every byte and
    /// every whole scale up to 255 (the kernel itself, and the dispatching function at this
    /// machine's level); other scales take the division. `tests/kernel_paths.rs` trains on
    /// converted pixels at every level.
    #[test]
    fn bytes_to_unit_is_the_division_for_every_byte_and_scale() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let mut got = vec![0.0f32; 256];
        let mut direct = vec![0.0f32; 256];
        for scale in (1..=255).map(|s| s as f32).chain([0.5, 3.7, 1e-3, 1e30, 256.0, 1000.0]) {
            bytes_to_unit(&bytes, &mut got, scale);
            bytes_over_whole_scale(&bytes, &mut direct, scale, 1.0 / scale);
            for ((b, g), d) in bytes.iter().zip(&got).zip(&direct) {
                let want = *b as f32 / scale;
                assert_eq!(g.to_bits(), want.to_bits(), "{b} / {scale}: {g} against {want}");
                if scale.fract() == 0.0 && scale <= 255.0 {
                    assert_eq!(d.to_bits(), want.to_bits(), "{b} / {scale} by the reciprocal: {d} against {want}");
                }
            }
        }
    }

    /// One pass of `add` gives what a copy and `add_assign` give, bit for bit, on lengths
    /// around the vector sizes, and stops at the shortest slice.
    #[test]
    fn add_is_a_copy_then_add_assign() {
        let mut rng = Rng::new(5);
        for n in [0, 1, 7, 8, 15, 16, 17, 33, 800] {
            let a: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
            let b: Vec<f32> = (0..n).map(|_| rng.normal() * 1e-3).collect();
            let mut want = a.clone();
            add_assign(&mut want, &b);
            let mut got = vec![f32::NAN; n];
            add(&mut got, &a, &b);
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "n {n}"
            );
        }
        let mut short = [0.0; 3];
        add(&mut short, &[1.0, 2.0], &[10.0, 20.0, 30.0]);
        assert_eq!(short, [11.0, 22.0, 0.0]);
    }

    /// A bias added to every row in one call gives `add_assign` row by row, bit for bit.
    #[test]
    fn add_to_rows_is_add_assign_row_by_row() {
        let mut rng = Rng::new(6);
        for (rows, cols) in [(0, 3), (1, 1), (3, 10), (16, 50), (5, 17), (2, 64)] {
            let z: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
            let bias: Vec<f32> = (0..cols).map(|_| rng.normal() * 1e-3).collect();
            let mut want = z.clone();
            for row in want.chunks_exact_mut(cols) {
                add_assign(row, &bias);
            }
            let mut got = z.clone();
            add_to_rows(&mut got, &bias);
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{rows} x {cols}"
            );
        }
    }

    #[test]
    fn argmax_takes_the_first_largest_value_or_the_first_nan() {
        let mut out = [9; 3];
        argmax_rows(&[1.0, 3.0, 3.0, 2.0, f32::NAN, 5.0, f32::NAN, 0.0, f32::NEG_INFINITY], 3, &mut out);
        assert_eq!(out, [1, 1, 0]);
        // Rows with ties (values from a few levels), NaNs and infinities, every width to 20;
        // 50 rows, so that both the groups of rows and the rows left over are checked.
        let mut rng = Rng::new(8);
        let levels = [f32::NEG_INFINITY, -1.0, 0.0, -0.0, 0.5, 1.0, f32::INFINITY, f32::NAN];
        for cols in 1..=20 {
            let x: Vec<f32> = (0..cols * 50).map(|_| levels[(rng.next_f32() * 7.99) as usize]).collect();
            let mut got = vec![usize::MAX; 50];
            argmax_rows(&x, cols, &mut got);
            let want: Vec<usize> = x.chunks_exact(cols).map(first_largest).collect();
            assert_eq!(got, want, "{cols} columns");
        }
    }
}
