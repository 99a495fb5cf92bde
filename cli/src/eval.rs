//! `neurite eval` and `neurite summary`: a model from a file, its layer table, and its loss
//! and accuracy on a test set.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::model::ModelArgs;
use crate::paths;
use crate::show;
use crate::sources;
use neurite::data::{self, BadImages, Dataset, DatasetName, ImageFolder, Schema, Task};
use neurite::error::{Error, Result};
use neurite::nn::Loss;
use neurite::optim::Optimizer;
use neurite::train::{Examples, Metric, Sequential};

/// Flags of `neurite eval`.
#[derive(Debug, Clone, Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Directory with the IDX files (else $NEURITE_DATA, ./data/DATASET, the cache).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// mnist, fashion-mnist or digits (default: mnist for 784 inputs, digits for 64).
    #[arg(long)]
    pub(crate) dataset: Option<DatasetName>,
    /// The loss to report, for a model saved without one (default: sparse_categorical_crossentropy).
    #[arg(long)]
    pub(crate) loss: Option<Loss>,
    /// Also write the model's outputs for every test image to this .npy file, shape
    /// (examples, outputs), float32: for comparing with another framework's.
    #[arg(long, value_name = "PATH")]
    pub(crate) outputs: Option<PathBuf>,
    /// For a model trained with `train --csv`: a CSV with its feature columns and target
    /// column, read with its standardisation.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "dataset", "images"])]
    pub(crate) csv: Option<PathBuf>,
    /// For a model trained with `train --images`: a folder of pictures in the same layout
    /// (DIR/<class>/*.png|jpg), resized as in training.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "dataset"])]
    pub(crate) images: Option<PathBuf>,
    /// With --images: a picture that cannot be read is an error (fail) or left out (skip)
    /// [default: fail].
    // No clap default: given without --images it does nothing, and is refused.
    #[arg(long, requires = "images")]
    pub(crate) bad_images: Option<BadImages>,
    /// Print one JSON object and nothing else on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Flags of `neurite summary`.
#[derive(Debug, Clone, Args)]
pub(crate) struct SummaryArgs {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    /// Print one JSON object (the architecture and training record) instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The test set of the data set the flags name, or the one the model's input size implies.
fn test_set(args: &EvalArgs, features: usize) -> Result<(DatasetName, Dataset)> {
    let name = match (args.dataset, features) {
        (Some(n), _) => n,
        (None, 784) => DatasetName::Mnist,
        (None, 64) => DatasetName::Digits,
        (None, f) => {
            return Err(Error::Value(format!(
                "the model takes {f} features, which no known data set has: name one with --dataset"
            )))
        }
    };
    // A --data that is not used, or not there, is an error: falling back to another copy
    // (or to the bundled digits) would evaluate on data the user did not name.
    if let Some(dir) = &args.data {
        if name == DatasetName::Digits {
            return Err(Error::Value(format!(
                "--data {}: the digits are bundled with neurite and read from no folder; --data names a folder of IDX files for --dataset mnist or fashion-mnist",
                dir.display()
            )));
        }
        if !dir.is_dir() {
            return Err(Error::Io(format!(
                "--data {}: no such directory (it should hold {name}'s four IDX files)",
                dir.display()
            )));
        }
    }
    let (_, test) = data::load(name, args.data.as_deref())?;
    Ok((name, test))
}

/// Compiles a model that was saved without a loss, so that it can be evaluated.
pub(crate) fn ensure_compiled(model: &mut Sequential, loss: Option<Loss>) -> Result<()> {
    match (model.loss(), loss) {
        (Some(have), Some(want)) if have != want => model.compile(Optimizer::adam(), want, &[Metric::Accuracy]),
        (Some(_), _) => Ok(()),
        (None, loss) => {
            model.compile(Optimizer::adam(), loss.unwrap_or(Loss::SparseCategoricalCrossentropy), &[Metric::Accuracy])
        }
    }
}

/// Runs `neurite eval`.
pub(crate) fn run(args: &EvalArgs) -> Result<()> {
    if let Some(path) = &args.outputs {
        let mut inputs = vec![("the model being evaluated", args.model.path()?.as_path())];
        inputs.extend(args.csv.as_deref().map(|p| ("the table of --csv", p)));
        paths::check_output("--outputs", path, &inputs)?;
    }
    let mut model = args.model.load()?;
    if args.csv.is_some() || args.images.is_some() || model.schema().is_some() {
        return run_own(args, &mut model);
    }
    let features = model.input_dim().unwrap_or(0);
    let (name, test) = test_set(args, features)?;
    ensure_compiled(&mut model, args.loss)?;
    let eval = model.evaluate_with(&test)?;
    if let Some(path) = &args.outputs {
        neurite::io::npy::save_npy(path, &model.predict_with(&test)?)?;
    }
    if args.json {
        let out = json!({
            "model": args.model.path()?.display().to_string(),
            "dataset": name.as_str(),
            "test_examples": test.len(),
            "parameters": model.param_count(),
            "threads": model.threads(),
            "test_loss": eval.loss,
            "test_accuracy": eval.accuracy,
        });
        println!("{out}");
    } else {
        println!("{name}: {} test images of {}x{}", test.len(), test.image_shape().0, test.image_shape().1);
        println!("{}", show::block(&model.summary()));
        println!("test_loss={:.4} test_accuracy={:.4}", eval.loss, eval.accuracy);
    }
    Ok(())
}

/// `neurite eval` of a model trained on a table or a folder of pictures, on a file or folder
/// read the way its training data was.
fn run_own(args: &EvalArgs, model: &mut Sequential) -> Result<()> {
    if let Some((flag, value)) = [
        ("--data", args.data.as_ref().map(|d| d.display().to_string())),
        ("--dataset", args.dataset.map(|d| d.to_string())),
    ]
    .into_iter()
    .find_map(|(flag, value)| Some((flag, value?)))
    {
        return Err(Error::Value(format!(
            "{flag} {value} names an IDX data set, and {} was trained on your own data: evaluate it with --csv FILE or --images DIR",
            args.model.path()?.display()
        )));
    }
    let data: Box<dyn Examples> = match (&args.csv, &args.images) {
        (Some(path), _) => {
            let table = sources::table_for(model, path)?;
            if !table.has_targets() {
                let target = &sources::table_schema(model, "--csv")?.target;
                return Err(Error::Value(format!(
                    "--csv {}: no column {target:?} to evaluate against (neurite predict --csv gives the model's answers)",
                    path.display()
                )));
            }
            Box::new(table)
        }
        (None, Some(dir)) => {
            let folder = ImageFolder::open_with(
                dir,
                sources::image_schema(model, "--images")?,
                args.bad_images.unwrap_or(BadImages::Fail),
            )?;
            sources::warn_skipped(&folder);
            Box::new(folder)
        }
        (None, None) => {
            let flag = match model.schema() {
                Some(Schema::Table(_)) => "--csv FILE (a table with the same columns)",
                _ => "--images DIR (class folders of pictures)",
            };
            return Err(Error::Value(format!("the model was trained on your own data: give {flag} to evaluate it on")));
        }
    };
    let regression = matches!(model.schema(), Some(Schema::Table(t)) if t.task == Task::Regression);
    let default_loss = if regression { Loss::MeanSquaredError } else { Loss::SparseCategoricalCrossentropy };
    ensure_compiled(model, Some(args.loss.or(model.loss()).unwrap_or(default_loss)))?;
    let where_ = args.csv.as_ref().or(args.images.as_ref()).map(|p| p.display().to_string()).unwrap_or_default();
    let mut out = json!({
        "model": args.model.path()?.display().to_string(),
        "data": where_,
        "test_examples": data.len(),
        "parameters": model.param_count(),
        "threads": model.threads(),
    });
    if regression {
        let r = model.evaluate_regression(data.as_ref())?;
        out["test_mse"] = json!(r.mse);
        out["test_rmse"] = json!(r.rmse);
        out["test_mae"] = json!(r.mae);
        out["test_r2"] = json!(r.r2);
        if !args.json {
            println!("{where_}: {} rows", data.len());
            println!("{}", show::block(&model.summary()));
            println!("test_mse={:.6} test_rmse={:.6} test_mae={:.6} test_r2={:.4}", r.mse, r.rmse, r.mae, r.r2);
        }
    } else {
        let e = model.evaluate_with(data.as_ref())?;
        out["test_loss"] = json!(e.loss);
        out["test_accuracy"] = json!(e.accuracy);
        if !args.json {
            let classes = model.schema().map(|s| s.class_names().join(", ")).unwrap_or_default();
            let classes = show::name(&classes);
            println!("{where_}: {} examples; classes: {classes}", data.len());
            println!("{}", show::block(&model.summary()));
            println!("test_loss={:.4} test_accuracy={:.4}", e.loss, e.accuracy);
        }
    }
    if let Some(path) = &args.outputs {
        neurite::io::npy::save_npy(path, &model.predict_with(data.as_ref())?)?;
    }
    if args.json {
        println!("{out}");
    }
    Ok(())
}

/// Runs `neurite summary`.
pub(crate) fn run_summary(args: &SummaryArgs) -> Result<()> {
    let model = args.model.load()?;
    let state = model.optimizer_state();
    if args.json {
        let out = json!({
            "model": args.model.path()?.display().to_string(),
            "architecture": model.config(),
            "parameters": model.param_count(),
            "inputs": model.input_dim(),
            "input_shape": model.input_shape(),
            "outputs": model.output_units(),
            "loss": model.loss().map(|l| l.name()),
            "optimizer": state.map(|s| s.optimizer()),
            "iterations": state.map(|s| s.iterations()),
            "data": model.schema(),
        });
        println!("{out}");
    } else {
        println!("{}", show::block(&model.summary()));
        match (model.loss(), state) {
            (Some(loss), Some(s)) => println!(
                "Compiled: loss {}, optimizer {} after {} steps (training can continue: train --init-from)",
                loss.name(),
                s.optimizer(),
                s.iterations()
            ),
            _ => println!("Not compiled: no loss or optimiser state in the file"),
        }
        match model.schema() {
            Some(Schema::Table(t)) => println!(
                "Data: a table; columns {} (standardised), target {:?} ({}){}",
                show::name(&t.columns.join(", ")),
                t.target,
                t.task,
                if t.classes.is_empty() {
                    String::new()
                } else {
                    format!("; classes {}", show::name(&t.classes.join(", ")))
                }
            ),
            Some(Schema::Images(i)) => println!(
                "Data: pictures resized to {}x{} {}; classes {}",
                i.width,
                i.height,
                i.color,
                show::name(&i.classes.join(", "))
            ),
            None => {}
        }
    }
    Ok(())
}
