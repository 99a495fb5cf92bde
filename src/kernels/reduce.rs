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

simd_kernel! {
    /// Index of the largest value in each row (the first one on ties), as NumPy's argmax.
    pub fn argmax_rows(x: &[f32], cols: usize, out: &mut [usize]) {
        if cols == 0 {
            return;
        }
        for (row, o) in x.chunks_exact(cols).zip(out.iter_mut()) {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                // NaN wins, as in NumPy, so a diverged model does not look accurate.
                if v > row[best] || (v.is_nan() && !row[best].is_nan()) {
                    best = j;
                }
            }
            *o = best;
        }
    }
}

simd_kernel! {
    /// `dst[i] = src[i] / scale`: grey levels to 0..1, the data loader's inner loop.
    pub fn bytes_to_unit(src: &[u8], dst: &mut [f32], scale: f32) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s as f32 / scale;
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
