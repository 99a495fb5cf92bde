//! # neurite-wasm
//!
//! The neurite library compiled for the browser. Built with
//! `cargo build -p neurite-wasm --release --target wasm32-unknown-unknown`, it is a plain
//! `.wasm` with C exports and no imports: `WebAssembly.instantiate(bytes, {})` loads it in a
//! browser or in Node (`node wasm/run.mjs <file.wasm> <seed> <epochs>`).
//!
//! Today it exports one training run, the notes' model on the bundled 8x8 digits; the
//! playground page will grow from it. The same run is [`digits_run`] in Rust, so that a test
//! can check that WebAssembly and the native build learn the same thing.

use neurite::data::Dataset;
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::train::{FitOptions, Metric, Sequential, Verbosity};

/// Trains the notes' model (64 inputs, 32 sigmoid units, 10 softmax outputs; Adam at 0.01,
/// batches of 32) on the 1,437 training digits for `epochs` epochs on one thread, and returns
/// its `(accuracy, loss)` on the 360 test digits.
pub fn digits_run(seed: u64, epochs: usize) -> neurite::Result<(f64, f64)> {
    let (train, test) = Dataset::digits()?;
    let mut model = Sequential::with_seed(seed);
    model.set_threads(1)?;
    model.add(Dense::new(32).activation(Activation::Sigmoid).input_shape(64))?;
    model.add(Dense::new(10).activation(Activation::Softmax))?;
    model.compile(Optimizer::adam().learning_rate(0.01), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])?;
    let options = FitOptions::default().epochs(epochs).batch_size(32).seed(seed).verbose(Verbosity::Silent);
    model.fit_with(&train, None, &options, &mut [])?;
    let evaluation = model.evaluate_with(&test)?;
    Ok((evaluation.accuracy, evaluation.loss))
}

/// [`digits_run`] for the exports: an error, or a panic where panics unwind (natively), is
/// -1.0 in both numbers. Nothing unwinds across the C boundary; on wasm32-unknown-unknown a
/// panic aborts (a trap the caller sees as an exception), as that target does not unwind.
fn digits_run_or_negative(seed: u64, epochs: u32) -> (f64, f64) {
    let run = std::panic::catch_unwind(|| digits_run(seed, epochs as usize));
    match run {
        Ok(Ok(result)) => result,
        Ok(Err(_)) | Err(_) => (-1.0, -1.0),
    }
}

/// Test accuracy (0 to 1) of [`digits_run`]; negative on error.
#[no_mangle]
pub extern "C" fn train_digits(seed: u64, epochs: u32) -> f64 {
    digits_run_or_negative(seed, epochs).0
}

/// Test loss of [`digits_run`]; negative on error.
#[no_mangle]
pub extern "C" fn train_digits_loss(seed: u64, epochs: u32) -> f64 {
    digits_run_or_negative(seed, epochs).1
}
