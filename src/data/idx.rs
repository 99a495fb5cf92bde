//! The IDX file format of MNIST: a magic number (`00 00 08 n`: unsigned bytes, `n`
//! dimensions), `n` big-endian u32 sizes, then the bytes. Files may be gzip'd.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The contents of an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The size of each dimension (e.g. 60000, 28, 28).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file, gzip'd (detected by its magic bytes, not its name) or raw. Errors name
/// the file and what is wrong with it.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) { gunzip(&raw, &name)? } else { raw };
    parse_idx_owned(bytes, &name)
}

/// Decompresses gzip data, naming `name` in the error.
pub(crate) fn gunzip(raw: &[u8], name: &str) -> Result<Vec<u8>> {
    // The gzip trailer ends with the uncompressed size (mod 2^32): reserve it up front so the
    // buffer is not grown (and copied) by doubling. Deflate expands at most ~1032 times, so a
    // larger claim is a lie and is ignored.
    let hint = raw.len().checked_sub(4).map(|at| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]));
    let plausible = raw.len().saturating_mul(1032);
    let mut out = Vec::with_capacity(hint.map(|n| n as usize).filter(|&n| n <= plausible).unwrap_or(0));
    // Multi-member gzip files (concatenated streams) are valid gzip: read every member.
    flate2::read::MultiGzDecoder::new(raw)
        .read_to_end(&mut out)
        .map_err(|e| Error::Format(format!("{name}: corrupt gzip data: {e}")))?;
    Ok(out)
}

/// Parses the bytes of an (uncompressed) IDX file; `name` is used in error messages.
pub fn parse_idx(bytes: &[u8], name: &str) -> Result<IdxArray> {
    parse_idx_owned(bytes.to_vec(), name)
}

/// Like [`parse_idx`], keeping the buffer: the header is cut off in place, so a 47 MB
/// training set is never held twice.
pub fn parse_idx_owned(mut bytes: Vec<u8>, name: &str) -> Result<IdxArray> {
    if bytes.is_empty() {
        return Err(Error::Format(format!("{name}: the file is empty, too short for an IDX header")));
    }
    if bytes.len() < 4 {
        return Err(Error::Format(format!("{name}: too short for an IDX header ({} bytes)", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::Format(format!(
            "{name}: not an IDX file (magic bytes {:02x} {:02x} {:02x} {:02x}, expected 00 00 08 nn)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    if bytes[2] != 0x08 {
        return Err(Error::Format(format!(
            "{name}: IDX element type 0x{:02x} is not supported (only 0x08, unsigned bytes)",
            bytes[2]
        )));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(Error::Format(format!("{name}: truncated header ({ndim} dimensions, {} bytes)", bytes.len())));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let dims_text = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" x ");
    let have = bytes.len() - header;
    match expected {
        Some(n) if n == have => {
            bytes.drain(..header);
            Ok(IdxArray { dims, data: bytes })
        }
        Some(n) if n > have => Err(Error::Format(format!(
            "{name}: truncated: the header says {dims_text} = {n} bytes of data but only {have} follow"
        ))),
        Some(n) => Err(Error::Format(format!(
            "{name}: {} unexpected bytes after the {dims_text} = {n} bytes of data",
            have - n
        ))),
        None => Err(Error::Format(format!("{name}: dimensions {dims_text} are too large"))),
    }
}

/// Writes an IDX file of unsigned bytes, gzip'd or raw, atomically.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    let size = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if size != Some(data.len()) || dims.is_empty() || dims.len() > 255 {
        return Err(Error::Value(format!("write_idx: {} bytes do not fill dimensions {dims:?}", data.len())));
    }
    let mut bytes = vec![0, 0, 8, dims.len() as u8];
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| Error::Value(format!("write_idx: dimension {d} exceeds u32")))?;
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    if gzip {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes).map_err(|e| Error::io(path, e))?;
        bytes = enc.finish().map_err(|e| Error::io(path, e))?;
    }
    crate::fs::write_atomic(path, &bytes)
}
