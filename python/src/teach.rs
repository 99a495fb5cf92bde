//! The notes' teaching models from Python: the perceptron, note 002's logistic regressions,
//! and their pictures.

#[allow(unused_imports)]
use super::*;

/// The notes' Rosenblatt perceptron (note 003): weights `w_` (bias first), `fit` with
/// targets 1 or -1, `errors_` per epoch, `net_input`, `predict`. The library's
/// `teach::Perceptron`; `neurite.teach.Perceptron` wraps it with note 003's names (`rate`,
/// `niter`, `weight`, `errors`) and labels other than 1/-1.
#[pyclass(module = "neurite._neurite")]
pub(crate) struct Perceptron {
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

/// The output, 0 or 1, of a logic gate (`and`, `or`, `nand`, `xor`) for inputs `a` and `b`,
/// computed as the library's `teach::Gate::fire` computes it: one perceptron with hand-set
/// weights for AND, OR and NAND; for XOR the notes' two layers, `AND(NAND(a, b), OR(a, b))`.
#[pyfunction]
pub(crate) fn gate_output(name: &str, a: bool, b: bool) -> PyResult<u8> {
    Ok(u8::from(parse::<neurite::teach::Gate>(name)?.fire(a, b).map_err(py_err)?))
}

/// The hand-set weights (bias first) of the perceptron computing a gate; XOR has none.
#[pyfunction]
pub(crate) fn gate_weights(name: &str) -> PyResult<Vec<f32>> {
    Ok(parse::<neurite::teach::Gate>(name)?.perceptron().map_err(py_err)?.weights())
}

/// XOR learned by backpropagation: the library's `teach::learn_xor` (a 2-`hidden`-1 network of
/// tanh and sigmoid, Adam on binary cross-entropy, full batch, one thread), the model
/// `neurite perceptron --gate xor` trains, and its history ({'loss': [...], 'accuracy': [...]}).
#[pyfunction]
pub(crate) fn learn_xor(
    py: Python<'_>,
    hidden: usize,
    seed: u64,
    epochs: usize,
) -> PyResult<(Model, std::collections::HashMap<String, Vec<f64>>)> {
    let (model, history) = py.detach(|| neurite::teach::learn_xor(hidden, seed, epochs)).map_err(py_err)?;
    let history = ["loss", "accuracy"].iter().map(|k| (k.to_string(), history.get(k))).collect();
    Ok((Model::wrapping(model), history))
}

/// Images and labels from NumPy as the library's [`Dataset`] of grey levels, which the
/// logistic models train on: integer arrays are grey levels `0..=max_value`; float arrays
/// are levels in 0..1 (as after `x / 255.0`), kept as `round(x * max_value)`. `x` is
/// (n, height, width) or (n, features); `y` gives the labels (class indices), or none for
/// predictions.
pub(crate) fn grey_dataset(
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
pub(crate) fn f64_values(array: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let np = array.py().import("numpy")?;
    let kwargs = PyDict::new(array.py());
    kwargs.set_item("dtype", np.getattr("float64")?)?;
    let flat = np.call_method("ascontiguousarray", (array,), Some(&kwargs))?.call_method0("ravel")?;
    let flat = flat.extract::<numpy::PyReadonlyArray1<f64>>()?;
    Ok(flat.as_slice().map_err(|e| value_err(format!("x: {e}")))?.to_vec())
}

/// Class labels `0..classes` for `n` examples.
pub(crate) fn labels_of(y: &Bound<'_, PyAny>, n: usize, classes: usize) -> PyResult<Vec<u8>> {
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
pub(crate) struct Grey {
    options: LogisticOptions,
    max_value: Option<u8>,
    classes: usize,
    features: usize,
    history: Option<std::collections::HashMap<String, Vec<f64>>>,
}

/// The error of a teaching model used before `fit`.
pub(crate) fn not_fitted() -> PyErr {
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
pub(crate) struct DigitDetector {
    grey: Grey,
    digit: u8,
    pixel: PixelChoice,
    inner: Option<neurite::teach::DigitDetector>,
}

/// The pixels a detector looks at, as asked: all, one by index, or the most telling one.
#[derive(Clone, Copy)]
pub(crate) enum PixelChoice {
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
pub(crate) struct OneVsAll {
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
pub(crate) fn plot_history(history: std::collections::HashMap<String, Vec<f64>>, path: PathBuf) -> PyResult<()> {
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
pub(crate) fn plot_activation(name: &str, path: PathBuf) -> PyResult<()> {
    neurite::plot::activation_chart(parse(name)?, &path).map_err(py_err)
}
