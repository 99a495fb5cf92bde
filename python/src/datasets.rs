//! MNIST, Fashion-MNIST and the bundled digits as Keras gives them.

#[allow(unused_imports)]
use super::*;

pub(crate) fn dataset_arrays<'py>(py: Python<'py>, d: &Dataset) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (h, w) = d.image_shape();
    let images = PyArray1::from_slice(py, d.images()).reshape(vec![d.len(), h, w])?.into_any();
    let labels = PyArray1::from_slice(py, d.labels()).into_any();
    Ok((images, labels))
}

pub(crate) type Split<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

/// MNIST or Fashion-MNIST as Keras gives them: ((x_train, y_train), (x_test, y_test)), uint8,
/// images of shape (n, 28, 28). Looks in `path` when given, else where the library looks
/// ($NEURITE_DATA, ./data/NAME, the cache); when it is in none of them and `download`, fetches
/// it into the cache with its checksums checked, as Keras does. `OSError` names every place.
#[pyfunction]
#[pyo3(signature = (name, path = None, download = true))]
pub(crate) fn load_idx_dataset<'py>(
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
pub(crate) fn load_digits(py: Python<'_>) -> PyResult<(Split<'_>, Split<'_>)> {
    let (train, test) = Dataset::digits().map_err(py_err)?;
    Ok((dataset_arrays(py, &train)?, dataset_arrays(py, &test)?))
}
