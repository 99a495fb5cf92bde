//! `neurite predict`: pictures in, classes and probabilities out. The pictures go through
//! the library's `data::image::to_model_input`, the same preprocessing the web page uses.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::model::ModelArgs;
use neurite::data::image::{self, Invert};
use neurite::error::Result;
use neurite::nn::layer::batch_shape_str;
use neurite::nn::Activation;
use neurite::train::Sequential;
use neurite::Tensor;

/// Flags of `neurite predict`.
#[derive(Debug, Clone, Args)]
pub(crate) struct PredictArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// PNG or JPEG pictures of any size, grey or colour.
    #[arg(required_unless_present = "csv", value_name = "IMAGE")]
    pub(crate) images: Vec<PathBuf>,
    /// For a model trained with `train --csv`: a CSV of rows with its feature columns (the
    /// target column may be left out); one prediction per row.
    #[arg(long, value_name = "FILE", conflicts_with = "images")]
    pub(crate) csv: Option<PathBuf>,
    /// Invert the pictures first: auto (when the border is light, i.e. dark ink on paper),
    /// yes, or no. MNIST digits are light on dark. For an MNIST-style model only
    /// [default: auto].
    // No clap default: given for a table or a model of your own pictures (which are read as
    // in training, never inverted), it does nothing, and is refused.
    #[arg(long)]
    pub(crate) invert: Option<Invert>,
    /// Print one JSON object and nothing else on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `neurite predict`.
pub(crate) fn run(args: &PredictArgs) -> Result<()> {
    let mut model = args.model.load()?;
    if let (Some(invert), true) = (args.invert, args.csv.is_some() || model.schema().is_some()) {
        let reads = if args.csv.is_some() { "the rows of --csv" } else { "pictures as the model was trained on them" };
        return Err(neurite::Error::Value(format!(
            "--invert {} does nothing here: predict reads {reads}, never inverted; leave it out",
            format!("{invert:?}").to_lowercase()
        )));
    }
    if let Some(path) = &args.csv {
        return run_table(args, &mut model, path);
    }
    if model.schema().is_some() {
        return run_folder_model(args, &mut model);
    }
    let mut inputs = Vec::with_capacity(args.images.len() * model.input_dim().unwrap_or(0));
    for path in &args.images {
        inputs.extend(picture_input(&model, path, args.invert)?);
    }
    let x = examples(&model, inputs, args.images.len())?;
    let y = model.predict(&x)?;
    let classes = y.shape()[1];
    let softmax = model.output_activation() == Some(Activation::Softmax);
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
            println!("{}: class {c} ({what} {})", crate::show::name(&path.display().to_string()), values.join(" "));
        }
    }
    Ok(())
}

/// One picture as the model's input values: resized and coloured as in training for a model
/// of a folder of pictures, else (an MNIST-style model) centred, inverted as `invert` says
/// and scaled to the model's square grey input, as the web page does.
pub(crate) fn picture_input(model: &Sequential, path: &Path, invert: Option<Invert>) -> Result<Vec<f32>> {
    if model.schema().is_some() {
        let schema = crate::sources::image_schema(model, "predict")?;
        return image::load_resized(path, schema.height, schema.width, schema.color);
    }
    let side = picture_side(model)?;
    let picture = image::load(path)?;
    image::to_model_input(&picture, side, invert.unwrap_or(Invert::Auto)).map_err(|e| {
        neurite::Error::Value(format!("{}: {}", path.display(), e.to_string().trim_start_matches("invalid value: ")))
    })
}

/// The side of the square grey pictures an MNIST-style model reads: from its input shape,
/// `(28, 28, 1)` for a convnet, else the square root of its number of inputs (784 for an MLP).
fn picture_side(model: &Sequential) -> Result<usize> {
    let shape = model.input_shape().unwrap_or_default();
    match shape[..] {
        [h, w, 1] | [h, w] if h == w => Ok(h),
        [_] | [] => image::input_side(model.input_dim().unwrap_or(0)),
        _ => {
            let first = model.layers().first().map_or("the model", |l| l.name().unwrap_or(l.class_name()));
            Err(neurite::Error::Shape(format!(
                "the model's first layer ({first}) takes examples of shape {}, not square grey pictures \
                 (height, width, 1), and its file has no picture size or colour (a model trained with \
                 train --images has them): predict cannot read pictures for it",
                batch_shape_str(&shape)
            )))
        }
    }
}

/// `n` examples' values as the model takes them: shape (n, height, width, channels) for a
/// model whose input is an image (a convnet), (n, features) for one of flat inputs.
fn examples(model: &Sequential, values: Vec<f32>, n: usize) -> Result<Tensor> {
    let mut shape = vec![n];
    match model.input_shape() {
        Some(s) if s.len() > 1 => shape.extend(s),
        _ => shape.push(values.len() / n.max(1)),
    }
    Tensor::from_vec(values, &shape)
}

/// The index of the largest value.
fn best(r: &[f32]) -> usize {
    r.iter().enumerate().fold(0, |b, (i, &v)| if v > r[b] { i } else { b })
}

/// The class a row of outputs stands for, and its name (one sigmoid output: the second
/// class when over 0.5).
fn class_of<'a>(r: &[f32], names: &'a [String]) -> (usize, &'a str) {
    let c = if r.len() == 1 { usize::from(r[0] > 0.5) } else { best(r) };
    (c, names.get(c).map_or("", String::as_str))
}

/// Prints the outputs of rows named by `labels`: class names and probabilities for a
/// classifier, the value for a regressor.
fn print_rows(args: &PredictArgs, model: &Sequential, key: &str, labels: &[String], y: &Tensor) {
    let names: Vec<String> = model.schema().map(|s| s.class_names().to_vec()).unwrap_or_default();
    let outputs = y.shape()[1];
    let values = y.to_vec();
    let rows: Vec<&[f32]> = values.chunks_exact(outputs.max(1)).collect();
    let softmax = model.output_activation() == Some(Activation::Softmax);
    let what = if softmax { "probabilities" } else { "outputs" };
    if args.json {
        let out: Vec<_> = labels
            .iter()
            .zip(&rows)
            .map(|(v, r)| {
                // A row's number as a number, a picture's path as text.
                let v = v.parse::<u64>().map_or_else(|_| json!(v), |n| json!(n));
                if names.is_empty() {
                    json!({ key: v, "value": r[0] })
                } else {
                    let (c, name) = class_of(r, &names);
                    json!({ key: v, "class": c, "name": name, what: r })
                }
            })
            .collect();
        println!("{}", json!({ "predictions": out }));
        return;
    }
    for (v, r) in labels.iter().zip(&rows) {
        let shown = if key == "row" { format!("row {v}") } else { crate::show::name(v).into_owned() };
        if names.is_empty() {
            println!("{shown}: {}", r[0]);
        } else {
            let (_, name) = class_of(r, &names);
            let name = crate::show::name(name);
            let values: Vec<String> = if r.len() == 1 {
                vec![format!("{}:{:.4}", crate::show::name(names.get(1).map_or("1", String::as_str)), r[0])]
            } else {
                r.iter().zip(&names).map(|(p, n)| format!("{}:{p:.4}", crate::show::name(n))).collect()
            };
            println!("{shown}: {name} ({what} {})", values.join(" "));
        }
    }
}

/// `predict --csv`: one answer per row of a table, read with the model's columns and
/// standardisation.
fn run_table(args: &PredictArgs, model: &mut Sequential, path: &std::path::Path) -> Result<()> {
    let table = crate::sources::table_for(model, path)?;
    let y = model.predict_with(&table)?;
    // Rows are numbered from 1 in file order (the header is not a row).
    let labels: Vec<String> = (1..=table.len()).map(|row| row.to_string()).collect();
    print_rows(args, model, "row", &labels, &y);
    Ok(())
}

/// Pictures for a model trained on a folder of pictures: resized and coloured as in
/// training, answered with class names.
fn run_folder_model(args: &PredictArgs, model: &mut Sequential) -> Result<()> {
    let schema = crate::sources::image_schema(model, "predict")?.clone();
    let mut inputs = Vec::with_capacity(args.images.len() * schema.features());
    for path in &args.images {
        inputs.extend(picture_input(model, path, None)?);
    }
    let x = examples(model, inputs, args.images.len())?;
    let y = model.predict(&x)?;
    let labels: Vec<String> = args.images.iter().map(|p| p.display().to_string()).collect();
    print_rows(args, model, "image", &labels, &y);
    Ok(())
}
