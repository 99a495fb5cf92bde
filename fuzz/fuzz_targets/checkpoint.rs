//! The checkpoint reader on arbitrary bytes: an error or a checkpoint, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = neurite::io::checkpoint_from_bytes(data);
});
