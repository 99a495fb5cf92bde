//! `neurite plot`: the pictures of a saved model or history, or of the activation functions.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use neurite::error::{Error, Result};
use neurite::plot;
use neurite::train::History;

use crate::pictures;

/// Flags of `neurite plot`.
#[derive(Debug, Clone, Args)]
pub(crate) struct PlotArgs {
    #[command(subcommand)]
    what: PlotWhat,
    /// Directory the pictures go to (created if missing).
    #[arg(long, value_name = "DIR", default_value = "plots", global = true)]
    out: PathBuf,
}

#[derive(Debug, Clone, Subcommand)]
enum PlotWhat {
    /// Each activation function with its derivative, one chart each (PNG and SVG) and an
    /// overview.
    Activations,
    /// Loss and accuracy per epoch from a history: the JSON of `neurite train --history
    /// FILE`, or the whole output of `neurite train --json`.
    History {
        /// The JSON file.
        file: PathBuf,
    },
    /// The first layer's weights of a saved model (`neurite train --save`), one image per
    /// unit: red negative, green positive, black near zero.
    Weights {
        /// The model file (safetensors).
        model: PathBuf,
    },
    /// The activations of every layer of a saved model for one test image.
    Layers {
        /// The model file (safetensors).
        model: PathBuf,
        /// Directory with MNIST (for a model of 784 inputs).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Which test image.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        index: usize,
    },
    /// The filters of a convolution layer of a saved model: one small image per filter and
    /// input channel (per filter when the input has one channel), red negative, green
    /// positive, black near zero.
    Filters {
        /// The model file (safetensors).
        model: PathBuf,
        /// Which Conv2D layer, by name (`neurite summary` lists them) [default: the first].
        #[arg(long, value_name = "NAME")]
        layer: Option<String>,
    },
    /// The feature maps of every convolution and pooling layer of a saved convnet for one
    /// image: a test image (--index), or a picture file (--image) read as `predict` reads it.
    FeatureMaps {
        /// The model file (safetensors).
        model: PathBuf,
        /// Directory with MNIST (for a model of 28x28 inputs).
        #[arg(long, value_name = "DIR", conflicts_with = "image")]
        data: Option<PathBuf>,
        /// Which test image.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true, conflicts_with = "image")]
        index: usize,
        /// A PNG or JPEG picture instead of a test image.
        #[arg(long, value_name = "FILE")]
        image: Option<PathBuf>,
    },
    /// The test images a saved model gets wrong, and its confusion matrix.
    Errors {
        /// The model file (safetensors).
        model: PathBuf,
        /// Directory with MNIST (for a model of 784 inputs).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// At most this many images in the grid.
        #[arg(long, default_value_t = 40, allow_negative_numbers = true)]
        max: usize,
    },
}

/// Runs `neurite plot`.
pub(crate) fn run(args: &PlotArgs) -> Result<()> {
    let out = args.out.as_path();
    match &args.what {
        PlotWhat::Activations => {
            for path in plot::activation_charts(out)? {
                pictures::wrote(&path);
            }
        }
        PlotWhat::History { file } => {
            pictures::history(&read_history(file)?, out)?;
        }
        PlotWhat::Weights { model } => {
            pictures::weights(&neurite::io::load_model(model)?, out)?;
        }
        PlotWhat::Layers { model, data, index } => {
            let model = neurite::io::load_model(model)?;
            let (_, test) = pictures::data_for(&model, data.as_deref())?;
            pictures::layers(&model, &test, *index, out)?;
        }
        PlotWhat::Filters { model, layer } => {
            pictures::filters(&neurite::io::load_model(model)?, layer.as_deref(), out)?;
        }
        PlotWhat::FeatureMaps { model, data, index, image } => {
            let model = neurite::io::load_model(model)?;
            if !pictures::takes_images(&model) {
                return Err(Error::Shape(format!(
                    "the model takes examples of shape {}, not images (height, width, channels): it has no feature maps (neurite plot layers draws its activations)",
                    neurite::nn::layer::batch_shape_str(&model.input_shape().unwrap_or_default())
                )));
            }
            match image {
                Some(path) => {
                    let values = crate::predict::picture_input(&model, path, None)?;
                    pictures::feature_maps(&model, &values, None, out)?;
                }
                None if model.schema().is_some() => {
                    return Err(Error::Value(
                        "the model was trained on your own pictures (train --images): give --image FILE to draw its feature maps for".into(),
                    ))
                }
                None => {
                    let (_, test) = pictures::data_for(&model, data.as_deref())?;
                    pictures::layers(&model, &test, *index, out)?;
                }
            }
        }
        PlotWhat::Errors { model, data, max } => {
            let mut model = neurite::io::load_model(model)?;
            let (_, test) = pictures::data_for(&model, data.as_deref())?;
            let accuracy = pictures::errors(&mut model, &test, *max, out)?;
            println!("test_accuracy={accuracy:.4}");
        }
    }
    Ok(())
}

/// A history from JSON: a `History` itself, or an object with one under `"history"` (the
/// output of `neurite train --json`).
fn read_history(path: &Path) -> Result<History> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::Format(format!("{}: not JSON: {e}", path.display())))?;
    let history = value.get("history").cloned().unwrap_or(value);
    serde_json::from_value(history).map_err(|e| {
        Error::Format(format!("{}: not a training history (from train --history or --json): {e}", path.display()))
    })
}
