//! The picture decoder (PNG or JPEG) and the MNIST-style preprocessing `neurite predict`
//! applies, on arbitrary bytes: an error or a 28x28 input, never a panic.
#![no_main]

use neurite::data::image::{self, Invert};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(picture) = image::decode(data) {
        let _ = image::to_model_input(&picture, 28, Invert::Auto);
    }
});
