//! The loops of convolution and pooling over one image, channels last: the window's
//! geometry (where each output position reads, padding skipped), unfolding an image into a
//! row per output position (`im2col`) and folding gradients back, and max and average
//! pooling. Each loop is compiled for AVX-512, AVX2 and the baseline and chosen at run time,
//! like every kernel here; the layers of [`crate::nn`] say what to compute, these how.

use crate::simd_kernel;

/// A window slid over one image: where each output position reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Window {
    pub(crate) in_h: usize,
    pub(crate) in_w: usize,
    pub(crate) channels: usize,
    pub(crate) k_h: usize,
    pub(crate) k_w: usize,
    pub(crate) s_h: usize,
    pub(crate) s_w: usize,
    /// Cells of padding before the image (top, left).
    pub(crate) pad_top: usize,
    pub(crate) pad_left: usize,
    pub(crate) out_h: usize,
    pub(crate) out_w: usize,
}

impl Window {
    /// Values of one input image.
    pub(crate) fn in_len(&self) -> usize {
        self.in_h * self.in_w * self.channels
    }

    /// Output positions of one image.
    pub(crate) fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Values of one window over all channels: a row of the unfolded image.
    pub(crate) fn patch_len(&self) -> usize {
        self.k_h * self.k_w * self.channels
    }

    /// The input rows (`ih`) a window at output row `oh` covers, clipped to the image, with
    /// the offset of the first in the window (`kh`).
    #[inline(always)]
    pub(crate) fn rows_of(&self, oh: usize) -> (usize, std::ops::Range<usize>) {
        span(oh, self.s_h, self.pad_top, self.k_h, self.in_h)
    }

    /// The same for columns.
    #[inline(always)]
    pub(crate) fn cols_of(&self, ow: usize) -> (usize, std::ops::Range<usize>) {
        span(ow, self.s_w, self.pad_left, self.k_w, self.in_w)
    }
}

/// Along one axis: the cells `0..size` that the window of `kernel` cells at output `out`
/// (moved by `stride`, after `pad` cells of padding) covers, and the offset of the first in the
/// window.
#[inline(always)]
fn span(out: usize, stride: usize, pad: usize, kernel: usize, size: usize) -> (usize, std::ops::Range<usize>) {
    let start = (out * stride) as isize - pad as isize;
    let lo = start.max(0) as usize;
    let hi = ((start + kernel as isize).max(0) as usize).min(size);
    ((lo as isize - start) as usize, lo..hi.max(lo))
}

/// `dst.copy_from_slice(src)`, with the short lengths of a window's row over few channels
/// (a 3x3 kernel over one channel copies 3 values at a time) as fixed-size copies: a call to
/// `memcpy` for each measured as much as the rest of the unfolding.
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match src.len() {
                $($n => dst[..$n].copy_from_slice(&src[..$n]),)*
                _ => dst.copy_from_slice(src),
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8);
}

simd_kernel! {
    /// Unfolds one image `x` into `col`, a row of [`Window::patch_len`] values per output
    /// position (zeros where the window leaves the image): `im2col`.
    pub(crate) fn unfold(w: &Window, x: &[f32], col: &mut [f32]) {
        let (c, k) = (w.channels, w.patch_len());
        let row_len = w.k_w * c;
        for oh in 0..w.out_h {
            let (kh0, rows) = w.rows_of(oh);
            for ow in 0..w.out_w {
                let (kw0, cols) = w.cols_of(ow);
                let dst = &mut col[(oh * w.out_w + ow) * k..][..k];
                let whole = rows.len() == w.k_h && cols.len() == w.k_w;
                if !whole {
                    dst.fill(0.0);
                }
                for (i, ih) in rows.clone().enumerate() {
                    let src = &x[(ih * w.in_w + cols.start) * c..(ih * w.in_w + cols.end) * c];
                    let at = (kh0 + i) * row_len + kw0 * c;
                    copy_short(&mut dst[at..at + src.len()], src);
                }
            }
        }
    }
}

simd_kernel! {
    /// Adds the unfolded gradient `col` back onto the image's gradient `dx` (which it does
    /// not clear): `col2im`, the transpose of [`Window::unfold`].
    pub(crate) fn fold_add(w: &Window, col: &[f32], dx: &mut [f32]) {
        let (c, k) = (w.channels, w.patch_len());
        let row_len = w.k_w * c;
        for oh in 0..w.out_h {
            let (kh0, rows) = w.rows_of(oh);
            for ow in 0..w.out_w {
                let (kw0, cols) = w.cols_of(ow);
                let src = &col[(oh * w.out_w + ow) * k..][..k];
                for (i, ih) in rows.clone().enumerate() {
                    let dst = &mut dx[(ih * w.in_w + cols.start) * c..(ih * w.in_w + cols.end) * c];
                    let at = (kh0 + i) * row_len + kw0 * c;
                    let n = dst.len();
                    for (d, s) in dst.iter_mut().zip(&src[at..at + n]) {
                        *d += s;
                    }
                }
            }
        }
    }
}

simd_kernel! {
    /// Max pooling of one image: `y` the largest value of each window per channel (a NaN
    /// wins and stays), `arg` the input cell it came from (`ih * in_w + iw`, the first in the
    /// window's order on ties), as a float (exact: images have fewer than 2^24 cells).
    pub(crate) fn max_pool(w: &Window, x: &[f32], y: &mut [f32], arg: &mut [f32]) {
        let c = w.channels;
        for (p, (ys, args)) in y.chunks_exact_mut(c).zip(arg.chunks_exact_mut(c)).enumerate() {
            let ((_, rows), (_, cols)) = (w.rows_of(p / w.out_w), w.cols_of(p % w.out_w));
            let first = (rows.start * w.in_w + cols.start) * c;
            copy_short(ys, &x[first..first + c]);
            args.fill((rows.start * w.in_w + cols.start) as f32);
            for ih in rows {
                for iw in cols.clone() {
                    let cell = ih * w.in_w + iw;
                    let xs = &x[cell * c..][..c];
                    let at = cell as f32;
                    for ((m, a), &v) in ys.iter_mut().zip(args.iter_mut()).zip(xs) {
                        let take = (v > *m) | (v.is_nan() & !m.is_nan());
                        *m = if take { v } else { *m };
                        *a = if take { at } else { *a };
                    }
                }
            }
        }
    }
}

simd_kernel! {
    /// The backward pass of [`max_pool`]: each output's gradient added to the input cell its
    /// value came from (`dx` is not cleared).
    pub(crate) fn max_pool_backward(w: &Window, dy: &[f32], arg: &[f32], dx: &mut [f32]) {
        let c = w.channels;
        for (gs, args) in dy.chunks_exact(c).zip(arg.chunks_exact(c)) {
            for (j, (&g, &a)) in gs.iter().zip(args).enumerate() {
                dx[a as usize * c + j] += g;
            }
        }
    }
}

simd_kernel! {
    /// [`max_pool_backward`] for windows that do not overlap and need no padding (Keras'
    /// default pooling: strides equal to the window): every value of `dx` is written once,
    /// the gradient where the window's largest value was and 0 elsewhere, so `dx` needs no
    /// clearing first.
    pub(crate) fn max_pool_backward_tiled(w: &Window, dy: &[f32], arg: &[f32], dx: &mut [f32]) {
        let c = w.channels;
        for ih in 0..w.in_h {
            let (oh, kh) = (ih / w.s_h, ih % w.s_h);
            for iw in 0..w.in_w {
                let (ow, kw) = (iw / w.s_w, iw % w.s_w);
                let cell = ih * w.in_w + iw;
                let d = &mut dx[cell * c..][..c];
                if oh >= w.out_h || kh >= w.k_h || ow >= w.out_w || kw >= w.k_w {
                    d.fill(0.0);
                    continue;
                }
                let p = oh * w.out_w + ow;
                let at = cell as f32;
                for ((d, &g), &a) in d.iter_mut().zip(&dy[p * c..][..c]).zip(&arg[p * c..][..c]) {
                    *d = if a == at { g } else { 0.0 };
                }
            }
        }
    }
}

simd_kernel! {
    /// Average pooling of one image: each window's mean per channel over the cells it
    /// covers (padding not counted).
    pub(crate) fn average_pool(w: &Window, x: &[f32], y: &mut [f32]) {
        let c = w.channels;
        for (p, ys) in y.chunks_exact_mut(c).enumerate() {
            let ((_, rows), (_, cols)) = (w.rows_of(p / w.out_w), w.cols_of(p % w.out_w));
            let scale = 1.0 / (rows.len() * cols.len()) as f32;
            ys.fill(0.0);
            for ih in rows {
                for iw in cols.clone() {
                    for (m, &v) in ys.iter_mut().zip(&x[(ih * w.in_w + iw) * c..][..c]) {
                        *m += v;
                    }
                }
            }
            ys.iter_mut().for_each(|v| *v *= scale);
        }
    }
}

simd_kernel! {
    /// The backward pass of [`average_pool`] (`dx` is not cleared).
    pub(crate) fn average_pool_backward(w: &Window, dy: &[f32], dx: &mut [f32]) {
        let c = w.channels;
        for (p, gs) in dy.chunks_exact(c).enumerate() {
            let ((_, rows), (_, cols)) = (w.rows_of(p / w.out_w), w.cols_of(p % w.out_w));
            let scale = 1.0 / (rows.len() * cols.len()) as f32;
            for ih in rows {
                for iw in cols.clone() {
                    for (d, &g) in dx[(ih * w.in_w + iw) * c..][..c].iter_mut().zip(gs) {
                        *d += g * scale;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(input: [usize; 3], k: [usize; 2], s: [usize; 2], pad: [usize; 2], out: [usize; 2]) -> Window {
        Window {
            in_h: input[0],
            in_w: input[1],
            channels: input[2],
            k_h: k[0],
            k_w: k[1],
            s_h: s[0],
            s_w: s[1],
            pad_top: pad[0],
            pad_left: pad[1],
            out_h: out[0],
            out_w: out[1],
        }
    }

    #[test]
    fn unfold_and_fold_are_transposes() {
        // 4x5x2, kernel 3x2, strides 2x1, `same`: 2x5 outputs, padding 1 on top, 0 left.
        let w = window([4, 5, 2], [3, 2], [2, 1], [1, 0], [2, 5]);
        let x: Vec<f32> = (0..w.in_len()).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut col = vec![0.0; w.positions() * w.patch_len()];
        unfold(&w, &x, &mut col);
        let g: Vec<f32> = (0..col.len()).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let mut dx = vec![0.0; x.len()];
        fold_add(&w, &g, &mut dx);
        // <unfold(x), g> == <x, fold(g)>
        let a: f32 = col.iter().zip(&g).map(|(a, b)| a * b).sum();
        let b: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
}
