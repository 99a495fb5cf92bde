//! Printing a tensor the way PyTorch prints one (`torch/_tensor_str.py`, default options).
//!
//! * A tensor of more than 1000 elements is summarised: each dimension longer than 6 shows
//!   its first and last 3 entries around a `...` (an entry of its own, between commas; rows
//!   of a matrix are elided with a line `...,`).
//! * One number format for the whole tensor, chosen from the non-zero finite values that
//!   are shown: all integral (and the largest at most 1e8, at most 1000 times the smallest)
//!   print as `1.`; otherwise, when the largest is more than 1000 times the smallest, above
//!   1e8, or the smallest below 1e-4, scientific with 4 decimals (`1.0000e-06`); else
//!   fixed with 4 decimals (`0.2689`). NaN and infinities print `nan`, `inf`, `-inf`.
//! * Entries are right-aligned to a common width; a row longer than 80 characters wraps
//!   under its first entry; rows of a matrix start on new lines under the first one, and
//!   the blocks of a 3-D tensor are separated by a blank line.
//! * `tensor(3.5000)` for a 0-d tensor, `tensor([])` for an empty one (with `size=` when its
//!   shape is not `(0,)`).
//!
//! ```
//! use neurite::Tensor;
//! let x = Tensor::matrix([[1.0, 2.0], [3.0, 4.5]]);
//! assert_eq!(x.to_string(), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]])");
//! assert_eq!(Tensor::vector(&[1.0, -3.0]).to_string(), "tensor([ 1., -3.])");
//! assert_eq!(Tensor::vector(&[1e-6, 1.0]).to_string(), "tensor([1.0000e-06, 1.0000e+00])");
//! assert_eq!(format!("{:?}", Tensor::scalar(3.5)), "tensor(3.5000) shape=()");
//! ```
//!
//! One deliberate difference: PyTorch writes the `...` of a summarised row as the entry
//! `" ..."` joined by `", "`, which gives two spaces before it (`3.,  ..., 7.`); here it is
//! an entry like the others, with the usual separator (`3., ..., 7.`).

use std::fmt;

use super::Tensor;
use crate::error::shape_str;

/// More elements than this and the tensor is summarised (PyTorch's `threshold`).
const THRESHOLD: usize = 1000;
/// Entries shown at each end of a summarised dimension (`edgeitems`).
const EDGE_ITEMS: usize = 3;
/// Rows wrap to stay within this many characters (`linewidth`).
const LINE_WIDTH: usize = 80;
const PREFIX: &str = "tensor(";
const ELLIPSIS: &str = "...";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// All integral: `1.`
    Int,
    /// `0.2689`
    Fixed,
    /// `1.0000e-06`
    Sci,
}

/// The one number format of a tensor, as PyTorch's `_Formatter`.
struct NumberFormat {
    mode: Mode,
    width: usize,
}

impl NumberFormat {
    fn new(values: &[f32]) -> NumberFormat {
        let shown: Vec<f64> = values.iter().filter(|v| v.is_finite() && **v != 0.0).map(|&v| v as f64).collect();
        if shown.is_empty() {
            return NumberFormat { mode: Mode::Int, width: 1 };
        }
        let int_mode = shown.iter().all(|v| v.fract() == 0.0);
        let max = shown.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let min = shown.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
        let sci = max / min > 1000.0 || max > 1.0e8 || (!int_mode && min < 1.0e-4);
        let mode = match (sci, int_mode) {
            (true, _) => Mode::Sci,
            (false, true) => Mode::Int,
            (false, false) => Mode::Fixed,
        };
        let mut format = NumberFormat { mode, width: 1 };
        format.width = shown.iter().map(|&v| format.finite(v).len()).max().unwrap_or(1);
        format
    }

    fn finite(&self, v: f64) -> String {
        match self.mode {
            Mode::Int => format!("{v:.0}."),
            Mode::Fixed => format!("{v:.4}"),
            Mode::Sci => {
                // Rust writes `1.0000e-6`; Python (and so PyTorch) `1.0000e-06`.
                let s = format!("{v:.4e}");
                let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
                let exp: i32 = exp.parse().unwrap_or(0);
                format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs())
            }
        }
    }

    /// One entry, right-aligned to the common width.
    fn entry(&self, v: f32) -> String {
        let s = if v.is_nan() {
            "nan".to_string()
        } else if v.is_infinite() {
            (if v > 0.0 { "inf" } else { "-inf" }).to_string()
        } else {
            self.finite(v as f64)
        };
        format!("{s:>width$}", width = self.width)
    }
}

/// The indices of a dimension of length `n` that are printed; `None` stands for the `...`.
fn shown_indices(n: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && n > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS).map(Some).chain([None]).chain((n - EDGE_ITEMS..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    }
}

struct Printer<'t> {
    t: &'t Tensor,
    summarize: bool,
    format: NumberFormat,
}

impl Printer<'_> {
    /// The values shown from dimension `dim` on, for the sub-tensor at storage offset `base`.
    fn collect(&self, dim: usize, base: usize, out: &mut Vec<f32>) {
        if dim == self.t.ndim() {
            out.push(self.t.data[base]);
            return;
        }
        for i in shown_indices(self.t.shape[dim], self.summarize).into_iter().flatten() {
            self.collect(dim + 1, base + i * self.t.strides[dim], out);
        }
    }

    /// The text of the sub-tensor from dimension `dim` on at storage offset `base`, whose
    /// continuation lines are indented by `indent` (PyTorch's `_tensor_str_with_formatter`).
    fn write(&self, out: &mut String, dim: usize, base: usize, indent: usize) {
        let ndim = self.t.ndim();
        if dim == ndim {
            out.push_str(&self.format.entry(self.t.data[base]));
            return;
        }
        let stride = self.t.strides[dim];
        let shown = shown_indices(self.t.shape[dim], self.summarize);
        out.push('[');
        if dim + 1 == ndim {
            // A row: entries separated by ", ", wrapped to stay within the line width.
            let per_line = (LINE_WIDTH.saturating_sub(indent) / (self.format.width + 2)).max(1);
            for (k, i) in shown.iter().enumerate() {
                if k > 0 {
                    out.push_str(if k % per_line == 0 { ",\n" } else { ", " });
                    if k % per_line == 0 {
                        push_spaces(out, indent + 1);
                    }
                }
                match i {
                    Some(i) => out.push_str(&self.format.entry(self.t.data[base + i * stride])),
                    None => out.push_str(ELLIPSIS),
                }
            }
        } else {
            // Sub-tensors separated by a comma, a newline per remaining dimension beyond
            // the first, and the indentation.
            for (k, i) in shown.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                    out.extend(std::iter::repeat_n('\n', ndim - dim - 1));
                    push_spaces(out, indent + 1);
                }
                match i {
                    Some(i) => self.write(out, dim + 1, base + i * stride, indent + 1),
                    None => out.push_str(ELLIPSIS),
                }
            }
        }
        out.push(']');
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            // PyTorch names the shape of an empty tensor unless it is (0,), as NumPy does.
            return match self.ndim() {
                1 => write!(f, "{PREFIX}[])"),
                _ => write!(f, "{PREFIX}[], size={})", shape_str(&self.shape)),
            };
        }
        let summarize = self.size() > THRESHOLD;
        let mut printer = Printer { t: self, summarize, format: NumberFormat { mode: Mode::Int, width: 1 } };
        let mut shown = Vec::new();
        printer.collect(0, self.offset, &mut shown);
        printer.format = NumberFormat::new(&shown);
        let mut out = String::from(PREFIX);
        printer.write(&mut out, 0, self.offset, PREFIX.len());
        out.push(')');
        f.write_str(&out)
    }
}

impl fmt::Debug for Tensor {
    /// The values as `Display` prints them, then the shape: `tensor([1., 2.]) shape=(2,)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} shape={}", shape_str(&self.shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &Tensor) -> String {
        t.to_string()
    }

    #[test]
    fn number_formats() {
        assert_eq!(s(&Tensor::vector(&[1.0, 2.0, 3.0])), "tensor([1., 2., 3.])");
        assert_eq!(s(&Tensor::vector(&[1.0, 10.0])), "tensor([ 1., 10.])");
        assert_eq!(s(&Tensor::vector(&[0.5, -0.25])), "tensor([ 0.5000, -0.2500])");
        assert_eq!(s(&Tensor::vector(&[1e-5, -2.0])), "tensor([ 1.0000e-05, -2.0000e+00])");
        // Integral, but spanning more than three orders of magnitude: scientific, as PyTorch.
        assert_eq!(s(&Tensor::vector(&[1.0, 2000.0])), "tensor([1.0000e+00, 2.0000e+03])");
        assert_eq!(s(&Tensor::vector(&[3e8])), "tensor([3.0000e+08])");
        assert_eq!(s(&Tensor::vector(&[0.0, 0.0])), "tensor([0., 0.])");
        // Zeros do not count towards the width (PyTorch's `nonzero_finite_vals`), so `-0.` sticks out.
        assert_eq!(s(&Tensor::vector(&[-0.0, 1.0])), "tensor([-0., 1.])");
        assert_eq!(s(&Tensor::scalar(f32::NAN)), "tensor(nan)");
        assert_eq!(s(&Tensor::scalar(-2.0)), "tensor(-2.)");
    }

    #[test]
    fn views_print_their_own_elements() {
        let m = Tensor::arange(6).reshape(&[2, 3]).unwrap();
        assert_eq!(s(&m.t().unwrap()), "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])");
        assert_eq!(s(&m.narrow(1, 1, 2).unwrap()), "tensor([[1., 2.],\n        [4., 5.]])");
        assert_eq!(s(&Tensor::scalar(7.0).broadcast_to(&[2]).unwrap()), "tensor([7., 7.])");
    }

    #[test]
    fn empty_tensors_name_a_shape_other_than_0() {
        assert_eq!(s(&Tensor::zeros(&[0])), "tensor([])");
        assert_eq!(s(&Tensor::zeros(&[2, 0])), "tensor([], size=(2, 0))");
    }

    #[test]
    fn summarised_3d_separates_blocks_with_blank_lines() {
        let t = Tensor::ones(&[7, 12, 12]);
        let text = s(&t);
        assert!(text.starts_with("tensor([[[1., 1., 1., ..., 1., 1., 1.],\n"), "{text}");
        assert!(text.contains("1.]],\n\n        ...,\n\n        [[1., 1."), "{text}");
        assert!(text.contains("1.],\n         ...,\n         [1."), "{text}");
        // 6 blocks of 7 lines (6 rows and `...`), the `...` between blocks, 6 blank lines.
        assert_eq!(text.lines().count(), 6 * 7 + 1 + 6);
    }
}
