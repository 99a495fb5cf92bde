//! The ONNX reader (protobuf messages) on arbitrary bytes: an error or a model, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(model) = neurite::io::onnx::from_onnx(data) {
        // A model read back writes back.
        let _ = neurite::io::onnx::to_onnx(&model);
    }
});
