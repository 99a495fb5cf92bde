//! NumPy's `.npy` and `.npz` files, read and written: float32 and float64 arrays in C order,
//! little or big endian (read as f32; written as little-endian f32). An `.npz` is a zip of
//! `.npy` files, one per named array, as `np.savez` and `np.savez_compressed` write it.
//!
//! The header is a Python dict literal (`{'descr': '<f4', 'fortran_order': False, 'shape':
//! (784, 50), }`); this reader parses exactly that grammar, checks that the data the shape
//! declares is what the file holds, and refuses anything else (integer or structured
//! dtypes, object arrays) with a message that names it. Nothing is evaluated. An array in
//! Fortran order (`fortran_order: True`, what NumPy writes for a transposed or
//! `np.asfortranarray` array, such as the book's pretrained weights) is read as NumPy reads
//! it: the same array, its data put into C order.
//!
//! ```
//! use neurite::{io::npy, Tensor};
//! let w = Tensor::matrix([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]);
//! let bytes = npy::npz_bytes(&[("W1".to_string(), w.clone())])?;
//! let arrays = npy::read_npz(&bytes)?;
//! assert_eq!(arrays[0].0, "W1");
//! assert_eq!(arrays[0].1, w);
//! # Ok::<(), neurite::Error>(())
//! ```

use std::path::Path;

use super::zip;
use crate::error::{shape_str, Error, Result};
use crate::tensor::Tensor;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The array of a `.npy` file's bytes, as f32.
///
/// ```
/// use neurite::{io::npy, Tensor};
/// let t = Tensor::vector(&[1.0, 2.5]);
/// assert_eq!(npy::read_npy(&npy::npy_bytes(&t))?, t);
/// // Damaged files are errors that say what is wrong.
/// let mut bytes = npy::npy_bytes(&t);
/// bytes.truncate(bytes.len() - 1);
/// assert!(npy::read_npy(&bytes).unwrap_err().to_string().contains("declares 8 bytes of data, the file holds 7"));
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn read_npy(bytes: &[u8]) -> Result<Tensor> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err(Error::Format("not a .npy file (no \\x93NUMPY magic)".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| Error::Format(".npy: truncated header".into()))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(Error::Format(format!(".npy format version {v}.{} is unknown", bytes[7]))),
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| Error::Format(format!(".npy: the header declares {header_len} bytes, the file is shorter")))?;
    let header = std::str::from_utf8(header).map_err(|_| Error::Format(".npy: the header is not text".into()))?;
    let h = Header::parse(header)?;
    array_from_raw(&h.descr, &h.shape, h.fortran_order, &bytes[start + header_len..])
}

/// The array of dtype `descr` (`'<f4'`, `'>f8'`, ...) and `shape` whose values are `data`, in
/// C or Fortran order, as f32 in C order: a `.npy` file's data, or a pickled `ndarray`'s.
pub(crate) fn array_from_raw(descr: &str, shape: &[usize], fortran_order: bool, data: &[u8]) -> Result<Tensor> {
    let (size, big) = match descr {
        "<f4" => (4, false),
        ">f4" => (4, true),
        "<f8" => (8, false),
        ">f8" => (8, true),
        d => {
            return Err(Error::Format(format!(
            ".npy: dtype {d:?} is not supported; neurite reads float32 and float64 arrays ('<f4', '>f4', '<f8', '>f8')"
        )))
        }
    };
    let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let needed = numel.and_then(|n| n.checked_mul(size));
    let needed = needed.ok_or_else(|| Error::Format(format!(".npy: the shape {} overflows", shape_str(shape))))?;
    if needed != data.len() {
        return Err(Error::Format(format!(
            ".npy: the header ({descr} of {}) declares {needed} bytes of data, the file holds {}",
            shape_str(shape),
            data.len()
        )));
    }
    let read = |i: usize| -> f32 {
        let b = &data[i * size..(i + 1) * size];
        match (size, big) {
            (4, false) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (4, true) => f32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            (_, false) => f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32,
            (_, true) => f64::from_be_bytes(b.try_into().unwrap_or([0; 8])) as f32,
        }
    };
    let count = data.len() / size;
    let values: Vec<f32> = if fortran_order && shape.len() > 1 {
        // Fortran order: the first index varies fastest. Gather straight into C order, as
        // NumPy gives the array, without a second copy.
        let mut strides = vec![1usize; shape.len()];
        for d in 1..shape.len() {
            strides[d] = strides[d - 1] * shape[d - 1];
        }
        let mut values = Vec::with_capacity(count);
        let mut index = vec![0usize; shape.len()];
        for _ in 0..count {
            values.push(read(index.iter().zip(&strides).map(|(i, s)| i * s).sum()));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        values
    } else {
        (0..count).map(read).collect()
    };
    Tensor::from_vec(values, shape)
}

/// The bytes of a `.npy` file (version 1.0, little-endian float32, C order) holding `t`.
pub fn npy_bytes(t: &Tensor) -> Vec<u8> {
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // NumPy pads the header with spaces so that the data starts on a 64-byte boundary.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * t.size());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in t.to_vec() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The named arrays of a `.npz` file's bytes, in the archive's order, named without the
/// `.npy` suffix (as `np.load(...).files` names them).
///
/// Its memory is bounded by the file's [`ReadBudget`](super::ReadBudget): the entries'
/// inflated sizes are taken from it before any is inflated (a 1.2 MB file of deflated
/// zeros may declare a gigabyte within deflate's ratio), and each entry's bytes are
/// dropped once its array is read, so that at most the arrays and one entry are held.
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    read_npz_within(bytes, &mut super::ReadBudget::for_file(bytes.len() as u64))
}

/// [`read_npz`] within a budget shared with the rest of a model file's reading.
pub(crate) fn read_npz_within(bytes: &[u8], budget: &mut super::ReadBudget) -> Result<Vec<(String, Tensor)>> {
    if !zip::is_zip(bytes) {
        return Err(Error::Format("not a .npz file (not a zip archive)".into()));
    }
    let archive = zip::Archive::new(bytes)?;
    // An entry's bytes become at most as many bytes of f32 (float64 halves), so the declared
    // sizes bound both.
    for entry in archive.entries() {
        budget
            .take(entry.size(), format_args!(".npz: the entry {:?} ({} bytes inflated)", entry.name, entry.size()))?;
    }
    let mut arrays = Vec::new();
    for entry in archive.entries() {
        let name = entry
            .name
            .strip_suffix(".npy")
            .ok_or_else(|| Error::Format(format!(".npz: the entry {:?} is not a .npy array", entry.name)))?;
        let data = archive.read(entry)?;
        let t = read_npy(&data).map_err(|e| match e {
            Error::Format(m) => Error::Format(format!("array {name}: {m}")),
            other => other,
        })?;
        arrays.push((name.to_string(), t));
    }
    if arrays.is_empty() {
        return Err(Error::Format(".npz: the archive holds no arrays".into()));
    }
    Ok(arrays)
}

/// The bytes of an `.npz` file (stored, as `np.savez` writes it) holding `arrays`.
pub fn npz_bytes(arrays: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let files: Vec<(String, Vec<u8>)> = arrays.iter().map(|(n, t)| (format!("{n}.npy"), npy_bytes(t))).collect();
    zip::write_stored(&files)
}

/// Reads a `.npy` file.
pub fn load_npy(path: &Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_npy(&bytes).map_err(|e| in_file(path, e))
}

/// Reads a `.npz` file.
pub fn load_npz(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_npz(&bytes).map_err(|e| in_file(path, e))
}

/// Writes a `.npy` file atomically.
pub fn save_npy(path: &Path, t: &Tensor) -> Result<()> {
    super::write_atomic(path, &npy_bytes(t))
}

/// Writes a `.npz` file atomically.
pub fn save_npz(path: &Path, arrays: &[(String, Tensor)]) -> Result<()> {
    super::write_atomic(path, &npz_bytes(arrays)?)
}

fn in_file(path: &Path, e: Error) -> Error {
    match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// What a `.npy` header says.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` and nothing more.
    fn parse(text: &str) -> Result<Header> {
        let bad = |why: &str| Error::Format(format!(".npy: the header {:?} is not understood: {why}", text.trim_end()));
        let mut p = Lexer { s: text.trim_end().as_bytes(), at: 0 };
        p.expect(b'{').map_err(|_| bad("no '{'"))?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        loop {
            p.space();
            if p.eat(b'}') {
                break;
            }
            let key = p.string().ok_or_else(|| bad("a key is not a quoted string"))?;
            p.space();
            p.expect(b':').map_err(|_| bad("no ':' after a key"))?;
            p.space();
            match key.as_str() {
                "descr" => descr = Some(p.string().ok_or_else(|| bad("descr is not a string (a structured dtype?)"))?),
                "fortran_order" => {
                    fortran = Some(p.boolean().ok_or_else(|| bad("fortran_order is not True or False"))?)
                }
                "shape" => shape = Some(p.tuple().ok_or_else(|| bad("shape is not a tuple of sizes"))?),
                k => return Err(bad(&format!("unknown key {k:?}"))),
            }
            p.space();
            if !p.eat(b',') {
                p.space();
                p.expect(b'}').map_err(|_| bad("no ',' or '}' after a value"))?;
                break;
            }
        }
        if p.at != p.s.len() {
            return Err(bad("text after the dict"));
        }
        match (descr, fortran, shape) {
            (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header { descr, fortran_order, shape }),
            _ => Err(bad("descr, fortran_order or shape is missing")),
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    at: usize,
}

impl Lexer<'_> {
    fn space(&mut self) {
        while self.s.get(self.at).is_some_and(|c| c.is_ascii_whitespace()) {
            self.at += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.s.get(self.at) == Some(&c);
        self.at += usize::from(hit);
        hit
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), ()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(())
        }
    }
    fn string(&mut self) -> Option<String> {
        let q = *self.s.get(self.at).filter(|&&c| c == b'\'' || c == b'"')?;
        let end = self.s[self.at + 1..].iter().position(|&c| c == q)? + self.at + 1;
        let out = String::from_utf8(self.s[self.at + 1..end].to_vec()).ok()?;
        self.at = end + 1;
        Some(out)
    }
    fn boolean(&mut self) -> Option<bool> {
        for (word, value) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.at..].starts_with(word) {
                self.at += word.len();
                return Some(value);
            }
        }
        None
    }
    fn tuple(&mut self) -> Option<Vec<usize>> {
        self.expect(b'(').ok()?;
        let mut dims = Vec::new();
        loop {
            self.space();
            if self.eat(b')') {
                return Some(dims);
            }
            let digits = self.s[self.at..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 19 {
                return None;
            }
            dims.push(std::str::from_utf8(&self.s[self.at..self.at + digits]).ok()?.parse().ok()?);
            self.at += digits;
            // Python writes a long as `3L` in old files.
            self.eat(b'L');
            self.space();
            if !self.eat(b',') {
                self.space();
                self.expect(b')').ok()?;
                return Some(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn headers_parse_as_numpy_writes_them() {
        let h = Header::parse("{'descr': '<f8', 'fortran_order': False, 'shape': (784, 50), }      \n").unwrap();
        assert_eq!(h, Header { descr: "<f8".into(), fortran_order: false, shape: vec![784, 50] });
        assert_eq!(Header::parse("{'descr': '>f4', 'fortran_order': True, 'shape': (3,)}").unwrap().shape, vec![3]);
        assert_eq!(
            Header::parse("{'shape': (), 'fortran_order': False, 'descr': '<f4'}").unwrap().shape,
            Vec::<usize>::new()
        );
        for bad in [
            "",
            "{",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': maybe, 'shape': (3,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } extra",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",
        ] {
            assert!(Header::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn float64_and_big_endian_arrays_read_as_float32() {
        let data: Vec<u8> = [1.5f64, -2.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        let t = read_npy(&npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }\n", &data)).unwrap();
        assert_eq!(t.to_vec(), vec![1.5, -2.0]);
    }

    #[test]
    fn wrong_layouts_and_sizes_are_clear_errors() {
        let four = [0u8; 16];
        let cases = [
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", &four[..], "dtype \"<i8\" is not supported"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", &four[..], "declares 20 bytes"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }",
                &four[..],
                "overflows",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }",
                &four[..],
                "declares 4000000000000",
            ),
        ];
        for (header, data, want) in cases {
            let err = read_npy(&npy(header, data)).unwrap_err().to_string();
            assert!(err.contains(want), "{header}: {err}");
        }
        assert!(read_npy(b"\x93NUMPY\x01\x00\xff\xff{").unwrap_err().to_string().contains("header declares 65535"));
        for cut in 0..20 {
            assert!(read_npy(&npy_bytes(&Tensor::vector(&[1.0]))[..cut]).is_err());
        }
    }

    #[test]
    fn fortran_order_is_read_into_c_order() {
        // np.asfortranarray(np.arange(6).reshape(2, 3)) stores 0 3 1 4 2 5.
        let data: Vec<u8> = [0f32, 3.0, 1.0, 4.0, 2.0, 5.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = read_npy(&npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", &data)).unwrap();
        assert_eq!(t.to_vec(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(t.shape(), &[2, 3]);
        // 1-D and empty arrays are the same in both orders.
        let t = read_npy(&npy("{'descr': '<f4', 'fortran_order': True, 'shape': (0, 3), }", &[])).unwrap();
        assert_eq!(t.shape(), &[0, 3]);
    }

    #[test]
    fn an_npz_that_would_inflate_past_its_budget_is_refused_before_inflating() {
        // Issue 26: a 1.2 MB .npz within deflate's ratio declared 1.2 GB and took 6 GB. Here
        // 100 KB that declare 100 MB (deflate could produce that much from them).
        let mut bytes = zip::write_stored(&[("W1.npy".to_string(), vec![0x55; 100_000])]).unwrap();
        let cd = bytes.len() - 22 - (46 + "W1.npy".len());
        bytes[cd + 10] = 8;
        bytes[cd + 24..cd + 28].copy_from_slice(&100_000_000u32.to_le_bytes());
        let err = read_npz(&bytes).unwrap_err().to_string();
        assert!(err.contains(".npz: the entry \"W1.npy\" (100000000 bytes inflated) would take"), "{err}");
    }

    #[test]
    fn written_headers_align_the_data_to_64_bytes() {
        for shape in [&[3][..], &[784, 50], &[]] {
            let t = Tensor::zeros(shape);
            let b = npy_bytes(&t);
            assert_eq!((b.len() - 4 * t.size()) % 64, 0);
            assert_eq!(read_npy(&b).unwrap(), t);
        }
    }
}
