//! Getting examples into memory as bytes and out as normalised f32 batches: the IDX reader,
//! MNIST and Fashion-MNIST (found locally or downloaded with checksums), the bundled 8x8
//! digits, one-hot encoding, seeded shuffling and splits; and [`image`], pictures (PNG,
//! JPEG, a canvas' pixels) made into a digit model's input the way MNIST's digits were.
//!
//! Your own data: [`Table`] reads a CSV table (numeric features, a target of class names or
//! numbers) and standardises it; [`ImageFolder`] lists `DIR/<class>/*.png|jpg` and reads the
//! pictures from disk one batch at a time, so a folder larger than memory trains. Each gives
//! a [`Schema`] (columns and their standardisation, or picture size and colour, and the
//! class names) that a model stores in its file, so that `eval` and `predict` read new data
//! the same way.
//!
//! ```
//! let (train, test) = neurite::data::Dataset::digits()?;
//! assert_eq!((train.len(), test.len(), train.features()), (1437, 360, 64));
//! // As Keras' load_data: the grey levels as they are (0..16 for these digits).
//! let (x, y) = test.raw_tensors();
//! assert_eq!(x.shape(), &[360, 8, 8]);
//! assert_eq!(x.max()?.item()?, 16.0);
//! // The notes' preparation, done: flattened and divided by the brightest level.
//! let (x, _) = test.normalized_tensors();
//! assert_eq!(x.shape(), &[360, 64]);
//! assert_eq!(x.max()?.item()?, 1.0);
//! # Ok::<(), neurite::Error>(())
//! ```

mod batches;
mod csv_parse;
mod dataset;
mod decimal;
pub mod digits;
pub mod folder;
pub mod idx;
pub mod image;
pub mod mnist;
mod pages;
mod schema;
mod standardise;
pub mod table;

use std::path::Path;

pub use batches::{BatchSource, Batches};
pub use dataset::{one_hot, Dataset};
pub use folder::{BadImages, ImageFolder, ImageFolderOptions};
pub use mnist::DatasetName;
pub use schema::{Color, ImageSchema, Schema, TableSchema, Task};
pub use table::{CsvOptions, Table};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Where Keras' `validation_split` cuts `n` examples: the first `floor(n (1 - fraction))`
/// train, the rest validate. A fraction outside [0, 1), or one that leaves either part empty
/// (for a fraction above 0), is an error.
///
/// ```
/// assert_eq!(neurite::data::validation_split_point(1797, 0.2)?, 1437);
/// assert_eq!(neurite::data::validation_split_point(60000, 0.1)?, 54000);
/// assert_eq!(neurite::data::validation_split_point(10, 0.0)?, 10);
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn validation_split_point(n: usize, fraction: f64) -> Result<usize> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::Value(format!("validation_split must be in [0, 1), got {fraction}")));
    }
    let train = (n as f64 * (1.0 - fraction)).floor() as usize;
    if fraction > 0.0 && (train == 0 || train == n) {
        return Err(Error::Value(format!(
            "validation_split {fraction} of {n} examples leaves {train} for training and {} for validation",
            n - train
        )));
    }
    Ok(train)
}

/// The examples a seeded test split holds out of `n`: the last `fraction` of them (cut as
/// [`validation_split_point`] cuts) after shuffling with `seed`, in their original order.
/// A table and a folder of pictures split this way.
pub(crate) fn test_split_rows(n: usize, fraction: f64, seed: u64) -> Result<Vec<usize>> {
    let train = validation_split_point(n, fraction)?;
    let mut order: Vec<usize> = (0..n).collect();
    crate::rng::Rng::new(seed).shuffle(&mut order);
    let mut test = order.split_off(train);
    test.sort_unstable();
    Ok(test)
}

/// Keras' `load_data`: `((x_train, y_train), (x_test, y_test))` with `x` of shape (n,
/// height, width) holding the raw grey levels (0..255 for MNIST) and `y` the labels, found as
/// [`load`] finds them. The notes go on with `x / 255.0` and `reshape(-1, 784)`.
///
/// ```no_run
/// use neurite::data::{load_data, DatasetName};
/// let ((x_train, y_train), (x_test, y_test)) = load_data(DatasetName::Mnist, None)?;
/// assert_eq!(x_train.shape(), &[60000, 28, 28]);
/// let x_train = (&x_train / 255.0).reshape(&[-1, 784])?;
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn load_data(name: DatasetName, dir: Option<&Path>) -> Result<((Tensor, Tensor), (Tensor, Tensor))> {
    let (train, test) = load(name, dir)?;
    Ok((train.raw_tensors(), test.raw_tensors()))
}

/// Loads the training and test parts of a data set: the digits from the bundle, MNIST or
/// Fashion-MNIST from the first place of [`mnist::search_path`] that has them (no download:
/// see [`mnist::download`]).
pub fn load(name: DatasetName, dir: Option<&Path>) -> Result<(Dataset, Dataset)> {
    match name {
        DatasetName::Digits => digits::load_digits(),
        _ => {
            let found = mnist::find_dir(name, dir).ok_or_else(|| {
                let looked: Vec<String> = mnist::search_path(name, dir).iter().map(|p| p.display().to_string()).collect();
                Error::Io(format!(
                    "{name} not found (looked in {}); pass --data DIR with the four IDX files, set NEURITE_DATA, or let neurite download them",
                    looked.join(", ")
                ))
            })?;
            mnist::load_mnist_dir(&found, name)
        }
    }
}
