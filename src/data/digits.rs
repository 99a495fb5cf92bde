//! The bundled 8x8 handwritten digits (UCI, via scikit-learn; see `assets/digits/README.md`),
//! compiled into the library so that it works offline and from any directory.

use super::idx::read_gzip_idx;
use super::Dataset;
use crate::error::{Error, Result};
use crate::rng::Rng;

const IMAGES: &[u8] = include_bytes!("../../assets/digits/digits-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("../../assets/digits/digits-labels-idx1-ubyte.gz");

/// The fixed seed of the train/test split, so every run sees the same split.
const SPLIT_SEED: u64 = 1797;
/// Examples in the training part (80%); the other 360 are the test part.
pub const DIGITS_TRAIN: usize = 1437;

/// All 1,797 digits in their original order.
pub fn load_all_digits() -> Result<Dataset> {
    let images = read_gzip_idx(IMAGES, "digits images")?;
    let labels = read_gzip_idx(LABELS, "digits labels")?;
    if images.dims != [1797, 8, 8] || labels.dims != [1797] {
        return Err(Error::Format(format!("bundled digits have dims {:?} and {:?}", images.dims, labels.dims)));
    }
    Dataset::new("digits", images.data, labels.data, 8, 8, 10, 16)
}

/// The digits split into 1,437 training and 360 test examples by a seeded shuffle.
pub fn load_digits() -> Result<(Dataset, Dataset)> {
    let all = load_all_digits()?.shuffled(&mut Rng::new(SPLIT_SEED));
    let (train, test) = all.split_at(DIGITS_TRAIN)?;
    Ok((rename(train, "digits-train")?, rename(test, "digits-test")?))
}

fn rename(d: Dataset, name: &str) -> Result<Dataset> {
    let (h, w) = d.image_shape();
    let (classes, max) = (d.classes(), d.max_value());
    Dataset::new(name, d.images().to_vec(), d.labels().to_vec(), h, w, classes, max)
}
