//! The IDX reader (raw and gzip'd) on arbitrary bytes: an error or an array, never a panic,
//! and never more memory than the header can justify.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(array) = neurite::data::idx::read_idx_bytes(data.to_vec(), "fuzz") {
        let n: usize = array.dims.iter().product();
        assert_eq!(n, array.data.len());
    }
});
