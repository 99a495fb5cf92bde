//! `neurite train`: the notes' Keras program with a flag for every choice.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use neurite::data::{self, mnist, Dataset, DatasetName};
use neurite::error::{Error, Result};
use neurite::nn::{Activation, Dense, Initializer, Loss};
use neurite::optim::Optimizer;
use neurite::train::{FitOptions, Metric, Sequential, Verbosity};

/// Flags of `neurite train`; the defaults reproduce the notes' program.
#[derive(Debug, Clone, Args)]
pub(crate) struct TrainArgs {
    /// Directory with the four IDX files (else $NEURITE_DATA, ./data/DATASET, the cache).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// mnist, fashion-mnist or digits (the bundled 8x8 set). Naming one makes its absence
    /// an error instead of a fallback to the digits.
    #[arg(long)]
    pub(crate) dataset: Option<DatasetName>,
    /// Hidden layer sizes, comma separated (`--hidden 128,64`).
    #[arg(long, default_value = "50", value_delimiter = ',', num_args = 1.., allow_negative_numbers = true)]
    pub(crate) hidden: Vec<usize>,
    /// Activation of the hidden layers: sigmoid, tanh, relu, leaky_relu, elu, linear, step.
    #[arg(long, default_value = "sigmoid")]
    pub(crate) activation: Activation,
    /// Activation of the output layer.
    #[arg(long, default_value = "softmax")]
    pub(crate) output_activation: Activation,
    /// Weight initialiser: glorot_uniform, glorot_normal, he_uniform, he_normal, uniform, normal, zeros.
    #[arg(long, default_value = "glorot_uniform")]
    pub(crate) init: Initializer,
    /// sgd, momentum, nesterov, adagrad, rmsprop or adam (Keras' defaults).
    #[arg(long, default_value = "adam")]
    pub(crate) optimizer: Optimizer,
    /// Learning rate (default: the optimiser's Keras default).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) lr: Option<f32>,
    /// sparse_categorical_crossentropy, categorical_crossentropy, mse, half_mse, binary_crossentropy.
    #[arg(long, default_value = "sparse_categorical_crossentropy")]
    pub(crate) loss: Loss,
    /// Examples per gradient step.
    #[arg(long, default_value_t = 32, allow_negative_numbers = true)]
    pub(crate) batch_size: usize,
    /// Passes over the training data.
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    pub(crate) epochs: usize,
    /// Seed of the weights and the shuffling: the same seed gives the same numbers.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub(crate) seed: u64,
    /// Fraction of the training data held out for validation (from its end, as Keras).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(crate) validation_split: f64,
    /// Threads (default: all cores). Results are identical for a given seed and count.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threads: Option<usize>,
    /// Start from this model file (train --save, import, or any format import reads) instead
    /// of new weights; its optimiser state, when it has one, continues. The architecture
    /// flags are then ignored.
    #[arg(long, value_name = "FILE")]
    pub(crate) init_from: Option<PathBuf>,
    /// Save the trained model (safetensors with the architecture) to this file.
    #[arg(long, value_name = "PATH")]
    pub(crate) save: Option<PathBuf>,
    /// Print one JSON object with the history and test results, and nothing else on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Never download: only use local files.
    #[arg(long)]
    pub(crate) offline: bool,
}

/// Finds, downloads or falls back to the data, as the flags ask.
fn load_data(args: &TrainArgs, progress: bool) -> Result<(DatasetName, Dataset, Dataset)> {
    let name = args.dataset.unwrap_or(DatasetName::Mnist);
    if name == DatasetName::Digits {
        let (train, test) = data::digits::load_digits()?;
        return Ok((name, train, test));
    }
    if let Some(dir) = mnist::find_dir(name, args.data.as_deref()) {
        let (train, test) = mnist::load_mnist_dir(&dir, name)?;
        return Ok((name, train, test));
    }
    let looked: Vec<String> =
        mnist::search_path(name, args.data.as_deref()).iter().map(|p| p.display().to_string()).collect();
    let download = match (args.offline, mnist::cache_dir(name)) {
        (true, _) => Err(Error::Io("--offline".into())),
        (false, None) => Err(Error::Io("no cache directory (HOME is not set)".into())),
        (false, Some(dest)) => {
            eprintln!("{name} not found locally; downloading it to {}", dest.display());
            mnist::download(name, &dest, progress).map(|_| dest)
        }
    };
    match download {
        Ok(dest) => {
            let (train, test) = mnist::load_mnist_dir(&dest, name)?;
            Ok((name, train, test))
        }
        Err(e) if args.dataset.is_none() => {
            eprintln!(
                "training on the bundled 8x8 digits instead: {name} is not in {} and could not be downloaded ({e})",
                looked.join(", ")
            );
            let (train, test) = data::digits::load_digits()?;
            Ok((DatasetName::Digits, train, test))
        }
        Err(e) => Err(Error::Io(format!(
            "{name} was not found (looked in {}) and could not be downloaded ({e}). Put the four files \
             (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) \
             in a directory and pass --data DIR or set NEURITE_DATA",
            looked.join(", ")
        ))),
    }
}

/// Builds the model the flags describe.
pub(crate) fn build_model(args: &TrainArgs, features: usize, classes: usize) -> Result<Sequential> {
    let mut model = Sequential::with_seed(args.seed);
    if let Some(t) = args.threads {
        let cores = Sequential::default_threads();
        if t > cores {
            eprintln!(
                "warning: --threads {t} is more than the {cores} cores here: every step waits for threads that share cores, so training will be slower than with --threads {cores}"
            );
        }
        model.set_threads(t)?;
    }
    let mut inputs = Some(features);
    for &units in &args.hidden {
        let mut layer = Dense::new(units).activation(args.activation).kernel_initializer(args.init);
        if let Some(n) = inputs.take() {
            layer = layer.input_shape(n);
        }
        model.add(layer)?;
    }
    let mut out = Dense::new(classes).activation(args.output_activation).kernel_initializer(args.init);
    if let Some(n) = inputs {
        out = out.input_shape(n);
    }
    model.add(out)?;
    let optimizer = match args.lr {
        Some(lr) => args.optimizer.learning_rate(lr),
        None => args.optimizer,
    };
    model.compile(optimizer, args.loss, &[Metric::Accuracy])?;
    Ok(model)
}

/// The model of `--init-from`, compiled: with the optimiser state it was saved with, or with
/// the flags' optimiser and loss when the file has none. Also says which.
fn continue_from(path: &std::path::Path, args: &TrainArgs) -> Result<(Sequential, String)> {
    let activations = neurite::io::Activations { hidden: Some(args.activation), output: Some(args.output_activation) };
    let mut model = neurite::io::load_any(path, activations)?;
    if let Some(t) = args.threads {
        model.set_threads(t)?;
    }
    let note = match (model.loss(), model.optimizer_state()) {
        (Some(loss), Some(state)) => format!(
            "continuing from {}: {} after {} steps, loss {} (the file's; --optimizer, --lr and --loss are ignored)",
            path.display(),
            state.optimizer(),
            state.iterations(),
            loss.name()
        ),
        _ => {
            let optimizer = match args.lr {
                Some(lr) => args.optimizer.learning_rate(lr),
                None => args.optimizer,
            };
            model.compile(optimizer, args.loss, &[Metric::Accuracy])?;
            format!(
                "starting from the weights of {} with a new {optimizer} (the file has no optimiser state)",
                path.display()
            )
        }
    };
    Ok((model, note))
}

/// Runs `neurite train`.
pub(crate) fn run(args: &TrainArgs) -> Result<()> {
    if args.hidden.contains(&0) {
        return Err(Error::Value("--hidden: layer sizes must be at least 1".into()));
    }
    let (name, train, test) = load_data(args, !args.json)?;
    let say = |line: &str| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let mut model = match &args.init_from {
        Some(path) => {
            let (model, note) = continue_from(path, args)?;
            let (inputs, outputs) = (model.input_dim(), model.layers().last().map(|l| l.units()));
            if inputs != Some(train.features()) || outputs.is_some_and(|o| o > 1 && o < train.classes()) {
                return Err(Error::Shape(format!(
                    "{}: the model takes {} inputs and gives {} outputs; {name} has {} features and {} classes",
                    path.display(),
                    inputs.unwrap_or(0),
                    outputs.unwrap_or(0),
                    train.features(),
                    train.classes()
                )));
            }
            say(&note);
            model
        }
        None => build_model(args, train.features(), train.classes())?,
    };
    say(&format!(
        "{name}: {} training and {} test images of {}x{}",
        train.len(),
        test.len(),
        train.image_shape().0,
        train.image_shape().1
    ));
    say(&model.summary());
    let options = FitOptions::default()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .validation_split(args.validation_split)
        .verbose(if args.json { Verbosity::Silent } else { Verbosity::ProgressBar });
    let history = model.fit_with(&train, None, &options, &mut [])?;
    let eval = model.evaluate_with(&test)?;
    if let Some(path) = &args.save {
        neurite::io::save_model(&model, path)?;
        say(&format!("saved the model to {}", path.display()));
    }
    let fit_seconds = history.seconds();
    if args.json {
        let out = json!({
            "dataset": name.as_str(),
            "train_examples": train.len(),
            "test_examples": test.len(),
            "parameters": model.param_count(),
            "threads": model.threads(),
            "seed": args.seed,
            "history": history,
            "fit_seconds": fit_seconds,
            "test_loss": eval.loss,
            "test_accuracy": eval.accuracy,
        });
        println!("{out}");
    } else {
        println!(
            "fit_seconds={fit_seconds:.2} threads={} test_loss={:.4} test_accuracy={:.4}",
            model.threads(),
            eval.loss,
            eval.accuracy
        );
    }
    Ok(())
}
