//! The NumPy `.npz` reader (a zip archive of `.npy` entries, stored or deflated) on arbitrary
//! bytes: an error or the arrays, never a panic and never an entry inflated without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(arrays) = neurite::io::npy::read_npz(data) {
        let _ = neurite::io::npy::npz_bytes(&arrays);
    }
});
