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
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    // An uncompressed file is kept as it is read (the header cut off in place): on huge
    // pages where Linux gives them, as training reads images from all over it.
    let mut raw = usize::try_from(len)
        .ok()
        .and_then(super::pages::reserved)
        .ok_or_else(|| Error::Value(format!("{}: {len} bytes cannot be allocated", path.display())))?;
    file.read_to_end(&mut raw).map_err(|e| Error::io(path, e))?;
    read_idx_bytes(raw, &path.display().to_string())
}

/// The contents of an IDX file from its bytes, gzip'd or raw; `name` is used in error
/// messages.
pub fn read_idx_bytes(raw: Vec<u8>, name: &str) -> Result<IdxArray> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        read_gzip_idx(&raw, name)
    } else {
        parse_idx_owned(raw, name)
    }
}

/// Deflate compresses at most about 1032 to 1: more inflated bytes than that from a gzip of a
/// given size cannot be real data.
const MAX_DEFLATE_RATIO: usize = 1032;

/// An IDX file from gzip'd bytes, inflating no more than its header declares: the header is
/// read first, and a file whose data runs past the declared size is an error as soon as one
/// byte too many comes out, so a small file that inflates without end (a decompression
/// bomb) costs no more memory than its header claims, which must itself be a size that
/// gzip data of this length can hold.
pub(crate) fn read_gzip_idx(raw: &[u8], name: &str) -> Result<IdxArray> {
    let corrupt = |e: std::io::Error| Error::Format(format!("{name}: corrupt gzip data: {e}"));
    // Multi-member gzip files (concatenated streams) are valid gzip: read every member.
    let mut inflated = flate2::read::MultiGzDecoder::new(raw);
    let mut head = [0u8; 4];
    read_fully(&mut inflated, &mut head)
        .map_err(corrupt)?
        .then_some(())
        .ok_or_else(|| Error::Format(format!("{name}: too short for an IDX header")))?;
    check_magic(&head, name)?;
    let ndim = head[3] as usize;
    let mut dims_bytes = vec![0u8; 4 * ndim];
    if ndim == 0 || !read_fully(&mut inflated, &mut dims_bytes).map_err(corrupt)? {
        return Err(Error::Format(format!("{name}: truncated header ({ndim} dimensions)")));
    }
    let dims: Vec<usize> =
        dims_bytes.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let dims_text = dims_text(&dims);
    let declared = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let plausible = raw.len().saturating_mul(MAX_DEFLATE_RATIO);
    let declared = match declared {
        Some(n) if n <= plausible => n,
        Some(n) => {
            return Err(Error::Format(format!(
                "{name}: the header declares {dims_text} = {n} bytes, more than {} bytes of gzip data can hold",
                raw.len()
            )))
        }
        None => return Err(Error::Format(format!("{name}: dimensions {dims_text} are too large"))),
    };
    // Training reads images from all over the data: huge pages where Linux gives them.
    let mut data = super::pages::reserved(declared)
        .ok_or_else(|| Error::Value(format!("{name}: {declared} bytes of data cannot be allocated")))?;
    let got = (&mut inflated).take(declared as u64).read_to_end(&mut data).map_err(corrupt)?;
    if got < declared {
        return Err(Error::Format(format!(
            "{name}: truncated: the header says {dims_text} = {declared} bytes of data but only {got} follow"
        )));
    }
    let mut extra = [0u8; 1];
    if inflated.read(&mut extra).map_err(corrupt)? > 0 {
        return Err(Error::Format(format!(
            "{name}: more data after the {dims_text} = {declared} bytes the header declares"
        )));
    }
    Ok(IdxArray { dims, data })
}

/// Fills `buf` from `r`; false when the stream ends cleanly first. An error of the stream
/// itself (a gzip cut short) stays an error.
fn read_fully(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Decompresses gzip data of at most `limit` bytes, naming `name` in the error.
pub(crate) fn gunzip(raw: &[u8], name: &str, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let got = flate2::read::MultiGzDecoder::new(raw)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Format(format!("{name}: corrupt gzip data: {e}")))?;
    if got > limit {
        return Err(Error::Format(format!("{name}: inflates to more than {limit} bytes")));
    }
    Ok(out)
}

fn dims_text(dims: &[usize]) -> String {
    dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" x ")
}

/// Checks the magic number `00 00 08 nn` of an IDX header.
fn check_magic(bytes: &[u8], name: &str) -> Result<()> {
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
    Ok(())
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
    check_magic(&bytes, name)?;
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(Error::Format(format!("{name}: truncated header ({ndim} dimensions, {} bytes)", bytes.len())));
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let dims_text = dims_text(&dims);
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
