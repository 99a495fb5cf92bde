//! The library's `Sequential` seen from Python (`neurite._neurite.Model`), and model files.

#[allow(unused_imports)]
use super::*;

/// A neurite model (the library's `Sequential`) seen from Python. The package's
/// `neurite.Sequential` wraps it with Keras' argument conventions.
#[pyclass(module = "neurite._neurite")]
pub(crate) struct Model {
    model: Sequential,
}

impl Model {
    /// The library's model, as Python's `neurite.Sequential` wraps it (`models._from_core`).
    pub(crate) fn wrapping(model: Sequential) -> Model {
        Model { model }
    }
}

pub(crate) fn parse<T: std::str::FromStr<Err = Error>>(text: &str) -> PyResult<T> {
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

    /// Draws the kernels of the `Conv2D` layer named `layer` (the first when `None`);
    /// returns how many images it drew.
    #[pyo3(signature = (path, layer = None))]
    fn plot_conv_filters(&self, path: PathBuf, layer: Option<String>) -> PyResult<usize> {
        neurite::plot::conv_filters(&self.model, layer.as_deref(), &path).map_err(py_err)
    }

    /// Draws one image (its values in the model's input shape, 0 to 1) and the feature maps
    /// of every convolution and pooling layer; returns how many feature maps it drew.
    #[pyo3(signature = (path, image, label = None))]
    fn plot_feature_maps(&self, path: PathBuf, image: Vec<f32>, label: Option<usize>) -> PyResult<usize> {
        neurite::plot::feature_maps(&self.model, &image, label, &path).map_err(py_err)
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
pub(crate) fn load_model(path: PathBuf, activation: Option<&str>, output_activation: Option<&str>) -> PyResult<Model> {
    let activations = io::Activations {
        hidden: activation.map(parse::<Activation>).transpose()?,
        output: output_activation.map(parse::<Activation>).transpose()?,
    };
    let model = io::load_any(&path, activations).map_err(py_err)?;
    Ok(Model { model })
}
