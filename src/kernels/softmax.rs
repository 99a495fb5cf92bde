//! Row-wise softmax and log-softmax, and the cross-entropy losses fused with their gradients.
//!
//! Every function subtracts the row maximum first, so `softmax([1010, 1000, 990])` is finite
//! where the textbook formula overflows to NaN.

use crate::simd_kernel;

use super::exp::exp;

/// Rows that [`softmax_cross_entropy_sparse`] takes through each of its passes at once.
const CROSS_ENTROPY_BLOCK: usize = 64;

simd_kernel! {
    /// Softmax of each row of a row-major matrix with `cols` columns, in place.
    pub fn softmax_rows(x: &mut [f32], cols: usize) {
        if cols == 0 {
            return;
        }
        // In three passes rather than row by row: the exponentials of all rows at once
        // vectorise whatever the rows' length (ten classes alone would not), and each row's
        // sum still adds its terms in order, so the result is the same to the bit.
        let whole = x.len() - x.len() % cols;
        let x = &mut x[..whole];
        for row in x.chunks_exact_mut(cols) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            for v in row.iter_mut() {
                *v -= max;
            }
        }
        for v in x.iter_mut() {
            *v = exp(*v);
        }
        for row in x.chunks_exact_mut(cols) {
            let sum = row.iter().fold(0.0f32, |sum, &v| sum + v);
            let inv = 1.0 / sum;
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

simd_kernel! {
    /// Log-softmax of each row, in place: `x - max - ln(sum(exp(x - max)))`.
    pub fn log_softmax_rows(x: &mut [f32], cols: usize) {
        if cols == 0 {
            return;
        }
        for row in x.chunks_exact_mut(cols) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = row.iter().map(|&v| exp(v - max)).sum();
            let lse = max + sum.ln();
            for v in row.iter_mut() {
                *v -= lse;
            }
        }
    }
}

simd_kernel! {
    /// Backward of softmax given its output `y`: `g_i = y_i (g_i - sum_j y_j g_j)` per row,
    /// computed as `y_i ((g_i - g_m) + sum_{j != m} y_j (g_m - g_j))` with `m` the row's largest
    /// output. The two are equal because the outputs sum to 1, but where `y_m` rounds to 1 the
    /// second keeps the digits that `1 - y_m` loses (the Jacobian's diagonal `y_m (1 - y_m)`
    /// comes out as `y_m` times the sum of the other outputs).
    pub fn softmax_grad(y: &[f32], g: &mut [f32], cols: usize) {
        if cols == 0 {
            return;
        }
        for (yr, gr) in y.chunks_exact(cols).zip(g.chunks_exact_mut(cols)) {
            let mut m = 0;
            for (j, &v) in yr.iter().enumerate() {
                if v > yr[m] {
                    m = j;
                }
            }
            let gm = gr[m];
            let rest: f32 =
                yr.iter().zip(gr.iter()).enumerate().filter(|&(j, _)| j != m).map(|(_, (&y, &g))| y * (gm - g)).sum();
            for (g, &y) in gr.iter_mut().zip(yr) {
                *g = y * ((*g - gm) + rest);
            }
        }
    }
}

simd_kernel! {
    /// Backward of log-softmax given its output `y`: `g_i = g_i - e^{y_i} sum_j g_j` per row.
    pub fn log_softmax_grad(y: &[f32], g: &mut [f32], cols: usize) {
        if cols == 0 {
            return;
        }
        for (yr, gr) in y.chunks_exact(cols).zip(g.chunks_exact_mut(cols)) {
            let sum: f32 = gr.iter().sum();
            for (g, &y) in gr.iter_mut().zip(yr) {
                *g -= exp(y) * sum;
            }
        }
    }
}

simd_kernel! {
    /// Sparse categorical cross-entropy from logits, fused with its gradient.
    ///
    /// For each row: `loss = logsumexp(z) - z[label]`. Overwrites `logits` with
    /// `scale * (softmax(z) - onehot(label))`, the gradient of `scale * sum(loss)`, and returns
    /// the unscaled sum of the rows' losses. A label that is not below `cols` makes that row's
    /// loss NaN (callers check labels first; this never panics).
    pub fn softmax_cross_entropy_sparse(logits: &mut [f32], cols: usize, labels: &[u32], scale: f32) -> f64 {
        if cols == 0 {
            return 0.0;
        }
        let mut total = 0.0f64;
        // As in `softmax_rows`, blocks of rows in three passes so that the exponentials
        // vectorise; `z_label - max` of each row is kept on the stack meanwhile.
        let mut shifted_label = [0.0f32; CROSS_ENTROPY_BLOCK];
        for (block, labels) in logits.chunks_mut(CROSS_ENTROPY_BLOCK * cols).zip(labels.chunks(CROSS_ENTROPY_BLOCK)) {
            let rows = labels.len().min(block.len() / cols);
            let block = &mut block[..rows * cols];
            for ((row, &label), kept) in block.chunks_exact_mut(cols).zip(labels).zip(shifted_label.iter_mut()) {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                for v in row.iter_mut() {
                    *v -= max;
                }
                *kept = row.get(label as usize).copied().unwrap_or(f32::NAN);
            }
            for v in block.iter_mut() {
                *v = exp(*v);
            }
            for ((row, &label), &z_label) in block.chunks_exact_mut(cols).zip(labels).zip(shifted_label.iter()) {
                if label as usize >= cols {
                    total = f64::NAN;
                    continue;
                }
                let sum = row.iter().fold(0.0f32, |sum, &v| sum + v);
                // -ln(softmax[label]) = ln(sum) - (z_label - max): one logarithm, and finite
                // even where e^(z_label - max) underflows to 0.
                let loss = sum.ln() - z_label;
                total += loss as f64;
                let inv = scale / sum;
                for v in row.iter_mut() {
                    *v *= inv;
                }
                row[label as usize] -= scale;
            }
        }
        total
    }
}

simd_kernel! {
    /// Categorical cross-entropy against probability targets (one-hot or soft), fused with its
    /// gradient: overwrites `logits` with `scale * (softmax(z) - t)` (valid when each target row
    /// sums to 1) and returns the unscaled sum of `-sum_i t_i log softmax(z)_i` over rows.
    pub fn softmax_cross_entropy_dense(logits: &mut [f32], cols: usize, targets: &[f32], scale: f32) -> f64 {
        if cols == 0 {
            return 0.0;
        }
        let mut total = 0.0f64;
        for (row, t) in logits.chunks_exact_mut(cols).zip(targets.chunks_exact(cols)) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = row.iter().map(|&v| exp(v - max)).sum();
            let lse = max + sum.ln();
            let mut loss = 0.0f32;
            for (v, &ti) in row.iter_mut().zip(t) {
                let logp = *v - lse;
                loss -= ti * logp;
                *v = scale * (exp(logp) - ti);
            }
            total += loss as f64;
        }
        total
    }
}

simd_kernel! {
    /// Binary cross-entropy from logits `z`, fused with its gradient: overwrites `z` with
    /// `scale * (sigmoid(z) - t)` and returns the unscaled sum over elements of
    /// `max(z, 0) - z t + ln(1 + e^-|z|)`, which equals `-(t ln p + (1-t) ln(1-p))` without
    /// ever taking the log of 0.
    pub fn sigmoid_binary_cross_entropy(z: &mut [f32], targets: &[f32], scale: f32) -> f64 {
        let mut total = 0.0f64;
        for (v, &t) in z.iter_mut().zip(targets) {
            let x = *v;
            let e = exp(-x.abs());
            total += (x.max(0.0) - x * t + e.ln_1p()) as f64;
            let s = 1.0 / (1.0 + e);
            let p = if x >= 0.0 { s } else { e * s };
            *v = scale * (p - t);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    /// Softmax one row at a time, each exponential added to the sum as it is computed: the
    /// definition the passes of [`softmax_rows`] must reproduce to the bit.
    fn softmax_row_by_row(x: &mut [f32], cols: usize) {
        for row in x.chunks_exact_mut(cols) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f32;
            for v in row.iter_mut() {
                *v = exp(*v - max);
                sum += *v;
            }
            for v in row.iter_mut() {
                *v *= 1.0 / sum;
            }
        }
    }

    #[test]
    fn passes_over_many_rows_give_the_row_by_row_bits() {
        let mut rng = Rng::new(3);
        // Row lengths below, at and above a vector, and more rows than one cross-entropy block.
        for cols in [1, 2, 10, 16, 17, 50, 1000] {
            let rows = 150;
            let z: Vec<f32> = (0..rows * cols).map(|_| 8.0 * rng.normal()).collect();
            let labels: Vec<u32> = (0..rows).map(|i| (i * 7 % cols) as u32).collect();
            let (mut got, mut want) = (z.clone(), z.clone());
            softmax_rows(&mut got, cols);
            softmax_row_by_row(&mut want, cols);
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "softmax, {cols} columns");

            let scale = 1.0 / rows as f32;
            let mut got = z.clone();
            let total = softmax_cross_entropy_sparse(&mut got, cols, &labels, scale);
            let mut want_total = 0.0f64;
            let mut want = z.clone();
            for (row, &label) in want.chunks_exact_mut(cols).zip(&labels) {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let z_label = row[label as usize];
                let mut sum = 0.0f32;
                for v in row.iter_mut() {
                    *v = exp(*v - max);
                    sum += *v;
                }
                want_total += (sum.ln() - (z_label - max)) as f64;
                for v in row.iter_mut() {
                    *v *= scale / sum;
                }
                row[label as usize] -= scale;
            }
            assert_eq!(total.to_bits(), want_total.to_bits(), "cross-entropy, {cols} columns");
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "gradient, {cols} columns");
        }
    }

    #[test]
    fn softmax_of_huge_logits_is_finite_and_sums_to_one() {
        let mut x = [1010.0, 1000.0, 990.0];
        softmax_rows(&mut x, 3);
        assert!(x.iter().all(|v| v.is_finite()));
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_label_out_of_range_gives_nan_not_a_panic() {
        let mut z = [0.1f32, 0.2, 0.3];
        assert!(softmax_cross_entropy_sparse(&mut z, 3, &[3], 1.0).is_nan());
    }

    #[test]
    fn fused_sparse_cross_entropy_matches_the_definition() {
        let z = [0.3f32, 2.9, 4.0, -1.0, 0.0, 1.0];
        let mut g = z;
        let loss = softmax_cross_entropy_sparse(&mut g, 3, &[2, 0], 0.5);
        let mut p = z;
        softmax_rows(&mut p, 3);
        let want = -(p[2].ln() as f64) - (p[3].ln() as f64);
        assert!((loss - want).abs() < 1e-5);
        assert!((g[2] - 0.5 * (p[2] - 1.0)).abs() < 1e-6);
        assert!((g[4] - 0.5 * p[4]).abs() < 1e-6);
    }

    #[test]
    fn a_hopeless_prediction_costs_its_true_loss_not_infinity() {
        // e^(0 - 200) underflows to 0 in f32, yet -ln softmax[0] = 200 + ln(1 + e^-200).
        let mut z = [0.0f32, 200.0];
        let loss = softmax_cross_entropy_sparse(&mut z, 2, &[0], 1.0);
        assert_eq!(loss, 200.0);
        assert_eq!(z, [-1.0, 1.0]);
    }
}
