//! # neurite-wasm
//!
//! The neurite library compiled for the browser. Built with
//! `cargo build -p neurite-wasm --release --target wasm32-unknown-unknown`, it is a plain
//! `.wasm` with C exports and no imports: `WebAssembly.instantiate(bytes, {})` loads it in a
//! browser or in Node (`node wasm/run.mjs <file.wasm> <seed> <epochs>`).
//!
//! It exports two things:
//! - one training run, the notes' model on the bundled 8x8 digits ([`digits_run`] in Rust, so
//!   that a test can check that WebAssembly and the native build learn the same thing);
//! - the playground page's [`Playground`]: data, settings, a model trained a few steps at a
//!   time, predictions for a drawing with every layer's output, model files in and out.
//!
//! ## The playground's calling convention
//! The page copies bytes in with `nw_alloc(len)` (then writes them at the returned offset of
//! `memory`), calls an `nw_*` function, and reads its answer, `nw_out_len()` bytes at
//! `nw_out_ptr()`: JSON text, or the bytes of a model file or a picture. Each call returns 0 on
//! success and 1 on an error, whose message is then the answer. Buffers given to a call are
//! freed by it.

mod playground;

pub use playground::{EpochReport, Playground, Settings};

use std::cell::RefCell;

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

thread_local! {
    /// The page's state (a wasm module runs on one thread; natively, one per thread).
    static PLAYGROUND: RefCell<Playground> = RefCell::new(Playground::new());
    /// The last call's answer.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the playground and keeps its answer (or its error's message) for `nw_out_*`.
/// A panic (natively; on wasm32 it traps) is reported as an error, not unwound into the caller.
fn respond(f: impl FnOnce(&mut Playground) -> neurite::Result<Vec<u8>>) -> i32 {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| PLAYGROUND.with(|p| f(&mut p.borrow_mut()))));
    let (code, out) = match result {
        Ok(Ok(bytes)) => (0, bytes),
        Ok(Err(e)) => (1, e.to_string().into_bytes()),
        Err(_) => (1, b"internal error (a panic); reload the page".to_vec()),
    };
    OUT.with(|o| *o.borrow_mut() = out);
    code
}

fn json_bytes(value: &serde_json::Value) -> neurite::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| neurite::Error::Value(format!("answer as JSON: {e}")))
}

/// Takes back a buffer given by [`nw_alloc`].
///
/// # Safety
/// `ptr` and `len` are a buffer from `nw_alloc(len)` not taken back yet.
unsafe fn take(ptr: *mut u8, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: nw_alloc made this buffer as a Vec<u8> of length and capacity len.
    unsafe { Vec::from_raw_parts(ptr, len, len) }
}

/// A buffer of `len` bytes for the caller to fill and give to another `nw_*` call.
#[no_mangle]
pub extern "C" fn nw_alloc(len: usize) -> *mut u8 {
    let mut buffer = std::mem::ManuallyDrop::new(vec![0u8; len]);
    buffer.as_mut_ptr()
}

/// Frees a buffer from [`nw_alloc`] that was not given to a call.
///
/// # Safety
/// `ptr` and `len` are a buffer from `nw_alloc(len)` not taken back yet.
#[no_mangle]
pub unsafe extern "C" fn nw_free(ptr: *mut u8, len: usize) {
    drop(unsafe { take(ptr, len) });
}

/// Where the last call's answer is.
#[no_mangle]
pub extern "C" fn nw_out_ptr() -> *const u8 {
    OUT.with(|o| o.borrow().as_ptr())
}

/// How long the last call's answer is.
#[no_mangle]
pub extern "C" fn nw_out_len() -> usize {
    OUT.with(|o| o.borrow().len())
}

/// Loads an MNIST-style set from its four IDX files (train images, train labels, test images,
/// test labels), each a buffer from [`nw_alloc`].
///
/// # Safety
/// Each pair is a buffer from `nw_alloc` not taken back yet.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn nw_load_mnist(
    p1: *mut u8,
    l1: usize,
    p2: *mut u8,
    l2: usize,
    p3: *mut u8,
    l3: usize,
    p4: *mut u8,
    l4: usize,
) -> i32 {
    let files = unsafe { [take(p1, l1), take(p2, l2), take(p3, l3), take(p4, l4)] };
    respond(|p| p.load_mnist([&files[0], &files[1], &files[2], &files[3]]).map(|()| b"{}".to_vec()))
}

/// Loads the bundled 8x8 digits.
#[no_mangle]
pub extern "C" fn nw_load_digits() -> i32 {
    respond(|p| p.load_digits().map(|()| b"{}".to_vec()))
}

/// The training settings' defaults ([`Settings::default`], the library's
/// [`neurite::train::DEFAULTS`]), as JSON: the page's form starts from them, so that the page,
/// the command line and Python declare no defaults of their own.
#[no_mangle]
pub extern "C" fn nw_defaults() -> i32 {
    respond(|_| {
        json_bytes(&serde_json::to_value(Settings::default()).map_err(|e| neurite::Error::Value(e.to_string()))?)
    })
}

/// New settings (JSON of [`Settings`]; absent fields take `neurite train`'s defaults): a new
/// model. Answers [`Playground::info`].
///
/// # Safety
/// `ptr`, `len` is a buffer from `nw_alloc`, not taken back yet.
#[no_mangle]
pub unsafe extern "C" fn nw_configure(ptr: *mut u8, len: usize) -> i32 {
    let text = unsafe { take(ptr, len) };
    respond(|p| {
        let settings: Settings =
            serde_json::from_slice(&text).map_err(|e| neurite::Error::Value(format!("settings: {e}")))?;
        json_bytes(&p.configure(settings)?)
    })
}

/// Back to the settings' initial weights. Answers [`Playground::info`].
#[no_mangle]
pub extern "C" fn nw_reset() -> i32 {
    respond(|p| json_bytes(&p.reset()?))
}

/// The model and the run ([`Playground::info`]).
#[no_mangle]
pub extern "C" fn nw_info() -> i32 {
    respond(|p| json_bytes(&p.info()?))
}

/// Trains at most `steps` steps ([`Playground::train`]).
#[no_mangle]
pub extern "C" fn nw_train(steps: u32) -> i32 {
    respond(|p| json_bytes(&p.train(steps as usize)?))
}

/// The model's answer to a drawing of `width` x `height` RGBA pixels ([`Playground::predict`]).
///
/// # Safety
/// `ptr`, `len` is a buffer from `nw_alloc`, not taken back yet.
#[no_mangle]
pub unsafe extern "C" fn nw_predict(ptr: *mut u8, len: usize, width: u32, height: u32) -> i32 {
    let rgba = unsafe { take(ptr, len) };
    respond(|p| json_bytes(&p.predict(&rgba, width as usize, height as usize)?))
}

/// The first layer's weights as pictures ([`Playground::first_layer_pictures`]): the answer
/// is the unit count and the side as two little-endian u32, then the RGBA bytes.
#[no_mangle]
pub extern "C" fn nw_weights() -> i32 {
    respond(|p| {
        let (units, side, rgba) = p.first_layer_pictures()?;
        let mut out = Vec::with_capacity(8 + rgba.len());
        out.extend((units as u32).to_le_bytes());
        out.extend((side as u32).to_le_bytes());
        out.extend(rgba);
        Ok(out)
    })
}

/// Uses a model file ([`Playground::load_model`]); `name` (UTF-8) names it in messages.
///
/// # Safety
/// Both pairs are buffers from `nw_alloc`, not taken back yet.
#[no_mangle]
pub unsafe extern "C" fn nw_load_model(ptr: *mut u8, len: usize, name_ptr: *mut u8, name_len: usize) -> i32 {
    let (bytes, name) = unsafe { (take(ptr, len), take(name_ptr, name_len)) };
    respond(|p| json_bytes(&p.load_model(&bytes, &String::from_utf8_lossy(&name))?))
}

/// The model as a file `neurite eval` and `neurite predict` read.
#[no_mangle]
pub extern "C" fn nw_model_file() -> i32 {
    respond(|p| p.model_file())
}

/// Test loss and accuracy of the model.
#[no_mangle]
pub extern "C" fn nw_evaluate() -> i32 {
    respond(|p| json_bytes(&p.evaluate()?))
}
