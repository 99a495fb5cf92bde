//! `neurite eval` and `neurite summary`: a model from a file, its layer table, and its loss
//! and accuracy on a test set.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::model::ModelArgs;
use neurite::data::{self, Dataset, DatasetName};
use neurite::error::{Error, Result};
use neurite::nn::Loss;
use neurite::optim::Optimizer;
use neurite::train::{Metric, Sequential};

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
    let mut model = args.model.load()?;
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
        println!("{}", model.summary());
        println!("test_loss={:.4} test_accuracy={:.4}", eval.loss, eval.accuracy);
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
            "outputs": model.layers().last().map(|l| l.units()),
            "loss": model.loss().map(|l| l.name()),
            "optimizer": state.map(|s| s.optimizer()),
            "iterations": state.map(|s| s.iterations()),
        });
        println!("{out}");
    } else {
        println!("{}", model.summary());
        match (model.loss(), state) {
            (Some(loss), Some(s)) => println!(
                "Compiled: loss {}, optimizer {} after {} steps (training can continue: train --init-from)",
                loss.name(),
                s.optimizer(),
                s.iterations()
            ),
            _ => println!("Not compiled: no loss or optimiser state in the file"),
        }
    }
    Ok(())
}
