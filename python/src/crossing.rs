//! NumPy arrays in and out, and neurite's errors as Python exceptions: the crossing every
//! call makes.

#[allow(unused_imports)]
use super::*;

/// A neurite error as the Python exception a NumPy or Keras user expects: files are
/// `OSError`, indices `IndexError`, a fit stopped by divergence `RuntimeError`, the rest
/// (shapes, values, corrupt files) `ValueError`; the message is neurite's.
pub(crate) fn py_err(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::Io(_) => PyOSError::new_err(message),
        Error::Index(_) => PyIndexError::new_err(message),
        Error::Stopped(_) => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

pub(crate) fn value_err(message: String) -> PyErr {
    PyValueError::new_err(message)
}

/// NumPy's spelling of a shape: `(60000, 28, 28)`, `(3,)`.
pub(crate) fn shape_of(shape: &[usize]) -> String {
    neurite::error::shape_str(shape)
}

/// `obj` as an array of numbers (lists too), or a `ValueError` naming its dtype and shape.
pub(crate) fn numeric_array<'py>(what: &str, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
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
pub(crate) fn f32_rows<'py>(
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
pub(crate) fn class_labels(what: &str, obj: &Bound<'_, PyAny>, n: usize, classes: usize) -> PyResult<Vec<u32>> {
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
pub(crate) enum Targets<'py> {
    Classes(Vec<u32>, usize),
    Rows(PyReadonlyArray2<'py, f32>),
}

impl<'py> Targets<'py> {
    pub(crate) fn read(what: &str, y: &Bound<'py, PyAny>, n: usize, model: &Sequential) -> PyResult<Targets<'py>> {
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

    pub(crate) fn examples<'a>(&'a self, x: SliceExamples<'a>) -> neurite::Result<SliceExamples<'a>> {
        match self {
            Targets::Classes(labels, classes) => x.with_classes(labels, *classes),
            Targets::Rows(rows) => {
                let width = rows.shape()[1];
                x.with_rows(rows.as_slice().map_err(|e| Error::Value(e.to_string()))?, width)
            }
        }
    }
}

pub(crate) fn rows_of<'a>(array: &'a PyReadonlyArray2<'_, f32>) -> PyResult<SliceExamples<'a>> {
    let slice = array.as_slice().map_err(|e| value_err(e.to_string()))?;
    SliceExamples::new(slice, array.shape()[1]).map_err(py_err)
}

pub(crate) fn tensor_to_numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let array = PyArray1::from_vec(py, t.to_vec());
    Ok(array.reshape(t.shape().to_vec())?.into_any())
}

pub(crate) fn tensor_from_numpy(what: &str, obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let array = numeric_array(what, obj)?;
    let np = obj.py().import("numpy")?;
    let kwargs = PyDict::new(obj.py());
    kwargs.set_item("dtype", np.getattr("float32")?)?;
    // `asarray(order="C")` keeps a number 0-d, where `ascontiguousarray` makes it (1,).
    kwargs.set_item("order", "C")?;
    let array = np.call_method("asarray", (array,), Some(&kwargs))?;
    let array = array.extract::<numpy::PyReadonlyArrayDyn<f32>>()?;
    let values = array.as_slice().map_err(|e| value_err(format!("{what}: {e}")))?;
    Tensor::from_vec(values.to_vec(), array.shape()).map_err(py_err)
}
