//! The safetensors format (Hugging Face's): a JSON header naming each tensor's dtype, shape
//! and byte range, then the raw little-endian data. Loading one runs no code, so a model from
//! a stranger is safe to open. This file only turns named f32 tensors and string metadata
//! into bytes and back; what the names and metadata mean is `io`'s.

use std::collections::HashMap;

use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The bytes of a safetensors file holding `tensors` (f32) and `metadata`.
pub(crate) fn to_bytes(tensors: &[(String, Tensor)], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let data: Vec<(&str, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| (name.as_str(), t.shape().to_vec(), t.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = data
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.to_string(), v))
                .map_err(|e| Error::Format(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    serialize(views, metadata)
}

/// `safetensors::serialize`, with the header's keys in sorted order: the crate writes the
/// metadata map in its hash order, which changes from run to run, so that the same model
/// saved twice gave different bytes (and checksums).
pub(crate) fn serialize(views: Vec<(String, TensorView<'_>)>, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let mut bytes =
        safetensors::serialize(views, Some(metadata)).map_err(|e| Error::Format(format!("safetensors: {e}")))?;
    let length = bytes.get(..8).map_or(0, |n| u64::from_le_bytes(n.try_into().unwrap_or_default()) as usize);
    let header = bytes.get(8..8 + length).ok_or_else(|| Error::Format("safetensors: no header".into()))?;
    let parsed: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| Error::Format(format!("safetensors header: {e}")))?;
    // serde_json's maps are sorted by key; the same entries print to the same length.
    let sorted = parsed.to_string();
    let unpadded = header.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    if sorted.len() != unpadded {
        return Err(Error::Format(format!(
            "safetensors header: {} bytes sorted against {unpadded} as written",
            sorted.len()
        )));
    }
    bytes[8..8 + sorted.len()].copy_from_slice(sorted.as_bytes());
    Ok(bytes)
}

/// Named tensors, in order.
pub(crate) type NamedTensors = Vec<(String, Tensor)>;

/// The metadata of a safetensors file (its header alone is read).
pub(crate) fn metadata(bytes: &[u8]) -> Result<HashMap<String, String>> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::Format(format!("not a safetensors file: {e}")))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

/// The tensors (in the file's order of offsets) and the metadata of a safetensors file.
/// Every tensor must be f32 or f64 (read as f32), but a batch normalisation's i64
/// `num_batches_tracked`.
pub(crate) fn from_bytes(bytes: &[u8]) -> Result<(NamedTensors, HashMap<String, String>)> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::Format(format!("not a safetensors file: {e}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Format(format!("corrupt safetensors data: {e}")))?;
    let mut tensors = Vec::new();
    for (name, view) in st.iter() {
        let values = match view.dtype() {
            Dtype::F32 => view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            // A float64 state_dict (`model.double()`), read as f32 as NumPy's float64 is.
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                .collect(),
            // A batch normalisation's `num_batches_tracked` (a count, exact in f32 below 2^24),
            // the one integer tensor a state_dict of the layers neurite has holds.
            Dtype::I64 if name.ends_with("num_batches_tracked") => view
                .data()
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                .collect(),
            d => return Err(Error::Format(format!("tensor {name}: {d:?} values, neurite reads F32 and F64"))),
        };
        tensors.push((name.to_string(), Tensor::from_vec(values, view.shape())?));
    }
    Ok((tensors, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_tensors_and_metadata_give_the_same_bytes() {
        let tensors =
            vec![("w".to_string(), Tensor::from_parts(vec![1.0, -2.0], &[2])), ("b".into(), Tensor::scalar(3.0))];
        let metadata = || -> HashMap<String, String> {
            (0..12).map(|i| (format!("key{i}"), format!("value \"{i}\"\n"))).collect()
        };
        let first = to_bytes(&tensors, metadata()).unwrap();
        for _ in 0..20 {
            // Each map has its own hash keys, so its own order.
            assert_eq!(to_bytes(&tensors, metadata()).unwrap(), first);
        }
        let (read, meta) = from_bytes(&first).unwrap();
        assert_eq!(meta, metadata());
        let w = read.iter().find(|(name, _)| name == "w").unwrap();
        assert_eq!(w.1.to_vec(), vec![1.0, -2.0]);
    }
}
