//! The PyTorch state_dict reader (a `.pt` zip holding a pickle, or a safetensors file) on
//! arbitrary bytes: an error or the tensors, never a panic, and nothing in the pickle called.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = neurite::io::torch::read_state_dict(data);
});
