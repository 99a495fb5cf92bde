//! A minimal zip archive reader and writer for the two zip-based formats neurite reads:
//! NumPy's `.npz` and PyTorch's `.pt` (`torch.save`). Both need only what these few hundred
//! lines do: the central directory (zip64 included, as NumPy's `savez` writes it), stored and
//! deflated entries, CRC-32 checks. Written here instead of taking the `zip` crate because the
//! reader is small, flate2 already inflates, and every size it reads from a hostile file is
//! checked against the file itself before anything is allocated.
//!
//! Bounds: an entry's data must lie inside the file; a deflated entry inflates to exactly the
//! size its directory entry declares, and that size may not exceed what deflate can produce
//! from the compressed bytes (1032 to 1), so a small file cannot make neurite allocate
//! gigabytes.

use std::io::Read;

use crate::error::{Error, Result};

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
/// The most bytes deflate can produce per compressed byte (a run of 258 bytes from a code of
/// about two bits).
const DEFLATE_MAX_RATIO: u64 = 1032;

/// One file of an archive, as its central directory describes it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    /// Where its data starts in the archive (after the local header).
    data_start: usize,
}

/// A zip archive held in memory.
pub(crate) struct Archive<'a> {
    bytes: &'a [u8],
    entries: Vec<Entry>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

fn corrupt(what: &str) -> Error {
    Error::Format(format!("corrupt zip archive: {what}"))
}

/// Whether `bytes` starts like a zip archive.
pub(crate) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

impl Entry {
    /// Its size once inflated, as its directory entry declares it (checked against
    /// deflate's ratio, and [`Archive::read`] gives exactly this many bytes or an error).
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
}

impl<'a> Archive<'a> {
    /// Reads the central directory of the archive `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Archive<'a>> {
        // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
        let search_from = bytes.len().saturating_sub(22 + 65535);
        let eocd = (search_from..bytes.len().saturating_sub(21))
            .rev()
            .find(|&i| u32_at(bytes, i) == Some(EOCD_SIG))
            .ok_or_else(|| corrupt("no end-of-central-directory record (truncated, or not a zip file)"))?;
        let mut count = u64::from(u16_at(bytes, eocd + 10).ok_or_else(|| corrupt("short end record"))?);
        let mut cd_size = u64::from(u32_at(bytes, eocd + 12).ok_or_else(|| corrupt("short end record"))?);
        let mut cd_offset = u64::from(u32_at(bytes, eocd + 16).ok_or_else(|| corrupt("short end record"))?);
        // Zip64: the real numbers are in the zip64 end record that the locator points to.
        if eocd >= 20 && u32_at(bytes, eocd - 20) == Some(ZIP64_LOCATOR_SIG) {
            let at = u64_at(bytes, eocd - 12).ok_or_else(|| corrupt("short zip64 locator"))?;
            let at = usize::try_from(at).map_err(|_| corrupt("zip64 end record beyond the file"))?;
            if u32_at(bytes, at) != Some(ZIP64_EOCD_SIG) {
                return Err(corrupt("the zip64 locator points at no zip64 end record"));
            }
            count = u64_at(bytes, at + 32).ok_or_else(|| corrupt("short zip64 end record"))?;
            cd_size = u64_at(bytes, at + 40).ok_or_else(|| corrupt("short zip64 end record"))?;
            cd_offset = u64_at(bytes, at + 48).ok_or_else(|| corrupt("short zip64 end record"))?;
        }
        let end = cd_offset.checked_add(cd_size).ok_or_else(|| corrupt("central directory size overflows"))?;
        if end > bytes.len() as u64 {
            return Err(corrupt(&format!(
                "the central directory ({cd_size} bytes at {cd_offset}) lies beyond the file's {} bytes",
                bytes.len()
            )));
        }
        // Each directory entry takes at least 46 bytes: a count that cannot fit is a lie.
        if count.checked_mul(46).is_none_or(|n| n > cd_size) {
            return Err(corrupt(&format!("{count} entries cannot fit in a central directory of {cd_size} bytes")));
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(count as usize);
        let mut at = cd_offset as usize;
        for _ in 0..count {
            let entry = Self::central_entry(bytes, &mut at)?;
            if entries.iter().any(|e| e.name == entry.name) {
                return Err(corrupt(&format!("the entry {:?} appears twice", entry.name)));
            }
            entries.push(entry);
        }
        Ok(Archive { bytes, entries })
    }

    fn central_entry(bytes: &[u8], at: &mut usize) -> Result<Entry> {
        let p = *at;
        if u32_at(bytes, p) != Some(CENTRAL_SIG) {
            return Err(corrupt(&format!("no central directory entry at byte {p}")));
        }
        let short = || corrupt("short central directory entry");
        let flags = u16_at(bytes, p + 8).ok_or_else(short)?;
        let method = u16_at(bytes, p + 10).ok_or_else(short)?;
        let crc = u32_at(bytes, p + 16).ok_or_else(short)?;
        let mut compressed = u64::from(u32_at(bytes, p + 20).ok_or_else(short)?);
        let mut size = u64::from(u32_at(bytes, p + 24).ok_or_else(short)?);
        let name_len = usize::from(u16_at(bytes, p + 28).ok_or_else(short)?);
        let extra_len = usize::from(u16_at(bytes, p + 30).ok_or_else(short)?);
        let comment_len = usize::from(u16_at(bytes, p + 32).ok_or_else(short)?);
        let mut local = u64::from(u32_at(bytes, p + 42).ok_or_else(short)?);
        let name_bytes = bytes.get(p + 46..p + 46 + name_len).ok_or_else(short)?;
        let name = String::from_utf8(name_bytes.to_vec()).map_err(|_| corrupt("an entry name is not UTF-8"))?;
        let extra = bytes.get(p + 46 + name_len..p + 46 + name_len + extra_len).ok_or_else(short)?;
        // Zip64 extended information: the 64-bit values of the fields that read 0xFFFFFFFF,
        // in the order size, compressed size, local header offset.
        let mut e = 0;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).unwrap_or(0);
            let len = usize::from(u16_at(extra, e + 2).unwrap_or(0));
            let field = extra.get(e + 4..e + 4 + len).ok_or_else(|| corrupt("short extra field"))?;
            if id == 1 {
                let mut f = 0;
                for value in [&mut size, &mut compressed, &mut local] {
                    if *value == u64::from(u32::MAX) {
                        *value = u64_at(field, f).ok_or_else(|| corrupt("short zip64 extra field"))?;
                        f += 8;
                    }
                }
            }
            e += 4 + len;
        }
        *at = p + 46 + name_len + extra_len + comment_len;
        if flags & 1 != 0 {
            return Err(Error::Format(format!("zip entry {name:?} is encrypted")));
        }
        // The data follows the entry's local header, whose name and extra field may differ in
        // length from the directory's.
        let lh = usize::try_from(local).map_err(|_| corrupt("local header beyond the file"))?;
        if u32_at(bytes, lh) != Some(LOCAL_SIG) {
            return Err(corrupt(&format!("entry {name:?}: no local header at byte {lh}")));
        }
        let local_name = usize::from(u16_at(bytes, lh + 26).ok_or_else(short)?);
        let local_extra = usize::from(u16_at(bytes, lh + 28).ok_or_else(short)?);
        let data_start = lh + 30 + local_name + local_extra;
        let data_end = (data_start as u64).checked_add(compressed);
        if data_end.is_none_or(|end| end > bytes.len() as u64) {
            return Err(corrupt(&format!(
                "entry {name:?} declares {compressed} bytes at {data_start}, beyond the file's {} bytes",
                bytes.len()
            )));
        }
        match method {
            0 if compressed != size => {
                return Err(corrupt(&format!("stored entry {name:?}: {compressed} bytes stored for {size}")))
            }
            0 => {}
            8 if size > compressed.saturating_mul(DEFLATE_MAX_RATIO).saturating_add(DEFLATE_MAX_RATIO) => {
                return Err(corrupt(&format!(
                    "entry {name:?} claims to inflate {compressed} bytes to {size}, more than deflate can produce"
                )))
            }
            8 => {}
            m => {
                return Err(Error::Format(format!(
                    "zip entry {name:?} uses compression method {m}; neurite reads stored (0) and deflated (8) entries"
                )))
            }
        }
        Ok(Entry { name, method, crc, compressed, size, data_start })
    }

    /// The entries, in the directory's order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry named `name`, if any.
    pub(crate) fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The contents of an entry, inflated and checked against its CRC-32.
    pub(crate) fn read(&self, entry: &Entry) -> Result<Vec<u8>> {
        let raw = &self.bytes[entry.data_start..entry.data_start + entry.compressed as usize];
        let data = match entry.method {
            0 => raw.to_vec(),
            _ => {
                // The size was checked against deflate's ratio; read one byte past it to catch
                // a stream that inflates to more than declared.
                let mut out = Vec::with_capacity(entry.size as usize);
                flate2::read::DeflateDecoder::new(raw)
                    .take(entry.size + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| corrupt(&format!("entry {:?} does not inflate: {e}", entry.name)))?;
                if out.len() as u64 != entry.size {
                    return Err(corrupt(&format!(
                        "entry {:?} inflates to {}{} bytes, its directory says {}",
                        entry.name,
                        if out.len() as u64 > entry.size { "more than " } else { "" },
                        out.len().min(entry.size as usize),
                        entry.size
                    )));
                }
                out
            }
        };
        let mut crc = flate2::Crc::new();
        crc.update(&data);
        if crc.sum() != entry.crc {
            return Err(corrupt(&format!("entry {:?} fails its CRC-32 check", entry.name)));
        }
        Ok(data)
    }
}

/// The bytes of a zip archive holding `files` stored (not compressed), as NumPy's `savez`
/// writes them. Every size must fit zip's 32-bit fields (4 GiB).
pub(crate) fn write_stored(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let too_big = || Error::Value("zip: an archive over 4 GiB needs zip64, which neurite does not write".into());
    for (name, data) in files {
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let size = u32::try_from(data.len()).map_err(|_| too_big())?;
        let name_len =
            u16::try_from(name.len()).map_err(|_| Error::Value(format!("zip: name {name:?} is too long")))?;
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        // version 2.0, flag bit 11: the name is UTF-8.
        let common = |b: &mut Vec<u8>| {
            b.extend_from_slice(&20u16.to_le_bytes());
            b.extend_from_slice(&(1u16 << 11).to_le_bytes());
            b.extend_from_slice(&0u16.to_le_bytes()); // stored
            b.extend_from_slice(&0u16.to_le_bytes()); // time
            b.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
            b.extend_from_slice(&crc.to_le_bytes());
            b.extend_from_slice(&size.to_le_bytes());
            b.extend_from_slice(&size.to_le_bytes());
            b.extend_from_slice(&name_len.to_le_bytes());
            b.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(files.len()).map_err(|_| Error::Value("zip: more than 65535 entries".into()))?;
    let cd_offset = u32::try_from(out.len()).map_err(|_| too_big())?;
    let cd_size = u32::try_from(central.len()).map_err(|_| too_big())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&EOCD_SIG.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    u32::try_from(out.len()).map_err(|_| too_big())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_archives_round_trip() {
        let files = vec![("a.npy".to_string(), b"hello".to_vec()), ("dir/b".to_string(), vec![7; 1000])];
        let bytes = write_stored(&files).unwrap();
        let archive = Archive::new(&bytes).unwrap();
        assert_eq!(archive.entries().len(), 2);
        for (name, data) in &files {
            assert_eq!(&archive.read(archive.find(name).unwrap()).unwrap(), data);
        }
    }

    #[test]
    fn damaged_archives_are_errors() {
        let bytes = write_stored(&[("a".to_string(), vec![1, 2, 3, 4])]).unwrap();
        // Truncated anywhere: an error, never a panic.
        for cut in 0..bytes.len() {
            assert!(Archive::new(&bytes[..cut]).and_then(|a| a.read(&a.entries()[0].clone())).is_err(), "cut {cut}");
        }
        // A flipped data byte fails the CRC.
        let mut bad = bytes.clone();
        bad[31] ^= 1;
        let a = Archive::new(&bad).unwrap();
        assert!(a.read(&a.entries()[0]).unwrap_err().to_string().contains("CRC-32"));
        // Every single-byte change of the directory is an error or a clean read.
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] = b[i].wrapping_add(0x80);
            if let Ok(a) = Archive::new(&b) {
                let _ = a.entries().iter().map(|e| a.read(e)).collect::<Vec<_>>();
            }
        }
    }

    /// An archive of one deflated entry `data`, whose directory declares `size` bytes.
    fn deflated(data: &[u8], size: u32) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        let packed = enc.finish().unwrap();
        let mut bytes = write_stored(&[("a".to_string(), packed)]).unwrap();
        let cd = bytes.len() - 22 - (46 + 1);
        bytes[cd + 10] = 8;
        bytes[cd + 24..cd + 28].copy_from_slice(&size.to_le_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(data);
        bytes[cd + 16..cd + 20].copy_from_slice(&crc.sum().to_le_bytes());
        bytes
    }

    #[test]
    fn a_deflated_entry_inflates_to_exactly_its_declared_size() {
        let data = vec![0u8; 1 << 20];
        let ok = deflated(&data, 1 << 20);
        let a = Archive::new(&ok).unwrap();
        assert_eq!(a.read(&a.entries()[0]).unwrap(), data);
        // A megabyte of zeros that declares a kilobyte: inflation stops one byte past it.
        let bomb = deflated(&data, 1000);
        let a = Archive::new(&bomb).unwrap();
        let err = a.read(&a.entries()[0]).unwrap_err().to_string();
        assert!(err.contains("inflates to more than 1000 bytes, its directory says 1000"), "{err}");
    }

    #[test]
    fn duplicate_entries_are_refused() {
        let bytes = write_stored(&[("W1.npy".to_string(), vec![1]), ("W1.npy".to_string(), vec![2])]).unwrap();
        assert!(Archive::new(&bytes).err().unwrap().to_string().contains("\"W1.npy\" appears twice"));
    }

    #[test]
    fn a_deflated_entry_that_claims_too_much_is_refused_before_inflating() {
        let mut bytes = write_stored(&[("a".to_string(), vec![0; 16])]).unwrap();
        // Central directory: method 8, uncompressed size 1 GiB.
        let cd = bytes.len() - 22 - (46 + 1);
        bytes[cd + 10] = 8;
        bytes[cd + 24..cd + 28].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let err = Archive::new(&bytes).err().unwrap().to_string();
        assert!(err.contains("more than deflate can produce"), "{err}");
    }
}
