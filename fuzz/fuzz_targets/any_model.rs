//! Every model format through `io::read_model`, as `neurite import` and `eval --weights` read
//! a file: format detection, then the reader it picks (a pickle of NumPy arrays included),
//! the memory budget and the check for non-finite weights. An error or a model, never a
//! panic, and nothing in a pickle called.
#![no_main]

use neurite::io::{read_model, Activations};
use neurite::nn::Activation;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let acts = Activations { hidden: Some(Activation::Relu), output: Some(Activation::Softmax) };
    if let Ok(model) = read_model(data, acts) {
        // A model read back writes back.
        let _ = neurite::io::model_bytes(&model);
    }
});
