//! The pictures that `train --plot`, `logistic --plot` and `plot` write: which library
//! drawing goes to which file, and where the data for them comes from.

use std::path::{Path, PathBuf};

use neurite::data::{self, mnist, Dataset, DatasetName};
use neurite::error::{Error, Result};
use neurite::plot;
use neurite::teach::{predicted_classes, ConfusionMatrix};
use neurite::train::{History, Sequential};

/// The training and test images: MNIST from `--data DIR` (an error when it is not there),
/// else MNIST where `neurite train` looks for it, else the bundled 8x8 digits (said on
/// stderr). Nothing is downloaded.
pub(crate) fn find_data(dir: Option<&Path>) -> Result<(Dataset, Dataset)> {
    if dir.is_some() {
        return data::load(DatasetName::Mnist, dir);
    }
    match mnist::find_dir(DatasetName::Mnist, None) {
        Some(found) => mnist::load_mnist_dir(&found, DatasetName::Mnist),
        None => {
            eprintln!("MNIST not found (pass --data DIR or set NEURITE_DATA); using the bundled 8x8 digits");
            data::digits::load_digits()
        }
    }
}

/// The data set a saved model was trained on, by its number of inputs: the bundled digits
/// for 64, MNIST for 784.
pub(crate) fn data_for(model: &Sequential, dir: Option<&Path>) -> Result<(Dataset, Dataset)> {
    match model.input_dim() {
        Some(64) if dir.is_none() => data::digits::load_digits(),
        Some(784) => match dir.map(PathBuf::from).or_else(|| mnist::find_dir(DatasetName::Mnist, None)) {
            Some(found) => data::load(DatasetName::Mnist, Some(&found)),
            None => Err(Error::Io(format!(
                "the model takes 28x28 images but MNIST is not in {}: pass --data DIR",
                mnist::search_path(DatasetName::Mnist, None)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
        Some(n) if dir.is_some() => find_data(dir).and_then(|(train, test)| {
            if train.features() == n {
                Ok((train, test))
            } else {
                Err(Error::Shape(format!("the model takes {n} inputs, the images have {}", train.features())))
            }
        }),
        other => Err(Error::Shape(format!(
            "the model takes {} inputs: neither MNIST's 784 nor the bundled digits' 64",
            other.unwrap_or(0)
        ))),
    }
}

/// The image shape of `n` inputs: square (28x28 for MNIST, 8x8 for the digits).
pub(crate) fn image_shape(n: usize) -> Result<(usize, usize)> {
    let side = (n as f64).sqrt().round() as usize;
    if side * side == n && n > 0 {
        Ok((side, side))
    } else {
        Err(Error::Shape(format!("{n} inputs are not a square image, so the weights cannot be drawn as one")))
    }
}

/// Creates `dir` and returns it.
pub(crate) fn out_dir(dir: &Path) -> Result<&Path> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    Ok(dir)
}

/// Says where a picture went.
pub(crate) fn wrote(path: &Path) {
    println!("wrote {}", path.display());
}

/// `history.png` and `history.svg`: loss and accuracy per epoch.
pub(crate) fn history(history: &History, dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = out_dir(dir)?;
    let paths = vec![dir.join("history.png"), dir.join("history.svg")];
    for path in &paths {
        plot::history_chart(history, path)?;
        wrote(path);
    }
    Ok(paths)
}

/// Whether the model reads images (height, width, channels): a convnet.
pub(crate) fn takes_images(model: &Sequential) -> bool {
    model.input_shape().is_some_and(|s| s.len() == 3)
}

/// `filters.png`: the filters of the convolution layer named `layer` (the first when `None`).
pub(crate) fn filters(model: &Sequential, layer: Option<&str>, dir: &Path) -> Result<PathBuf> {
    let path = out_dir(dir)?.join("filters.png");
    let count = plot::conv_filters(model, layer, &path)?;
    println!("wrote {} ({count} filter images)", path.display());
    Ok(path)
}

/// `feature_maps.png`: the feature maps of every convolution and pooling layer for one image
/// (its values in the model's input shape).
pub(crate) fn feature_maps(model: &Sequential, image: &[f32], label: Option<usize>, dir: &Path) -> Result<PathBuf> {
    let path = out_dir(dir)?.join("feature_maps.png");
    let count = plot::feature_maps(model, image, label, &path)?;
    println!("wrote {} ({count} feature maps)", path.display());
    Ok(path)
}

/// `weights.png`: the first layer's units as images; for a convnet, `filters.png`.
pub(crate) fn weights(model: &Sequential, dir: &Path) -> Result<PathBuf> {
    if takes_images(model) {
        return filters(model, None, dir);
    }
    let shape = image_shape(model.input_dim().unwrap_or(0))?;
    let path = out_dir(dir)?.join("weights.png");
    plot::first_layer_weights(model, shape, &path)?;
    wrote(&path);
    Ok(path)
}

/// `layers.png`: the activations of every layer for test image `index`; for a convnet,
/// `feature_maps.png`.
pub(crate) fn layers(model: &Sequential, test: &Dataset, index: usize, dir: &Path) -> Result<PathBuf> {
    let image = test.image(index).ok_or_else(|| {
        Error::Index(format!("--index {index} is past the {} test images of {}", test.len(), test.name()))
    })?;
    let scale = f32::from(test.max_value());
    let pixels: Vec<f32> = image.iter().map(|&b| f32::from(b) / scale).collect();
    if takes_images(model) {
        return feature_maps(model, &pixels, Some(usize::from(test.labels()[index])), dir);
    }
    let path = out_dir(dir)?.join("layers.png");
    plot::layers_picture(model, &pixels, test.image_shape(), Some(usize::from(test.labels()[index])), &path)?;
    wrote(&path);
    Ok(path)
}

/// `errors.png` and `confusion.png`: the test images the model gets wrong, and its
/// confusion matrix; returns the test accuracy.
pub(crate) fn errors(model: &mut Sequential, test: &Dataset, max_images: usize, dir: &Path) -> Result<f64> {
    let dir = out_dir(dir)?;
    let predicted = predicted_classes(model, test)?;
    let path = dir.join("errors.png");
    plot::misclassified_grid(test, &predicted, max_images, &path)?;
    wrote(&path);
    let actual: Vec<usize> = test.labels().iter().map(|&l| usize::from(l)).collect();
    let confusion = ConfusionMatrix::new(&actual, &predicted, test.classes())?;
    let path = dir.join("confusion.png");
    plot::confusion_chart(&confusion, &path)?;
    wrote(&path);
    Ok(confusion.accuracy())
}

/// Everything about a trained model and its training: history, weights, layers (the first
/// test image), errors and confusion matrix.
pub(crate) fn all(model: &mut Sequential, history: &History, test: &Dataset, dir: &Path) -> Result<()> {
    self::history(history, dir)?;
    weights(model, dir)?;
    layers(model, test, 0, dir)?;
    errors(model, test, 40, dir)?;
    Ok(())
}
