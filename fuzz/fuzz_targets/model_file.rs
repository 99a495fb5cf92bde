//! The model-file reader on arbitrary bytes: an error or a model, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(model) = neurite::io::model_from_bytes(data) {
        // A model read back writes back.
        let _ = neurite::io::model_bytes(&model);
    }
});
