//! neurite from Python: the extension module `neurite._neurite` under the Keras-like package
//! in `python/neurite/`. It holds no maths of its own: a model is the library's
//! [`Sequential`], arrays reach it as [`SliceExamples`] read in place, files go through
//! [`neurite::io`], data sets through [`neurite::data`]. Its jobs are the crossing: NumPy
//! arrays in and out, neurite's errors as Python exceptions, the GIL released while training
//! and Ctrl-C turned into a clean stop.

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
use pyo3::types::{PyDict, PyList};

/// A neurite error as the Python exception a NumPy or Keras user expects: files are
/// `OSError`, indices `IndexError`, a fit stopped by divergence `RuntimeError`, the rest
/// (shapes, values, corrupt files) `ValueError`; the message is neurite's.
fn py_err(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::Io(_) => PyOSError::new_err(message),
        Error::Index(_) => PyIndexError::new_err(message),
        Error::Stopped(_) => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

fn value_err(message: String) -> PyErr {
    PyValueError::new_err(message)
}

/// NumPy's spelling of a shape: `(60000, 28, 28)`, `(3,)`.
fn shape_of(shape: &[usize]) -> String {
    neurite::error::shape_str(shape)
}

/// `obj` as an array of numbers (lists too), or a `ValueError` naming its dtype and shape.
fn numeric_array<'py>(what: &str, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let np = obj.py().import("numpy")?;
    let array = np.call_method1("asarray", (obj,)).map_err(|e| value_err(format!("{what}: not an array: {e}")))?;
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "b" | "i" | "u" | "f") {
        let dtype = array.getattr("dtype")?.str()?.to_string();
        let shape: Vec<usize> = array.getattr("shape")?.extract()?;
        return Err(value_err(format!(
            "{what}: an array of dtype {dtype} and shape {} holds no numbers neurite can use (expected float, int, uint or bool)",
            shape_of(&shape)
        )));
    }
    Ok(array)
}

/// Rows of f32 from an array of shape (n, `width`): the caller's own memory when it is
/// float32 and C-contiguous, else a float32 copy NumPy makes (other dtypes, strides,
/// Fortran order). The `bool` says whether it was read in place.
fn f32_rows<'py>(
    what: &str,
    obj: &Bound<'py, PyAny>,
    width: Option<usize>,
    hint: &str,
) -> PyResult<(PyReadonlyArray2<'py, f32>, bool)> {
    if let Ok(array) = obj.extract::<PyReadonlyArray2<'py, f32>>() {
        if array.is_c_contiguous() && width.is_none_or(|w| array.shape()[1] == w) {
            return Ok((array, true));
        }
    }
    let array = numeric_array(what, obj)?;
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    if shape.len() != 2 || width.is_some_and(|w| shape[1] != w) {
        let dtype = array.getattr("dtype")?.str()?.to_string();
        let want = width.map_or("(examples, features)".to_string(), |w| format!("(examples, {w})"));
        return Err(value_err(format!(
            "{what}: expected an array of shape {want}, got dtype {dtype} and shape {}{hint}",
            shape_of(&shape)
        )));
    }
    let np = obj.py().import("numpy")?;
    let kwargs = PyDict::new(obj.py());
    kwargs.set_item("dtype", np.getattr("float32")?)?;
    let converted = np.call_method("ascontiguousarray", (array,), Some(&kwargs))?;
    Ok((converted.extract::<PyReadonlyArray2<'py, f32>>()?, false))
}

/// Class indices from an array of shape (n,) or (n, 1) of integers (or of floats that are
/// whole numbers), each below `classes`.
fn class_labels(what: &str, obj: &Bound<'_, PyAny>, n: usize, classes: usize) -> PyResult<Vec<u32>> {
    let array = numeric_array(what, obj)?;
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    if !(shape == [n] || shape == [n, 1]) {
        return Err(value_err(format!(
            "{what}: expected {n} class indices, shape ({n},), got shape {}",
            shape_of(&shape)
        )));
    }
    let np = obj.py().import("numpy")?;
    let kwargs = PyDict::new(obj.py());
    kwargs.set_item("dtype", np.getattr("float64")?)?;
    let flat = np.call_method("ascontiguousarray", (array.call_method1("reshape", (-1,))?,), Some(&kwargs))?;
    let values = flat.extract::<numpy::PyReadonlyArray1<f64>>()?;
    let values = values.as_slice().map_err(|e| value_err(format!("{what}: {e}")))?;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0.0 && v.fract() == 0.0 && v < classes as f64 {
                Ok(v as u32)
            } else {
                Err(value_err(format!(
                    "{what}: label {v} (example {i}) is not a class index below {classes}, the model's outputs"
                )))
            }
        })
        .collect()
}

/// The targets of a fit or an evaluation, converted once.
enum Targets<'py> {
    Classes(Vec<u32>, usize),
    Rows(PyReadonlyArray2<'py, f32>),
}

impl<'py> Targets<'py> {
    fn read(what: &str, y: &Bound<'py, PyAny>, n: usize, model: &Sequential) -> PyResult<Targets<'py>> {
        let loss = model.loss().ok_or_else(|| value_err("the model is not compiled: call compile() first".into()))?;
        let outputs = model.output_units().unwrap_or(0);
        if loss.takes_class_indices() {
            return Ok(Targets::Classes(class_labels(what, y, n, outputs)?, outputs));
        }
        let array = numeric_array(what, y)?;
        let ndim: usize = array.getattr("ndim")?.extract()?;
        let array = if ndim == 1 { array.call_method1("reshape", (-1, 1))? } else { array };
        Ok(Targets::Rows(f32_rows(what, &array, Some(outputs), "")?.0))
    }

    fn examples<'a>(&'a self, x: SliceExamples<'a>) -> neurite::Result<SliceExamples<'a>> {
        match self {
            Targets::Classes(labels, classes) => x.with_classes(labels, *classes),
            Targets::Rows(rows) => {
                let width = rows.shape()[1];
                x.with_rows(rows.as_slice().map_err(|e| Error::Value(e.to_string()))?, width)
            }
        }
    }
}

fn rows_of<'a>(array: &'a PyReadonlyArray2<'_, f32>) -> PyResult<SliceExamples<'a>> {
    let slice = array.as_slice().map_err(|e| value_err(e.to_string()))?;
    SliceExamples::new(slice, array.shape()[1]).map_err(py_err)
}

/// What the training thread tells the waiting main thread.
enum Event<T> {
    /// The work is done.
    Done(T),
    /// The work just ran Python code (printed a line), which may have asked for a stop (a
    /// Ctrl-C pressed, or `_thread.interrupt_main()` called, by then): look now, then answer.
    Poke(mpsc::Sender<()>),
}

/// Runs `work` on its own thread with the GIL released, checking for Ctrl-C on this (the
/// main) thread, where Python's signal handlers run: ten times a second, and each time the
/// work calls the poke it is given (after running Python code), the work waiting for the
/// answer so that a stop asked for there is seen before the next step. On Ctrl-C, `stop`
/// is raised, the work finishes its current step, and the `KeyboardInterrupt` is raised.
fn run_interruptible<T: Send>(
    py: Python<'_>,
    stop: &StopSignal,
    work: impl FnOnce(&(dyn Fn() + Sync)) -> T + Send,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel::<Event<T>>();
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        let poke_tx = tx.clone();
        scope.spawn(move || {
            let poke = move || {
                let (ack, answered) = mpsc::channel();
                if poke_tx.send(Event::Poke(ack)).is_ok() {
                    let _ = answered.recv();
                }
            };
            let result = work(&poke);
            // The receiver outlives this thread: the send cannot fail.
            let _ = tx.send(Event::Done(result));
        });
        let mut interrupted: Option<PyErr> = None;
        let look = |interrupted: &mut Option<PyErr>| {
            if interrupted.is_none() {
                if let Err(e) = py.check_signals() {
                    stop.raise();
                    *interrupted = Some(e);
                }
            }
        };
        loop {
            let got = py.detach(|| match rx.lock() {
                Ok(rx) => rx.recv_timeout(Duration::from_millis(100)),
                Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
            });
            match got {
                Ok(Event::Done(value)) => return interrupted.map_or(Ok(value), Err),
                Ok(Event::Poke(ack)) => {
                    look(&mut interrupted);
                    let _ = ack.send(());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => look(&mut interrupted),
                // The work panicked: the scope re-raises its panic, which PyO3 turns into a
                // Python exception.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(interrupted.unwrap_or_else(|| PyRuntimeError::new_err("training thread failed")))
                }
            }
        }
    })
}

/// Writes to Python's `sys.stdout` (a notebook's output cell, not the process's descriptor 1).
fn print_py(text: &str) {
    Python::attach(|py| {
        if let Ok(out) = py.import("sys").and_then(|sys| sys.getattr("stdout")) {
            // Printing progress has nowhere to report its own failure.
            let _ = out.call_method1("write", (text,));
            let _ = out.call_method0("flush");
        }
    });
}

/// Keras' `verbose` for `fit`: 1 redraws a progress line about 20 times an epoch, then the
/// epoch's line; 2 prints the epoch's line only. The lines are the library's.
struct Printer<'a> {
    verbose: u8,
    epochs: usize,
    steps: usize,
    poke: &'a (dyn Fn() + Sync),
}

impl Callback for Printer<'_> {
    fn on_train_begin(&mut self, info: &FitInfo) {
        self.epochs = info.epochs;
        self.steps = info.steps_per_epoch;
    }

    fn on_batch_end(&mut self, batch: usize, logs: &BatchLogs) {
        let done = batch + 1;
        if self.verbose == 1 && (done % (self.steps / 20).max(1) == 0 || done == self.steps) {
            print_py(&format!("\r{}", progress_bar(done, self.steps, logs)));
            (self.poke)();
        }
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _params: &ParamStore) -> neurite::Result<Control> {
        let clear = if self.verbose == 1 { format!("\r{}\r", " ".repeat(100)) } else { String::new() };
        print_py(&format!("{clear}{}\n", epoch_line(logs, self.epochs, self.steps)));
        (self.poke)();
        Ok(Control::Continue)
    }
}

/// A neurite model (the library's `Sequential`) seen from Python. The package's
/// `neurite.Sequential` wraps it with Keras' argument conventions.
#[pyclass(module = "neurite._neurite")]
struct Model {
    model: Sequential,
}

fn parse<T: std::str::FromStr<Err = Error>>(text: &str) -> PyResult<T> {
    text.parse().map_err(py_err)
}

#[pymethods]
impl Model {
    /// An empty model whose weights will be drawn with `seed`.
    #[new]
    #[pyo3(signature = (seed = 0))]
    fn new(seed: u64) -> Model {
        Model { model: Sequential::with_seed(seed) }
    }

    /// Declares the shape of one example (Keras' `Input(shape=...)`), before any layer.
    fn set_input_shape(&mut self, shape: Vec<usize>) -> PyResult<()> {
        self.model.set_input_shape(&shape).map_err(py_err)
    }

    /// Appends a layer given as Keras gives it: its class name and its `get_config()` as
    /// JSON, read by the library's Keras adapter (the one `--architecture` uses).
    fn add_layer(&mut self, class_name: &str, config_json: &str) -> PyResult<()> {
        let layer = io::keras::layer_config_from_json(class_name, config_json).map_err(py_err)?;
        self.model.add_layer(layer.into_layer()).map_err(py_err)
    }

    /// Keras' layer table.
    fn summary(&self) -> String {
        self.model.summary()
    }

    /// Each layer as (name, class name, Keras configuration as JSON, input shape, output
    /// shape, number of weight arrays).
    #[allow(clippy::type_complexity)]
    fn layers(&self) -> Vec<(String, String, String, Vec<usize>, Vec<usize>, usize)> {
        self.model
            .layers()
            .iter()
            .map(|l| {
                (
                    l.name().unwrap_or_default().to_string(),
                    l.class_name().to_string(),
                    io::keras::to_keras_config(&l.config()).to_string(),
                    l.input_shape().to_vec(),
                    l.output_shape(l.input_shape()).unwrap_or_default(),
                    l.param_specs().len(),
                )
            })
            .collect()
    }

    /// The shape of one example, once known.
    fn input_shape(&self) -> Option<Vec<usize>> {
        self.model.input_shape()
    }

    /// Number of trainable values.
    fn count_params(&self) -> usize {
        self.model.param_count()
    }

    /// Threads used for training and inference (default: all cores).
    #[getter]
    fn threads(&self) -> usize {
        self.model.threads()
    }

    #[setter]
    fn set_threads(&mut self, threads: usize) -> PyResult<()> {
        self.model.set_threads(threads).map_err(py_err)
    }

    /// Chooses the optimiser (a name, with an optional learning rate), the loss and whether
    /// accuracy is reported.
    #[pyo3(signature = (optimizer, learning_rate, loss, accuracy))]
    fn compile(&mut self, optimizer: &str, learning_rate: Option<f32>, loss: &str, accuracy: bool) -> PyResult<()> {
        let mut optimizer = parse::<Optimizer>(optimizer)?;
        if let Some(lr) = learning_rate {
            optimizer = optimizer.learning_rate(lr);
        }
        optimizer.validate().map_err(py_err)?;
        let metrics: &[Metric] = if accuracy { &[Metric::Accuracy] } else { &[] };
        self.model.compile(optimizer, parse::<Loss>(loss)?, metrics).map_err(py_err)
    }

    /// The compiled loss's name, or None.
    fn loss_name(&self) -> Option<String> {
        self.model.loss().map(|l| l.name().to_string())
    }

    /// Whether compile asked for accuracy.
    fn reports_accuracy(&self) -> bool {
        self.model.reports_accuracy()
    }

    /// Trains, the GIL released; returns the history as {name: [value per epoch]}.
    #[pyo3(signature = (x, y, epochs, batch_size, validation_split, validation_data, shuffle, seed, verbose, backup = None))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        epochs: usize,
        batch_size: usize,
        validation_split: f64,
        validation_data: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        shuffle: bool,
        seed: u64,
        verbose: u8,
        backup: Option<(PathBuf, usize, bool)>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let features = self.input_dim()?;
        let hint = format!(": reshape(-1, {features}) first");
        let (x, _) = f32_rows("x", x, Some(features), &hint)?;
        let targets = Targets::read("y", y, x.shape()[0], &self.model)?;
        let data = targets.examples(rows_of(&x)?).map_err(py_err)?;
        let validation = match &validation_data {
            None => None,
            Some((vx, vy)) => {
                let (vx, _) = f32_rows("validation x", vx, Some(features), &hint)?;
                let vt = Targets::read("validation y", vy, vx.shape()[0], &self.model)?;
                Some((vx, vt))
            }
        };
        let validation = match &validation {
            None => None,
            Some((vx, vt)) => Some(vt.examples(rows_of(vx)?).map_err(py_err)?),
        };
        let stop = StopSignal::new();
        let mut options = FitOptions::default()
            .epochs(epochs)
            .batch_size(batch_size)
            .validation_split(validation_split)
            .shuffle(shuffle)
            .seed(seed)
            .verbose(Verbosity::Silent)
            .stop_on(stop.clone());
        // Keras' BackupAndRestore: continue from the checkpoint in the directory when there
        // is one (weights, optimiser state, where the fit stood), and write one there.
        let mut checkpoints = None;
        if let Some((dir, every, _)) = &backup {
            if dir.join(io::CHECKPOINT_FILE).exists() {
                let saved = io::load_checkpoint(dir).map_err(py_err)?;
                if saved.model.config() != self.model.config() {
                    return Err(value_err(format!(
                        "{}: the checkpoint is of another model ({} parameters, this one has {})",
                        dir.display(),
                        saved.model.param_count(),
                        self.model.param_count()
                    )));
                }
                let state =
                    saved.model.optimizer_state().cloned().ok_or_else(|| {
                        value_err(format!("{}: the checkpoint has no optimiser state", dir.display()))
                    })?;
                self.model.params().restore(&saved.model.params().snapshot().map_err(py_err)?).map_err(py_err)?;
                self.model.set_optimizer_state(state).map_err(py_err)?;
                options = options.resume(saved.progress);
            }
            checkpoints = Some(io::Checkpointer::new(dir).map_err(py_err)?.every(*every));
        }
        let model = &mut self.model;
        let history = run_interruptible(py, &stop, |poke| {
            let mut printer = Printer { verbose, epochs: 0, steps: 0, poke };
            let mut callbacks: Vec<&mut dyn Callback> = Vec::new();
            if verbose > 0 {
                callbacks.push(&mut printer);
            }
            if let Some(c) = checkpoints.as_mut() {
                callbacks.push(c);
            }
            model.fit_with(&data, validation.as_ref().map(|v| v as &dyn Examples), &options, &mut callbacks)
        })?
        .map_err(py_err)?;
        if let Some((dir, _, true)) = &backup {
            let file = dir.join(io::CHECKPOINT_FILE);
            std::fs::remove_file(&file).map_err(|e| py_err(Error::io(&file, e)))?;
        }
        let out = PyDict::new(py);
        let mut keys = vec!["loss"];
        if self.model.reports_accuracy() {
            keys.push("accuracy");
        }
        if history.epochs.first().is_some_and(|e| e.val_loss.is_some()) {
            keys.push("val_loss");
            if self.model.reports_accuracy() {
                keys.push("val_accuracy");
            }
        }
        for key in keys {
            out.set_item(key, history.get(key))?;
        }
        Ok(out)
    }

    /// Mean loss and accuracy on (x, y), the GIL released.
    fn evaluate(&mut self, py: Python<'_>, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
        let features = self.input_dim()?;
        let (x, _) = f32_rows("x", x, Some(features), &format!(": reshape(-1, {features}) first"))?;
        let targets = Targets::read("y", y, x.shape()[0], &self.model)?;
        let data = targets.examples(rows_of(&x)?).map_err(py_err)?;
        let model = &mut self.model;
        let eval = py.detach(|| model.evaluate_with(&data)).map_err(py_err)?;
        Ok((eval.loss, eval.accuracy))
    }

    /// The outputs for x, shape (n, outputs), float32, the GIL released.
    fn predict<'py>(&mut self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let features = self.input_dim()?;
        let (x, _) = f32_rows("x", x, Some(features), &format!(": reshape(-1, {features}) first"))?;
        let data = rows_of(&x)?;
        let model = &mut self.model;
        let out = py.detach(|| model.predict_with(&data)).map_err(py_err)?;
        tensor_to_numpy(py, &out)?.cast_into::<PyArray2<f32>>().map_err(PyErr::from)
    }

    /// The parameters as arrays, in layer order: kernel (inputs, units), then bias (units,).
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let arrays = self
            .model
            .params()
            .tensors()
            .map_err(py_err)?
            .iter()
            .map(|(_, t)| tensor_to_numpy(py, t))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, arrays)
    }

    /// Replaces the parameters, given in the order and shapes of `get_weights`.
    fn set_weights(&mut self, weights: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let params = self.model.params();
        let names = params.names();
        if weights.len() != names.len() {
            return Err(value_err(format!(
                "set_weights: the model has {} arrays ({}), got {}",
                names.len(),
                names.join(", "),
                weights.len()
            )));
        }
        let mut tensors = Vec::with_capacity(names.len());
        for (name, w) in names.iter().zip(&weights) {
            tensors.push((name, tensor_from_numpy(&format!("set_weights: {name}"), w)?));
        }
        for (name, t) in &tensors {
            params.set(name, t).map_err(|e| py_err(e.context(format!("set_weights: {name}"))))?;
        }
        Ok(())
    }

    /// Saves the model (architecture, parameters, optimiser state) as neurite's safetensors file.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        io::save_model(&self.model, &path).map_err(py_err)
    }

    /// Writes the model as ONNX (`onnx`), a PyTorch state dict (`torch`) or NumPy arrays
    /// W1, b1, ... (`npz`).
    fn export(&self, path: PathBuf, format: &str) -> PyResult<()> {
        match format {
            "onnx" => io::onnx::save_onnx(&self.model, &path),
            "torch" | "pytorch" | "pt" => io::torch::save_state_dict(&self.model, &path),
            "npz" => io::model_to_arrays(&self.model).and_then(|a| io::npy::save_npz(&path, &a)),
            other => {
                return Err(value_err(format!("export: unknown format {other:?}: expected onnx, torch or npz")));
            }
        }
        .map_err(py_err)
    }

    /// Draws the first layer's units as `height x width` pictures (note 002's weights).
    fn plot_weights(&self, path: PathBuf, height: usize, width: usize) -> PyResult<()> {
        neurite::plot::first_layer_weights(&self.model, (height, width), &path).map_err(py_err)
    }

    fn __repr__(&self) -> String {
        format!("<neurite model: {} layers, {} parameters>", self.model.layers().len(), self.model.param_count())
    }
}

impl Model {
    fn input_dim(&self) -> PyResult<usize> {
        self.model.input_dim().ok_or_else(|| value_err("the model has no layers yet".into()))
    }
}

/// Loads a model file: neurite's own (compiled when it was saved compiled), or any format
/// the library imports (ONNX, a PyTorch .pt, safetensors, an .npz of W1, b1, ...), with
/// the activations given for formats that do not record them.
#[pyfunction]
#[pyo3(signature = (path, activation = None, output_activation = None))]
fn load_model(path: PathBuf, activation: Option<&str>, output_activation: Option<&str>) -> PyResult<Model> {
    let activations = io::Activations {
        hidden: activation.map(parse::<Activation>).transpose()?,
        output: output_activation.map(parse::<Activation>).transpose()?,
    };
    let model = io::load_any(&path, activations).map_err(py_err)?;
    Ok(Model { model })
}

fn tensor_to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let array = PyArray1::from_vec(py, t.to_vec());
    Ok(array.reshape(t.shape().to_vec())?.into_any())
}

fn tensor_from_numpy(what: &str, obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let array = numeric_array(what, obj)?;
    let np = obj.py().import("numpy")?;
    let kwargs = PyDict::new(obj.py());
    kwargs.set_item("dtype", np.getattr("float32")?)?;
    let array = np.call_method("ascontiguousarray", (array,), Some(&kwargs))?;
    let array = array.extract::<numpy::PyReadonlyArrayDyn<f32>>()?;
    let values = array.as_slice().map_err(|e| value_err(format!("{what}: {e}")))?;
    Tensor::from_vec(values.to_vec(), array.shape()).map_err(py_err)
}

/// Applies a named activation (`sigmoid`, `softmax`, `relu`, ...) to an array, the last axis
/// being softmax's: the library's kernels, as the layers use them.
#[pyfunction]
fn activation<'py>(py: Python<'py>, name: &str, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let t = tensor_from_numpy("x", x)?;
    let out = parse::<Activation>(name)?.forward(&t).map_err(py_err)?;
    tensor_to_numpy(py, &out)
}

/// The derivative of a named activation, element by element.
#[pyfunction]
fn activation_derivative<'py>(py: Python<'py>, name: &str, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let t = tensor_from_numpy("x", x)?;
    let out = parse::<Activation>(name)?.derivative(&t).map_err(py_err)?;
    tensor_to_numpy(py, &out)
}

/// Whether `x` would be read in place by fit, evaluate and predict (float32, C-contiguous,
/// two axes) rather than converted.
#[pyfunction]
fn reads_in_place(x: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(f32_rows("x", x, None, "")?.1)
}

fn dataset_arrays<'py>(py: Python<'py>, d: &Dataset) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (h, w) = d.image_shape();
    let images = PyArray1::from_slice(py, d.images()).reshape(vec![d.len(), h, w])?.into_any();
    let labels = PyArray1::from_slice(py, d.labels()).into_any();
    Ok((images, labels))
}

type Split<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

/// MNIST or Fashion-MNIST as Keras gives them: ((x_train, y_train), (x_test, y_test)), uint8,
/// images of shape (n, 28, 28). Looks in `path` when given, else where the library looks
/// ($NEURITE_DATA, ./data/NAME, the cache); when it is in none of them and `download`, fetches
/// it into the cache with its checksums checked, as Keras does. `OSError` names every place.
#[pyfunction]
#[pyo3(signature = (name, path = None, download = true))]
fn load_idx_dataset<'py>(
    py: Python<'py>,
    name: &str,
    path: Option<PathBuf>,
    download: bool,
) -> PyResult<(Split<'py>, Split<'py>)> {
    let name: mnist::DatasetName = parse(name)?;
    let explicit = path.as_deref();
    let dir = match mnist::find_dir(name, explicit) {
        Some(dir) => dir,
        None => {
            let places: Vec<String> =
                mnist::search_path(name, explicit).iter().map(|p| p.display().to_string()).collect();
            let missing = format!(
                "{name} not found: looked in {} (set $NEURITE_DATA to the directory of its four IDX files, or pass path=...)",
                places.join(", ")
            );
            match mnist::cache_dir(name).filter(|_| download && explicit.is_none()) {
                None => return Err(PyOSError::new_err(missing)),
                Some(cache) => {
                    print_py(&format!("{name}: downloading into {}\n", cache.display()));
                    py.detach(|| mnist::download(name, &cache, false))
                        .map_err(|e| PyOSError::new_err(format!("{missing}; the download failed: {e}")))?;
                    cache
                }
            }
        }
    };
    let (train, test) = py.detach(|| mnist::load_mnist_dir(&dir, name)).map_err(py_err)?;
    Ok((dataset_arrays(py, &train)?, dataset_arrays(py, &test)?))
}

/// The bundled 8x8 digits (grey levels 0..16), split as `neurite train --dataset digits`
/// splits them: ((x_train, y_train), (x_test, y_test)), uint8.
#[pyfunction]
fn load_digits(py: Python<'_>) -> PyResult<(Split<'_>, Split<'_>)> {
    let (train, test) = Dataset::digits().map_err(py_err)?;
    Ok((dataset_arrays(py, &train)?, dataset_arrays(py, &test)?))
}

/// The library's n-d f32 tensor, with NumPy in and out (`Tensor(array)`, `numpy()`,
/// `np.asarray(t)`), NumPy's broadcasting in `+ - * /` and comparisons, `@` and `dot` with
/// NumPy's rules, and the notes' operations; each is the library's.
#[pyclass(name = "Tensor", module = "neurite._neurite")]
struct PyTensor {
    t: Tensor,
}

/// The other operand of an arithmetic operator: a tensor, or anything NumPy makes numbers of.
fn operand(other: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(t) = other.cast::<PyTensor>() {
        return Ok(t.borrow().t.clone());
    }
    if let Ok(v) = other.extract::<f64>() {
        return Ok(Tensor::scalar(v as f32));
    }
    tensor_from_numpy("operand", other)
}

fn wrap(t: neurite::Result<Tensor>) -> PyResult<PyTensor> {
    t.map(|t| PyTensor { t }).map_err(py_err)
}

#[pymethods]
impl PyTensor {
    #[new]
    fn new(data: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        Ok(PyTensor { t: tensor_from_numpy("Tensor", data)? })
    }

    /// The values as a float32 NumPy array.
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        tensor_to_numpy(py, &self.t)
    }

    #[pyo3(signature = (dtype = None, copy = None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = copy;
        let array = tensor_to_numpy(py, &self.t)?;
        match dtype {
            Some(d) => array.call_method1("astype", (d,)),
            None => Ok(array),
        }
    }

    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.t.shape().to_vec()
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.t.ndim()
    }

    #[getter]
    fn size(&self) -> usize {
        self.t.size()
    }

    /// A new shape, one axis of which may be -1 (inferred).
    #[pyo3(signature = (*shape))]
    fn reshape(&self, shape: Vec<isize>) -> PyResult<PyTensor> {
        wrap(self.t.reshape(&shape))
    }

    /// NumPy's `dot`: inner product, matrix-vector, matrix-matrix products.
    fn dot(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.dot(&operand(other)?))
    }

    fn __matmul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.matmul(&operand(other)?))
    }

    fn __add__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.add(&operand(other)?))
    }

    fn __radd__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other)?.add(&self.t))
    }

    fn __sub__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.sub(&operand(other)?))
    }

    fn __rsub__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other)?.sub(&self.t))
    }

    fn __mul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.mul(&operand(other)?))
    }

    fn __rmul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(operand(other)?.mul(&self.t))
    }

    fn __truediv__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.div(&operand(other)?))
    }

    fn __gt__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.gt(&operand(other)?))
    }

    fn __lt__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.lt(&operand(other)?))
    }

    fn __neg__(&self) -> PyTensor {
        PyTensor { t: self.t.neg() }
    }

    /// The sum of all values, or along `axis`.
    #[pyo3(signature = (axis = None))]
    fn sum(&self, axis: Option<isize>) -> PyResult<PyTensor> {
        match axis {
            None => Ok(PyTensor { t: self.t.sum() }),
            Some(a) => wrap(self.t.sum_axis(a, false)),
        }
    }

    /// The mean of all values, or along `axis`.
    #[pyo3(signature = (axis = None))]
    fn mean(&self, axis: Option<isize>) -> PyResult<PyTensor> {
        match axis {
            None => wrap(self.t.mean()),
            Some(a) => wrap(self.t.mean_axis(a, false)),
        }
    }

    /// The index of the largest value (flat), or those along `axis`.
    #[pyo3(signature = (axis = None))]
    fn argmax<'py>(&self, py: Python<'py>, axis: Option<isize>) -> PyResult<Bound<'py, PyAny>> {
        match axis {
            None => Ok(self.t.argmax().map_err(py_err)?.into_pyobject(py)?.into_any()),
            Some(a) => Ok(PyArray1::from_vec(py, self.t.argmax_axis(a).map_err(py_err)?).into_any()),
        }
    }

    fn exp(&self) -> PyTensor {
        PyTensor { t: self.t.exp() }
    }

    fn log(&self) -> PyTensor {
        PyTensor { t: self.t.log() }
    }

    fn sigmoid(&self) -> PyTensor {
        PyTensor { t: self.t.sigmoid() }
    }

    fn tanh(&self) -> PyTensor {
        PyTensor { t: self.t.tanh() }
    }

    fn relu(&self) -> PyTensor {
        PyTensor { t: self.t.relu() }
    }

    /// Softmax along `axis` (the last by default), computed stably.
    #[pyo3(signature = (axis = -1))]
    fn softmax(&self, axis: isize) -> PyResult<PyTensor> {
        wrap(self.t.softmax(axis))
    }

    /// The transpose of a matrix.
    #[getter(T)]
    fn transposed(&self) -> PyResult<PyTensor> {
        wrap(self.t.t())
    }

    fn __len__(&self) -> usize {
        self.t.shape().first().copied().unwrap_or(0)
    }

    fn __repr__(&self) -> String {
        self.t.to_string()
    }
}

/// The notes' Rosenblatt perceptron (note 003): weights `w_` (bias first), `fit` with
/// targets 1 or -1, `errors_` per epoch, `net_input`, `predict`. The library's
/// `teach::Perceptron`.
#[pyclass(module = "neurite._neurite")]
struct Perceptron {
    inner: neurite::teach::Perceptron,
}

#[pymethods]
impl Perceptron {
    #[new]
    #[pyo3(signature = (eta = 0.01, n_iter = 10, random_state = None))]
    fn new(eta: f32, n_iter: usize, random_state: Option<u64>) -> Perceptron {
        let mut inner = neurite::teach::Perceptron::new(eta, n_iter);
        if let Some(seed) = random_state {
            inner = inner.shuffled(seed);
        }
        Perceptron { inner }
    }

    /// Learns from x (examples, features) and targets 1 or -1; returns the perceptron.
    fn fit<'py>(
        mut slf: PyRefMut<'py, Self>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let (x, y) = (tensor_from_numpy("x", x)?, tensor_from_numpy("y", y)?);
        slf.inner.fit(&x, &y).map_err(py_err)?;
        Ok(slf)
    }

    fn net_input<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let out = self.inner.net_input(&tensor_from_numpy("x", x)?).map_err(py_err)?;
        tensor_to_numpy(py, &out)
    }

    fn predict<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let out = self.inner.predict(&tensor_from_numpy("x", x)?).map_err(py_err)?;
        tensor_to_numpy(py, &out)
    }

    /// The weights, the bias first (`w_[0]`), as note 003 keeps them.
    #[getter]
    fn w_<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_vec(py, self.inner.weights())
    }

    /// Misclassified examples in each epoch.
    #[getter]
    fn errors_(&self) -> Vec<usize> {
        self.inner.errors().to_vec()
    }
}

/// Images and labels from NumPy as the library's [`Dataset`] of grey levels, which the
/// logistic models train on: integer arrays are grey levels `0..=max_value`; float arrays
/// are levels in 0..1 (as after `x / 255.0`), kept as `round(x * max_value)`. `x` is
/// (n, height, width) or (n, features); `y` gives the labels (class indices), or none for
/// predictions.
fn grey_dataset(
    name: &str,
    x: &Bound<'_, PyAny>,
    y: Option<&Bound<'_, PyAny>>,
    classes: usize,
    max_value: u8,
) -> PyResult<Dataset> {
    let array = numeric_array("x", x)?;
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    let (height, width) = match shape[..] {
        [_, h, w] => (h, w),
        [_, f] => (1, f),
        _ => {
            return Err(value_err(format!(
                "x: expected images (n, height, width) or rows (n, features), got an array of shape {}",
                shape_of(&shape)
            )))
        }
    };
    let is_float = array.getattr("dtype")?.getattr("kind")?.extract::<String>()? == "f";
    let values = f64_values(&array)?;
    let top = f64::from(max_value);
    let mut images = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        let level = if is_float { (v * top).round() } else { v };
        if !(0.0..=top).contains(&level) {
            let what = if is_float { "in 0..1" } else { "a grey level in 0..=max_value" };
            return Err(value_err(format!(
                "x: value {v} at flat index {i} of the array of shape {} is not {what} (max_value {max_value})",
                shape_of(&shape)
            )));
        }
        images.push(level as u8);
    }
    let n = shape[0];
    let labels = match y {
        None => vec![0; n],
        Some(y) => labels_of(y, n, classes)?,
    };
    Dataset::new(name, images, labels, height, width, classes, max_value).map_err(py_err)
}

/// The values of a numeric array as f64, in C order.
fn f64_values(array: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let np = array.py().import("numpy")?;
    let kwargs = PyDict::new(array.py());
    kwargs.set_item("dtype", np.getattr("float64")?)?;
    let flat = np.call_method("ascontiguousarray", (array,), Some(&kwargs))?.call_method0("ravel")?;
    let flat = flat.extract::<numpy::PyReadonlyArray1<f64>>()?;
    Ok(flat.as_slice().map_err(|e| value_err(format!("x: {e}")))?.to_vec())
}

/// Class labels `0..classes` for `n` examples.
fn labels_of(y: &Bound<'_, PyAny>, n: usize, classes: usize) -> PyResult<Vec<u8>> {
    let array = numeric_array("y", y)?;
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    if shape.len() != 1 || shape[0] != n {
        return Err(value_err(format!(
            "y: expected {n} class labels, shape ({n},), to go with x, got an array of shape {}",
            shape_of(&shape)
        )));
    }
    f64_values(&array)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v.fract() == 0.0 && v >= 0.0 && v < classes as f64 {
                Ok(v as u8)
            } else {
                Err(value_err(format!("y: label {v} of example {i} is not a class index in 0..{classes}")))
            }
        })
        .collect()
}

/// What the two logistic models share: their training options and the data's make-up
/// (classes, brightest grey level), fixed by `fit`.
struct Grey {
    options: LogisticOptions,
    max_value: Option<u8>,
    classes: usize,
    features: usize,
    history: Option<std::collections::HashMap<String, Vec<f64>>>,
}

/// The error of a teaching model used before `fit`.
fn not_fitted() -> PyErr {
    value_err("the model is not fitted yet: call fit(x, y) first".into())
}

impl Grey {
    /// The last fit's history, as the teaching models' `history_` gives it.
    fn history(&self) -> PyResult<std::collections::HashMap<String, Vec<f64>>> {
        self.history.clone().ok_or_else(not_fitted)
    }

    fn new(
        epochs: usize,
        learning_rate: f32,
        batch_size: usize,
        random_state: u64,
        validation_split: f64,
        threads: Option<usize>,
        max_value: Option<u8>,
    ) -> PyResult<Grey> {
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(value_err(format!("learning_rate must be a positive number, got {learning_rate}")));
        }
        let options = LogisticOptions {
            epochs,
            batch_size,
            optimizer: Optimizer::sgd().learning_rate(learning_rate),
            seed: random_state,
            validation_split,
            threads,
            verbose: Verbosity::Silent,
        };
        Ok(Grey { options, max_value, classes: 0, features: 0, history: None })
    }

    /// The training set: `max_value` is the one given, else 255 for floats and the
    /// brightest level of `x` for integers; classes, the largest label + 1 (at least 2).
    fn train_set(&mut self, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<Dataset> {
        let array = numeric_array("x", x)?;
        let max_value = match self.max_value {
            Some(m) => m,
            None if array.getattr("dtype")?.getattr("kind")?.extract::<String>()? == "f" => 255,
            None => {
                let top = f64_values(&array)?.into_iter().fold(0.0, f64::max);
                if top > 255.0 {
                    return Err(value_err(format!(
                        "x: grey level {top} is above 255; pass max_value or floats in 0..1"
                    )));
                }
                (top as u8).max(1)
            }
        };
        let top_label = f64_values(&numeric_array("y", y)?)?.into_iter().fold(0.0, f64::max);
        let classes = if (0.0..255.0).contains(&top_label) { top_label as usize + 1 } else { 256 };
        let data = grey_dataset("train", &array, Some(y), classes.max(2), max_value)?;
        (self.max_value, self.classes, self.features) = (Some(max_value), data.classes(), data.features());
        Ok(data)
    }

    /// Data to predict or score on, read as the training set was.
    fn data(&self, x: &Bound<'_, PyAny>, y: Option<&Bound<'_, PyAny>>) -> PyResult<Dataset> {
        let max_value = self.max_value.filter(|_| self.classes > 0).ok_or_else(not_fitted)?;
        let data = grey_dataset("data", x, y, self.classes, max_value)?;
        if data.features() != self.features {
            return Err(value_err(format!(
                "x: {} features per example, the model was fitted on {}",
                data.features(),
                self.features
            )));
        }
        Ok(data)
    }

    fn keep(&mut self, history: &neurite::train::History) {
        let keys = ["loss", "accuracy", "val_loss", "val_accuracy"];
        let has_val = history.epochs.first().is_some_and(|e| e.val_loss.is_some());
        let kept = keys.iter().filter(|k| has_val || !k.starts_with("val_"));
        self.history = Some(kept.map(|k| (k.to_string(), history.get(k))).collect());
    }
}

/// Note 002's "is it a `digit`?": logistic regression `sigmoid(x . w + b)` on all pixels,
/// one (`pixel=`), or the most telling one (`pixel="best"`), "yes" above 0.5, weights from
/// zero, trained by gradient descent on binary cross-entropy. The library's
/// `teach::DigitDetector`.
#[pyclass(module = "neurite._neurite")]
struct DigitDetector {
    grey: Grey,
    digit: u8,
    pixel: PixelChoice,
    inner: Option<neurite::teach::DigitDetector>,
}

/// The pixels a detector looks at, as asked: all, one by index, or the most telling one.
#[derive(Clone, Copy)]
enum PixelChoice {
    All,
    Best,
    One(usize),
}

#[pymethods]
impl DigitDetector {
    #[new]
    #[pyo3(signature = (digit = 5, *, pixel = None, epochs = 5, learning_rate = 0.1, batch_size = 32,
        random_state = 0, validation_split = 0.1, threads = None, max_value = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        digit: u8,
        pixel: Option<&Bound<'_, PyAny>>,
        epochs: usize,
        learning_rate: f32,
        batch_size: usize,
        random_state: u64,
        validation_split: f64,
        threads: Option<usize>,
        max_value: Option<u8>,
    ) -> PyResult<DigitDetector> {
        let pixel = match pixel {
            None => PixelChoice::All,
            Some(p) => match (p.extract::<String>(), p.extract::<usize>()) {
                (Ok(s), _) if s == "all" => PixelChoice::All,
                (Ok(s), _) if s == "best" => PixelChoice::Best,
                (_, Ok(i)) => PixelChoice::One(i),
                _ => return Err(value_err(format!("pixel: expected None, 'all', 'best' or a pixel index, got {p}"))),
            },
        };
        let grey = Grey::new(epochs, learning_rate, batch_size, random_state, validation_split, threads, max_value)?;
        Ok(DigitDetector { grey, digit, pixel, inner: None })
    }

    /// Learns "is it a `digit`?" from images x and their digit labels y; returns itself.
    fn fit<'py>(
        mut slf: PyRefMut<'py, Self>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let py = slf.py();
        let this = &mut *slf;
        let train = this.grey.train_set(x, y)?;
        let pixels = match this.pixel {
            PixelChoice::All => Pixels::All,
            PixelChoice::Best => Pixels::One(most_telling_pixel(&train, this.digit).map_err(py_err)?),
            PixelChoice::One(i) if i < train.features() => Pixels::One(i),
            PixelChoice::One(i) => {
                return Err(value_err(format!("pixel {i} is not one of the {} pixels of x", train.features())))
            }
        };
        let (digit, options) = (this.digit, &this.grey.options);
        let (detector, history) =
            py.detach(|| neurite::teach::DigitDetector::fit(&train, digit, pixels, options)).map_err(py_err)?;
        this.grey.keep(&history);
        this.inner = Some(detector);
        Ok(slf)
    }

    /// How sure it is that each image of x is the digit: `sigmoid(x . w + b)`, shape (n,).
    fn predict_proba<'py>(&mut self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let data = self.grey.data(x, None)?;
        Ok(PyArray1::from_vec(py, self.fitted()?.probabilities(&data).map_err(py_err)?))
    }

    /// True where the probability is above 0.5, shape (n,).
    fn predict<'py>(&mut self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<bool>>> {
        let data = self.grey.data(x, None)?;
        Ok(PyArray1::from_vec(py, self.fitted()?.predict(&data).map_err(py_err)?))
    }

    /// Accuracy, precision and recall of "is it a `digit`?" on images x with digit labels y.
    fn scores(
        &mut self,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
    ) -> PyResult<std::collections::HashMap<String, f64>> {
        let data = self.grey.data(x, Some(y))?;
        let s = self.fitted()?.scores(&data).map_err(py_err)?;
        Ok([("accuracy", s.accuracy()), ("precision", s.precision()), ("recall", s.recall())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect())
    }

    /// Accuracy of "is it a `digit`?" on x, y (scikit-learn's `score`).
    fn score(&mut self, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<f64> {
        let data = self.grey.data(x, Some(y))?;
        Ok(self.fitted()?.scores(&data).map_err(py_err)?.accuracy())
    }

    /// The weights `w`, one per pixel looked at, shape (features,) (or (1,) for one pixel).
    #[getter]
    fn coef_<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        tensor_to_numpy(py, &self.fitted()?.weights().map_err(py_err)?)
    }

    /// The bias `b`.
    #[getter]
    fn intercept_(&mut self) -> PyResult<f32> {
        self.fitted()?.bias().map_err(py_err)
    }

    /// The pixel looked at (row * width + column), or None for all of them.
    #[getter]
    fn pixel_(&mut self) -> PyResult<Option<usize>> {
        Ok(match self.fitted()?.pixels() {
            Pixels::One(i) => Some(i),
            Pixels::All => None,
        })
    }

    #[getter]
    fn digit(&self) -> u8 {
        self.digit
    }

    /// Loss and accuracy per epoch ({'loss': [...], 'accuracy': [...], 'val_loss': ...}).
    #[getter]
    fn history_(&self) -> PyResult<std::collections::HashMap<String, Vec<f64>>> {
        self.grey.history()
    }

    /// Draws the weights as an `height x width` picture (red negative, green positive).
    fn plot_weights(&mut self, path: PathBuf, height: usize, width: usize) -> PyResult<()> {
        neurite::plot::first_layer_weights(self.fitted()?.model(), (height, width), &path).map_err(py_err)
    }

    /// Saves the model (one `Dense(1, sigmoid)` layer) in neurite's format; `nt.models.load_model` reads it.
    fn save(&mut self, path: PathBuf) -> PyResult<()> {
        io::save_model(self.fitted()?.model(), &path).map_err(py_err)
    }
}

impl DigitDetector {
    fn fitted(&mut self) -> PyResult<&mut neurite::teach::DigitDetector> {
        self.inner.as_mut().ok_or_else(not_fitted)
    }
}

/// Note 002's ten "is it a k?" logistic regressions side by side, the most activated naming
/// the digit. The library's `teach::OneVsAll`.
#[pyclass(module = "neurite._neurite")]
struct OneVsAll {
    grey: Grey,
    inner: Option<neurite::teach::OneVsAll>,
}

#[pymethods]
impl OneVsAll {
    #[new]
    #[pyo3(signature = (*, epochs = 5, learning_rate = 0.1, batch_size = 32, random_state = 0,
        validation_split = 0.1, threads = None, max_value = None))]
    fn new(
        epochs: usize,
        learning_rate: f32,
        batch_size: usize,
        random_state: u64,
        validation_split: f64,
        threads: Option<usize>,
        max_value: Option<u8>,
    ) -> PyResult<OneVsAll> {
        let grey = Grey::new(epochs, learning_rate, batch_size, random_state, validation_split, threads, max_value)?;
        Ok(OneVsAll { grey, inner: None })
    }

    /// Learns one model per class from images x and labels y; returns itself.
    fn fit<'py>(
        mut slf: PyRefMut<'py, Self>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let py = slf.py();
        let this = &mut *slf;
        let train = this.grey.train_set(x, y)?;
        let options = &this.grey.options;
        let (ova, history) = py.detach(|| neurite::teach::OneVsAll::fit(&train, options)).map_err(py_err)?;
        this.grey.keep(&history);
        this.inner = Some(ova);
        Ok(slf)
    }

    /// Each model's `sigmoid(x . w_k + b_k)`, shape (n, classes).
    fn predict_proba<'py>(&mut self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let data = self.grey.data(x, None)?;
        tensor_to_numpy(py, &self.fitted()?.activations(&data).map_err(py_err)?)
    }

    /// The most activated model's class for each image, shape (n,).
    fn predict<'py>(&mut self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let data = self.grey.data(x, None)?;
        let classes = self.fitted()?.predict(&data).map_err(py_err)?;
        Ok(PyArray1::from_vec(py, classes.into_iter().map(|c| c as i64).collect()))
    }

    /// The confusion matrix on x, y: row = actual class, column = predicted, shape (classes, classes).
    fn confusion_matrix<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let data = self.grey.data(x, Some(y))?;
        let m = self.fitted()?.confusion(&data).map_err(py_err)?;
        let k = m.classes();
        let rows: Vec<Vec<i64>> = (0..k).map(|a| (0..k).map(|p| m.get(a, p) as i64).collect()).collect();
        PyArray2::from_vec2(py, &rows).map_err(|e| value_err(e.to_string()))
    }

    /// Accuracy on x, y (scikit-learn's `score`).
    fn score(&mut self, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<f64> {
        let data = self.grey.data(x, Some(y))?;
        self.fitted()?.accuracy(&data).map_err(py_err)
    }

    /// The weights, shape (features, classes): column k is model k's picture of a k.
    #[getter]
    fn coef_<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        tensor_to_numpy(py, &self.fitted()?.weights().map_err(py_err)?)
    }

    /// The biases, shape (classes,).
    #[getter]
    fn intercept_<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let b = self.fitted()?.model().params().get("dense/bias").map_err(py_err)?;
        tensor_to_numpy(py, &b)
    }

    /// Number of classes (models).
    #[getter]
    fn classes_(&mut self) -> PyResult<usize> {
        Ok(self.fitted()?.classes())
    }

    /// Loss and accuracy per epoch ({'loss': [...], 'accuracy': [...], 'val_loss': ...}).
    #[getter]
    fn history_(&self) -> PyResult<std::collections::HashMap<String, Vec<f64>>> {
        self.grey.history()
    }

    /// Draws each class's weights as an `height x width` picture.
    fn plot_weights(&mut self, path: PathBuf, height: usize, width: usize) -> PyResult<()> {
        neurite::plot::first_layer_weights(self.fitted()?.model(), (height, width), &path).map_err(py_err)
    }

    /// Saves the model (one `Dense(classes, sigmoid)` layer) in neurite's format.
    fn save(&mut self, path: PathBuf) -> PyResult<()> {
        io::save_model(self.fitted()?.model(), &path).map_err(py_err)
    }
}

impl OneVsAll {
    fn fitted(&mut self) -> PyResult<&mut neurite::teach::OneVsAll> {
        self.inner.as_mut().ok_or_else(not_fitted)
    }
}

/// Draws the loss and accuracy curves of a history ({name: [value per epoch]}) as PNG or SVG.
#[pyfunction]
fn plot_history(history: std::collections::HashMap<String, Vec<f64>>, path: PathBuf) -> PyResult<()> {
    let get = |k: &str| history.get(k).cloned().unwrap_or_default();
    let (loss, accuracy, val_loss, val_accuracy) = (get("loss"), get("accuracy"), get("val_loss"), get("val_accuracy"));
    let epochs = (0..loss.len())
        .map(|i| EpochLogs {
            epoch: i + 1,
            loss: loss[i],
            accuracy: accuracy.get(i).copied(),
            val_loss: val_loss.get(i).copied(),
            val_accuracy: val_accuracy.get(i).copied(),
            seconds: 0.0,
        })
        .collect();
    let history = neurite::train::History { epochs, stopped_early: false };
    neurite::plot::history_chart(&history, &path).map_err(py_err)
}

/// Draws a named activation and its derivative as PNG or SVG.
#[pyfunction]
fn plot_activation(name: &str, path: PathBuf) -> PyResult<()> {
    neurite::plot::activation_chart(parse(name)?, &path).map_err(py_err)
}

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
    m.add_function(wrap_pyfunction!(reads_in_place, m)?)?;
    m.add_function(wrap_pyfunction!(load_idx_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(load_digits, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
