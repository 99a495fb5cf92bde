//! The library's tensor (`neurite.Tensor`) and its activations on NumPy arrays.

#[allow(unused_imports)]
use super::*;

/// A named activation with its parameter (`alpha` of leaky ReLU and ELU) when given.
fn named_activation(name: &str, alpha: Option<f32>) -> PyResult<Activation> {
    let activation = match (parse::<Activation>(name)?, alpha) {
        (a, None) => a,
        (Activation::LeakyRelu { .. }, Some(alpha)) => Activation::LeakyRelu { alpha },
        (Activation::Elu { .. }, Some(alpha)) => Activation::Elu { alpha },
        (a, Some(_)) => return Err(value_err(format!("{}: takes no alpha (leaky_relu and elu do)", a.name()))),
    };
    activation.validate().map_err(py_err)?;
    Ok(activation)
}

/// Applies a named activation (`sigmoid`, `softmax`, `relu`, ...) to an array: the library's
/// kernels, as the layers use them. `alpha` is leaky ReLU's slope or ELU's scale below zero;
/// `axis` is softmax's (the last by default).
#[pyfunction]
#[pyo3(signature = (name, x, alpha = None, axis = None))]
pub(crate) fn activation<'py>(
    py: Python<'py>,
    name: &str,
    x: &Bound<'py, PyAny>,
    alpha: Option<f32>,
    axis: Option<isize>,
) -> PyResult<Bound<'py, PyAny>> {
    let t = tensor_from_numpy("x", x)?;
    let activation = named_activation(name, alpha)?;
    let out = match (activation, axis) {
        (Activation::Softmax, Some(axis)) => t.softmax(axis),
        (_, Some(_)) => return Err(value_err(format!("{}: takes no axis (softmax does)", activation.name()))),
        (_, None) => activation.forward(&t),
    };
    tensor_to_numpy(py, &out.map_err(py_err)?)
}

/// The derivative of a named activation, element by element.
#[pyfunction]
#[pyo3(signature = (name, x, alpha = None))]
pub(crate) fn activation_derivative<'py>(
    py: Python<'py>,
    name: &str,
    x: &Bound<'py, PyAny>,
    alpha: Option<f32>,
) -> PyResult<Bound<'py, PyAny>> {
    let t = tensor_from_numpy("x", x)?;
    let out = named_activation(name, alpha)?.derivative(&t).map_err(py_err)?;
    tensor_to_numpy(py, &out)
}

/// Each example's loss, as Keras' loss functions give it (`keras.losses.mean_squared_error(
/// y_true, y_pred)`): the library's [`Loss::per_example`], float32, of `y_pred`'s shape without
/// its last axis.
#[pyfunction]
#[pyo3(signature = (name, y_true, y_pred, from_logits = false))]
pub(crate) fn loss_values<'py>(
    py: Python<'py>,
    name: &str,
    y_true: &Bound<'py, PyAny>,
    y_pred: &Bound<'py, PyAny>,
    from_logits: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let loss = parse::<Loss>(name)?;
    let (target, output) = (tensor_from_numpy("y_true", y_true)?, tensor_from_numpy("y_pred", y_pred)?);
    tensor_to_numpy(py, &loss.per_example(&output, &target, from_logits).map_err(py_err)?)
}

/// One-hot rows of `classes` columns for class indices: the library's `data::one_hot`.
#[pyfunction]
pub(crate) fn one_hot<'py>(py: Python<'py>, labels: Vec<u32>, classes: usize) -> PyResult<Bound<'py, PyAny>> {
    tensor_to_numpy(py, &neurite::data::one_hot(&labels, classes).map_err(py_err)?)
}

/// Whether `x` would be read in place by fit, evaluate and predict (float32, C-contiguous,
/// two axes) rather than converted.
#[pyfunction]
pub(crate) fn reads_in_place(x: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(f32_rows("x", x, None, "")?.1)
}

/// The library's n-d f32 tensor, with NumPy in and out (`Tensor(array)`, `numpy()`,
/// `np.asarray(t)`), NumPy's broadcasting in `+ - * /` and comparisons, `@` and `dot` with
/// NumPy's rules, and the notes' operations; each is the library's.
#[pyclass(name = "Tensor", module = "neurite._neurite")]
pub(crate) struct PyTensor {
    t: Tensor,
}

/// The other operand of an arithmetic operator: a tensor, or anything NumPy makes numbers of.
pub(crate) fn operand(other: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if let Ok(t) = other.cast::<PyTensor>() {
        return Ok(t.borrow().t.clone());
    }
    if let Ok(v) = other.extract::<f64>() {
        return Ok(Tensor::scalar(v as f32));
    }
    tensor_from_numpy("operand", other)
}

pub(crate) fn wrap(t: neurite::Result<Tensor>) -> PyResult<PyTensor> {
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

    /// The shape, a tuple as NumPy's.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.t.shape())
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

    fn __ge__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.ge(&operand(other)?))
    }

    fn __le__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        wrap(self.t.le(&operand(other)?))
    }

    /// Element by element, as NumPy's `==` (1 where equal, else 0; the library's tensors hold
    /// float32). Something that is not numbers compares unequal to a tensor, as in NumPy.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = other.py();
        match operand(other) {
            Ok(o) => Ok(Py::new(py, wrap(self.t.eq_elem(&o))?)?.into_any()),
            Err(_) => Ok(false.into_pyobject(py)?.to_owned().into_any().unbind()),
        }
    }

    fn __ne__(&self, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = other.py();
        match operand(other) {
            Ok(o) => Ok(Py::new(py, wrap(self.t.ne_elem(&o))?)?.into_any()),
            Err(_) => Ok(true.into_pyobject(py)?.to_owned().into_any().unbind()),
        }
    }

    /// The truth of a one-element tensor; more elements are ambiguous, as in NumPy.
    fn __bool__(&self) -> PyResult<bool> {
        match self.t.size() {
            1 => Ok(self.t.to_vec()[0] != 0.0),
            n => Err(value_err(format!(
                "the truth value of a tensor with {n} elements is ambiguous: use (a == b).numpy().all() or .any()"
            ))),
        }
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

    /// The values as NumPy prints them (up to 8 significant digits, `...` past 1000
    /// values), in `tensor(...)`.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let np = py.import("numpy")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("separator", ", ")?;
        kwargs.set_item("prefix", "tensor(")?;
        let text: String = np.call_method("array2string", (self.numpy(py)?,), Some(&kwargs))?.extract()?;
        Ok(format!("tensor({text})"))
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        self.__repr__(py)
    }
}
