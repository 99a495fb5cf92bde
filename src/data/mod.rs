//! Getting examples into memory as bytes and out as normalised f32 batches: the IDX reader,
//! MNIST and Fashion-MNIST (found locally or downloaded with checksums), the bundled 8x8
//! digits, one-hot encoding, seeded shuffling and splits.
//!
//! ```
//! let (train, test) = neurite::data::Dataset::digits()?;
//! assert_eq!((train.len(), test.len(), train.features()), (1437, 360, 64));
//! let (x, y) = test.to_tensors();
//! assert_eq!(x.shape(), &[360, 64]);
//! assert!(x.max()?.item()? <= 1.0);
//! # Ok::<(), neurite::Error>(())
//! ```

mod dataset;
pub mod digits;
pub mod idx;
pub mod mnist;

use std::path::Path;

pub use dataset::{one_hot, Batches, Dataset};
pub use mnist::DatasetName;

use crate::error::{Error, Result};

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
