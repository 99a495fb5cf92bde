//! The NumPy `.npy` reader on arbitrary bytes: an error or a tensor, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(tensor) = neurite::io::npy::read_npy(data) {
        // A tensor read back writes back, and reads back the same.
        let again = neurite::io::npy::read_npy(&neurite::io::npy::npy_bytes(&tensor)).unwrap();
        assert_eq!(again.shape(), tensor.shape());
    }
});
