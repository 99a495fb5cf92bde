//! neurite from Python: the extension module `neurite._neurite` under the Keras-like package
//! in `python/neurite/`. It holds no maths of its own: a model is the library's
//! [`Sequential`], arrays reach it as [`SliceExamples`] read in place, files go through
//! [`neurite::io`], data sets through [`neurite::data`]. Its jobs are the crossing: NumPy
//! arrays in and out, neurite's errors as Python exceptions, the GIL released while training
//! and Ctrl-C turned into a clean stop. One file a job: `crossing.rs` (arrays and errors),
//! `interrupt.rs` (the GIL and Ctrl-C), `model.rs` (the Keras model), `arrays.rs` (the tensor
//! and the activations on arrays), `datasets.rs`, `teach.rs` (the notes' teaching models), `torch.rs` (the autograd
//! variable, generator, optimiser and state_dict files under `neurite.torch`).

use std::path::PathBuf;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use neurite::data::{mnist, Dataset};
use neurite::io;
use neurite::nn::{Activation, Loss};
use neurite::optim::Optimizer;
use neurite::teach::{most_telling_pixel, LogisticOptions, Pixels};
use neurite::train::{
    epoch_line, progress_bar, BatchLogs, Callback, Control, EpochLogs, Examples, FitInfo, FitOptions, Metric,
    Sequential, SliceExamples, StopSignal, Verbosity,
};
use neurite::{Error, ParamStore, Tensor};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

mod arrays;
mod crossing;
mod datasets;
mod interrupt;
mod model;
mod teach;
mod torch;

use arrays::*;
use crossing::*;
use datasets::*;
use interrupt::*;
use model::*;
use teach::*;
use torch::*;

/// The extension module.
#[pymodule]
fn _neurite(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Perceptron>()?;
    m.add_class::<DigitDetector>()?;
    m.add_class::<OneVsAll>()?;
    m.add_class::<PyTensor>()?;
    m.add_function(wrap_pyfunction!(plot_history, m)?)?;
    m.add_function(wrap_pyfunction!(plot_activation, m)?)?;
    m.add_function(wrap_pyfunction!(load_model, m)?)?;
    m.add_function(wrap_pyfunction!(activation, m)?)?;
    m.add_function(wrap_pyfunction!(activation_derivative, m)?)?;
    m.add_function(wrap_pyfunction!(loss_values, m)?)?;
    m.add_function(wrap_pyfunction!(one_hot, m)?)?;
    m.add_function(wrap_pyfunction!(gate_output, m)?)?;
    m.add_function(wrap_pyfunction!(gate_weights, m)?)?;
    m.add_function(wrap_pyfunction!(learn_xor, m)?)?;
    m.add_function(wrap_pyfunction!(reads_in_place, m)?)?;
    m.add_function(wrap_pyfunction!(load_idx_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(load_digits, m)?)?;
    m.add_class::<PyVar>()?;
    m.add_class::<PyGenerator>()?;
    m.add_class::<PyOptim>()?;
    m.add_function(wrap_pyfunction!(set_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(is_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(save_state_dict, m)?)?;
    m.add_function(wrap_pyfunction!(load_state_dict, m)?)?;
    m.add_function(wrap_pyfunction!(export_onnx_graph, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
