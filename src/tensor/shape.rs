//! Shape arithmetic: row-major strides, NumPy broadcasting, axis normalisation, and the
//! `-1` inference of `reshape`.

use crate::error::{shape_str, Error, Result};

/// Row-major (C order) strides for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1usize;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        // Saturating: an empty tensor may have other dimensions whose product overflows
        // (a file can declare [0, 2^40, 2^40]); its strides address nothing.
        acc = acc.saturating_mul(d);
    }
    strides
}

/// Number of elements of a shape (1 for the 0-d shape `()`).
pub fn numel(shape: &[usize]) -> usize {
    // Saturating: a shape whose true product overflows reports usize::MAX, which no buffer
    // matches, instead of wrapping round to a small number that one might.
    if shape.contains(&0) {
        return 0;
    }
    shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

/// The shape two operands broadcast to under NumPy's rules: align the trailing dimensions;
/// each pair must be equal or contain a 1.
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
        let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::Shape(format!(
                "{op}: operands could not be broadcast together with shapes {} {}",
                shape_str(a),
                shape_str(b)
            )));
        };
    }
    Ok(out)
}

/// Turns a possibly negative axis (`-1` is the last) into an index below `ndim`.
pub fn normalize_axis(op: &str, axis: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n {
        return Err(Error::Index(format!("{op}: axis {axis} is out of bounds for a tensor of dimension {ndim}")));
    }
    Ok(a as usize)
}

/// Resolves a `reshape` request with at most one `-1` against `numel` elements.
pub fn infer_shape(op: &str, from: &[usize], request: &[isize]) -> Result<Vec<usize>> {
    let total = numel(from);
    let mut known = 1usize;
    let mut infer_at = None;
    for (i, &d) in request.iter().enumerate() {
        match d {
            -1 if infer_at.is_none() => infer_at = Some(i),
            -1 => return Err(Error::Shape(format!("{op}: only one dimension can be -1, got {request:?}"))),
            d if d < 0 => return Err(Error::Shape(format!("{op}: invalid dimension {d} in {request:?}"))),
            d => known = known.saturating_mul(d as usize),
        }
    }
    let mut out: Vec<usize> = request.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer_at {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(Error::Shape(format!(
                "{op}: cannot reshape a tensor of shape {} ({total} elements) into {request:?}",
                shape_str(from)
            )));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(Error::Shape(format!(
            "{op}: cannot reshape a tensor of shape {} ({total} elements) into {}",
            shape_str(from),
            shape_str(&out)
        )));
    }
    Ok(out)
}

/// Walks the storage offsets of a strided view in row-major logical order.
pub(crate) struct OffsetIter {
    shape: Vec<usize>,
    strides: Vec<usize>,
    index: Vec<usize>,
    offset: usize,
    remaining: usize,
}

impl OffsetIter {
    pub(crate) fn new(shape: &[usize], strides: &[usize], offset: usize) -> OffsetIter {
        OffsetIter {
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            index: vec![0; shape.len()],
            offset,
            remaining: numel(shape),
        }
    }
}

impl Iterator for OffsetIter {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        let current = self.offset;
        self.remaining -= 1;
        for d in (0..self.shape.len()).rev() {
            self.index[d] += 1;
            self.offset += self.strides[d];
            if self.index[d] < self.shape[d] {
                break;
            }
            self.offset -= self.strides[d] * self.shape[d];
            self.index[d] = 0;
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_shape_whose_other_dimensions_overflow_has_strides() {
        // Found by the ONNX fuzzer: a weight declared as [0, 2^40, 2^40] with no values.
        let big = 1usize << 40;
        assert_eq!(contiguous_strides(&[0, big, big]), vec![usize::MAX, big, 1]);
        let t = crate::Tensor::from_vec(Vec::new(), &[0, big, big]).unwrap();
        assert_eq!(t.size(), 0);
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[2, 3], &[3]).unwrap(), vec![2, 3]);
        assert_eq!(broadcast_shapes("t", &[4, 1], &[1, 5]).unwrap(), vec![4, 5]);
        assert_eq!(broadcast_shapes("t", &[], &[2]).unwrap(), vec![2]);
        let e = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert_eq!(e.to_string(), "shape error: add: operands could not be broadcast together with shapes (2, 3) (4,)");
    }

    #[test]
    fn reshape_infers_one_minus_one() {
        assert_eq!(infer_shape("r", &[60000, 28, 28], &[-1, 784]).unwrap(), vec![60000, 784]);
        assert!(infer_shape("r", &[6], &[-1, -1]).is_err());
        assert!(infer_shape("r", &[6], &[4, -1]).is_err());
        assert!(infer_shape("r", &[6], &[4, 2]).is_err());
    }
}
