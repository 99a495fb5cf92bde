//! `neurite predict`: pictures in, classes and probabilities out. The pictures go through
//! the library's `data::image::to_model_input`, the same preprocessing the web page uses.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::model::ModelArgs;
use neurite::data::image::{self, Invert};
use neurite::error::Result;
use neurite::nn::Activation;
use neurite::Tensor;

/// Flags of `neurite predict`.
#[derive(Debug, Clone, Args)]
pub(crate) struct PredictArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// PNG or JPEG pictures of any size, grey or colour.
    #[arg(required = true, value_name = "IMAGE")]
    pub(crate) images: Vec<PathBuf>,
    /// Invert the pictures first: auto (when the border is light, i.e. dark ink on paper),
    /// yes, or no. MNIST digits are light on dark.
    #[arg(long, default_value = "auto")]
    pub(crate) invert: Invert,
    /// Print one JSON object and nothing else on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `neurite predict`.
pub(crate) fn run(args: &PredictArgs) -> Result<()> {
    let mut model = args.model.load()?;
    let side = image::input_side(model.input_dim().unwrap_or(0))?;
    let mut inputs = Vec::with_capacity(args.images.len() * side * side);
    for path in &args.images {
        let picture = image::load(path)?;
        let input = image::to_model_input(&picture, side, args.invert).map_err(|e| {
            neurite::Error::Value(format!(
                "{}: {}",
                path.display(),
                e.to_string().trim_start_matches("invalid value: ")
            ))
        })?;
        inputs.extend(input);
    }
    let x = Tensor::from_vec(inputs, &[args.images.len(), side * side])?;
    let y = model.predict(&x)?;
    let classes = y.shape()[1];
    let softmax = model.layers().last().is_some_and(|l| l.activation_fn() == Activation::Softmax);
    let what = if softmax { "probabilities" } else { "outputs" };
    let rows: Vec<Vec<f32>> = y.to_vec().chunks_exact(classes).map(<[f32]>::to_vec).collect();
    let best = |r: &[f32]| r.iter().enumerate().fold(0, |b, (i, &v)| if v > r[b] { i } else { b });
    if args.json {
        let out: Vec<_> = args
            .images
            .iter()
            .zip(&rows)
            .map(|(p, r)| json!({"image": p.display().to_string(), "class": best(r), what: r}))
            .collect();
        println!("{}", json!({ "predictions": out }));
    } else {
        for (path, r) in args.images.iter().zip(&rows) {
            let c = best(r);
            let values: Vec<String> = r.iter().enumerate().map(|(i, v)| format!("{i}:{v:.4}")).collect();
            println!("{}: class {c} ({what} {})", path.display(), values.join(" "));
        }
    }
    Ok(())
}
