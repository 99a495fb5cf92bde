//! `neurite logistic`: note 002's logistic regression on MNIST, "is it a 5?" from one pixel
//! and from all of them against the "never a 5" baseline, or ten one-vs-all models.

use std::path::PathBuf;

use clap::Args;

use neurite::error::{Error, Result};
use neurite::optim::Optimizer;
use neurite::plot;
use neurite::teach::{most_telling_pixel, never_scores, DigitDetector, LogisticOptions, OneVsAll, Pixels};
use neurite::train::Verbosity;

use crate::budget;
use crate::paths;
use crate::pictures;

/// Flags of `neurite logistic`.
#[derive(Debug, Clone, Args)]
pub(crate) struct LogisticArgs {
    /// The digit to detect ("is it a 5?"; the default question).
    #[arg(long, conflicts_with = "one_vs_all", allow_negative_numbers = true)]
    digit: Option<u8>,
    /// Ten models, one per digit; the most activated names the digit.
    #[arg(long)]
    one_vs_all: bool,
    /// Directory with MNIST's four IDX files (else $NEURITE_DATA, ./data/mnist, the cache;
    /// without MNIST, the bundled 8x8 digits).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Write the pictures (weights, history; for one-vs-all also errors, confusion matrix,
    /// layers) into this directory.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Passes over the training data.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    epochs: usize,
    /// Learning rate of gradient descent.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    lr: f32,
    /// Examples per gradient step.
    #[arg(long, default_value_t = 32, allow_negative_numbers = true)]
    batch_size: usize,
    /// Seed of the shuffling (the weights start at zero).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// Threads (default: all cores). Results are identical for a given seed and count.
    #[arg(long, allow_negative_numbers = true)]
    threads: Option<usize>,
    /// Save the (all-pixel or one-vs-all) model to this safetensors file.
    #[arg(long, value_name = "PATH")]
    save: Option<PathBuf>,
}

/// Runs `neurite logistic`.
pub(crate) fn run(args: &LogisticArgs) -> Result<()> {
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(Error::Value(format!("--lr must be a positive number, got {}", args.lr)));
    }
    if args.epochs == 0 {
        return Err(Error::Value("--epochs 0: a run of no epochs trains nothing; give at least 1".into()));
    }
    // Each of the (up to ten) models keeps a record per epoch, before the data is read.
    let models = if args.one_vs_all { 10 } else { 1 };
    budget::check_fits(
        &format!("--epochs {}", args.epochs),
        "the record of every epoch",
        budget::product(&[args.epochs, models, 2 * std::mem::size_of::<neurite::train::EpochLogs>()]),
        "give fewer --epochs",
    )?;
    // The outputs are checked before the data is read and the models trained.
    if let Some(path) = &args.save {
        paths::check_output("--save", path, &[])?;
    }
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("--plot {}: {e}", dir.display())))?;
        paths::check_output("--plot", &dir.join("weights.png"), &[])?;
    }
    let (train, test) = pictures::find_data(args.data.as_deref())?;
    let (h, w) = train.image_shape();
    println!("{}: {} training and {} test images of {h}x{w}", train.name(), train.len(), test.len());
    let options = LogisticOptions {
        epochs: args.epochs,
        batch_size: args.batch_size,
        optimizer: Optimizer::sgd().learning_rate(args.lr),
        seed: args.seed,
        threads: args.threads,
        verbose: Verbosity::EpochLines,
        ..LogisticOptions::default()
    };
    if args.one_vs_all {
        return one_vs_all(args, &options, &train, &test);
    }
    let digit = args.digit.unwrap_or(5);
    println!(
        "is it a {digit}? logistic regression sigmoid(x . w + b), \"yes\" above 0.5; {} epochs of gradient descent (learning rate {}, batch {}), weights from zero",
        args.epochs, args.lr, args.batch_size
    );
    let pixel = most_telling_pixel(&train, digit)?;
    println!(
        "\none pixel: row {}, column {} (where {digit}s differ most from the rest on average)",
        pixel / w,
        pixel % w
    );
    let (mut one, _) = DigitDetector::fit(&train, digit, Pixels::One(pixel), &options)?;
    let one_scores = one.scores(&test)?;
    println!("\nall {} pixels and a bias", train.features());
    let (mut all, history) = DigitDetector::fit(&train, digit, Pixels::All, &options)?;
    let scores = all.scores(&test)?;
    let never = never_scores(&test, digit)?;
    println!("\non the {} test images:", test.len());
    println!("one pixel:           {one_scores}");
    println!("all pixels and bias: {scores}");
    println!("never a {digit}:          {never}");
    println!(
        "(\"never a {digit}\" is right {:.1}% of the time and finds no {digit}: accuracy alone says little when one answer is rare; precision and recall tell)",
        100.0 * never.accuracy()
    );
    if let Some(dir) = &args.plot {
        pictures::history(&history, dir)?;
        let weights = all.weights()?;
        let weights = weights.reshape(&[weights.size() as isize, 1])?;
        let path = pictures::out_dir(dir)?.join("weights.png");
        let title = format!("is it a {digit}? weights (red negative, green positive)");
        plot::weight_images(&weights, (h, w), &[digit.to_string()], &title, &path)?;
        pictures::wrote(&path);
    }
    if let Some(path) = &args.save {
        neurite::io::save_model(all.model(), path)?;
        println!("saved the model to {}", path.display());
    }
    println!("test_accuracy={:.4}", scores.accuracy());
    Ok(())
}

fn one_vs_all(
    args: &LogisticArgs,
    options: &LogisticOptions,
    train: &neurite::data::Dataset,
    test: &neurite::data::Dataset,
) -> Result<()> {
    println!(
        "one-vs-all: {} logistic regressions \"is it a k?\", the most activated names the digit; {} epochs of gradient descent (learning rate {} for each model, batch {}), weights from zero",
        train.classes(),
        args.epochs,
        args.lr,
        args.batch_size
    );
    let (mut ova, history) = OneVsAll::fit(train, options)?;
    let confusion = ova.confusion(test)?;
    println!("\non the {} test images, the share of each digit found:", test.len());
    for k in 0..confusion.classes() {
        let total: usize = (0..confusion.classes()).map(|p| confusion.get(k, p)).sum();
        println!("  {k}: {}/{total} = {:.4}", confusion.get(k, k), confusion.get(k, k) as f64 / total.max(1) as f64);
    }
    if let Some(dir) = &args.plot {
        pictures::history(&history, dir)?;
        let labels: Vec<String> = (0..ova.classes()).map(|k| k.to_string()).collect();
        let path = pictures::out_dir(dir)?.join("weights.png");
        let title = "one-vs-all: each digit's weights (red negative, green positive, black near zero)";
        plot::weight_images(&ova.weights()?, train.image_shape(), &labels, title, &path)?;
        pictures::wrote(&path);
        pictures::layers(ova.model(), test, 0, dir)?;
        pictures::errors(ova.model_mut(), test, 40, dir)?;
    }
    if let Some(path) = &args.save {
        neurite::io::save_model(ova.model(), path)?;
        println!("saved the model to {}", path.display());
    }
    println!("test_accuracy={:.4}", confusion.accuracy());
    Ok(())
}
