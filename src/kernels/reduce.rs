//! Row and column sums, the bias broadcast of a dense layer, and bytes to floats.

use multiversion::multiversion;

/// `out[j] = beta * out[j] + sum_i x[i, j]` for a row-major `rows x cols` matrix: the bias
/// gradient of a dense layer is the column sum of its output gradient.
#[multiversion(targets = "simd")]
pub fn col_sums(x: &[f32], cols: usize, out: &mut [f32], beta: f32) {
    if beta == 0.0 {
        out.fill(0.0);
    } else if beta != 1.0 {
        out.iter_mut().for_each(|o| *o *= beta);
    }
    if cols == 0 {
        return;
    }
    for row in x.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// Adds `bias` to every row of a row-major matrix with `bias.len()` columns.
#[multiversion(targets = "simd")]
pub fn add_row_vector(x: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// Index of the largest value in each row (the first one on ties), as NumPy's argmax.
#[multiversion(targets = "simd")]
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

/// `dst[i] = src[i] / scale`: grey levels to 0..1, the data loader's inner loop.
#[multiversion(targets = "simd")]
pub fn bytes_to_unit(src: &[u8], dst: &mut [f32], scale: f32) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s as f32 / scale;
    }
}

/// `dst[i] += src[i]`.
#[multiversion(targets = "simd")]
pub fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}
