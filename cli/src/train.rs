//! `neurite train`: the notes' Keras program with a flag for every choice, checkpoints,
//! resume and Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, Parser};
use serde::Serialize;
use serde_json::json;

use crate::budget;
use crate::paths;
use crate::sources::{self, OwnData, OwnDataArgs};
use neurite::data::{self, mnist, Dataset, DatasetName, Task};
use neurite::error::{Error, Result};
use neurite::io::{self, Checkpointer};
use neurite::nn::{Activation, Initializer, LayerConfig, Loss};
use neurite::optim::Optimizer;
use neurite::train::{
    Callback, Examples, FitOptions, Metric, ModelConfig, Sequential, StopSignal, TargetKind, Verbosity, DEFAULTS,
};

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, the shell's convention).
const INTERRUPTED: u8 = 130;

/// Flags of `neurite train`; the defaults reproduce the notes' program.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct TrainArgs {
    /// Directory with the four IDX files (else $NEURITE_DATA, ./data/DATASET, the cache).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// mnist, fashion-mnist or digits (the bundled 8x8 set). Naming one makes its absence
    /// an error instead of a fallback to the digits.
    #[arg(long)]
    pub(crate) dataset: Option<DatasetName>,
    /// Hidden layer sizes, comma separated (`--hidden 128,64`).
    #[arg(long, default_values_t = [DEFAULTS.hidden], value_delimiter = ',', num_args = 1.., allow_negative_numbers = true)]
    pub(crate) hidden: Vec<usize>,
    /// Activation of the hidden layers: sigmoid, tanh, relu, leaky_relu, elu, linear, step.
    #[arg(long, default_value_t = DEFAULTS.activation)]
    pub(crate) activation: Activation,
    /// Any stack of layers instead of --hidden and --activation, output layer included:
    /// `dense:256:relu,batchnorm,dropout:0.3,dense:10:softmax` (dense:UNITS[:ACTIVATION],
    /// dropout:RATE, batchnorm[:MOMENTUM[:EPSILON]], flatten, reshape:D1xD2x...), or a
    /// convnet on images (height, width, channels): conv:FILTERS:K[:ACTIVATION][:sN][:same]
    /// (K 3 or 3x5, sN strides), maxpool[:K][:sN][:same], avgpool[:K][:sN][:same],
    /// globalavgpool, as in `conv:32:3:relu,maxpool:2,flatten,dense:10:softmax`. The preset
    /// `keras-convnet` is Keras' "Simple MNIST convnet" example (34,826 parameters).
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["hidden", "activation", "output_activation"])]
    pub(crate) layers: Option<String>,
    /// The architecture from the JSON Keras' `model.to_json()` writes (a Sequential of Dense,
    /// Dropout, BatchNormalization, Flatten, Reshape, Conv2D, MaxPooling2D, AveragePooling2D,
    /// GlobalAveragePooling2D), instead of --hidden or --layers.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hidden", "activation", "output_activation", "layers", "init"])]
    pub(crate) architecture: Option<PathBuf>,
    /// Activation of the output layer (default softmax; linear for --task regression).
    #[arg(long)]
    pub(crate) output_activation: Option<Activation>,
    /// Weight initialiser: glorot_uniform, glorot_normal, he_uniform, he_normal, uniform, normal, zeros.
    #[arg(long, default_value = DEFAULTS.init.name())]
    pub(crate) init: Initializer,
    /// sgd, momentum, nesterov, adagrad, rmsprop, adam or nadam (Keras' defaults).
    #[arg(long, default_value = DEFAULTS.optimizer)]
    pub(crate) optimizer: Optimizer,
    /// Learning rate (default: the optimiser's Keras default).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) lr: Option<f32>,
    /// sparse_categorical_crossentropy, categorical_crossentropy, mse, half_mse,
    /// binary_crossentropy (default sparse_categorical_crossentropy; mse for --task regression).
    #[arg(long)]
    pub(crate) loss: Option<Loss>,
    /// Examples per gradient step.
    #[arg(long, default_value_t = DEFAULTS.batch_size, allow_negative_numbers = true)]
    pub(crate) batch_size: usize,
    /// Passes over the training data.
    #[arg(long, default_value_t = DEFAULTS.epochs, allow_negative_numbers = true)]
    pub(crate) epochs: usize,
    /// Seed of the weights, the shuffling and dropout's masks: the same seed gives the same
    /// numbers.
    #[arg(long, default_value_t = DEFAULTS.seed, allow_negative_numbers = true)]
    pub(crate) seed: u64,
    /// Fraction of the training data held out for validation (from its end, as Keras).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(crate) validation_split: f64,
    /// Threads (default: all cores). Results are identical for a given seed and count.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threads: Option<usize>,
    /// Start from this model file (train --save, import, or any format import reads) instead
    /// of new weights; its optimiser state, when it has one, continues. The layers come from
    /// the file: --hidden and --init are then errors, and so are --activation and
    /// --output-activation that differ from activations the file records, and --optimizer,
    /// --lr and --loss when the file's optimiser continues.
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
    /// Write a checkpoint into DIR at the end of each epoch (and every N steps with
    /// --checkpoint-every), atomically, so that `--resume DIR` continues the run bit for bit.
    /// The arguments are recorded there first; the same command run again continues the
    /// run it checkpointed there.
    #[arg(long, value_name = "DIR")]
    pub(crate) checkpoint_dir: Option<PathBuf>,
    /// Also checkpoint every N steps (with --checkpoint-dir).
    #[arg(long, value_name = "N", requires = "checkpoint_dir", allow_negative_numbers = true)]
    pub(crate) checkpoint_every: Option<usize>,
    /// Continue the run checkpointed in DIR with the arguments it recorded, or start it over
    /// if it was stopped before its first checkpoint (flags given again must agree with them,
    /// except --save, --json, --data, --offline, --checkpoint-every, --plot and --history;
    /// only the --save, --history and --plot given now are written).
    #[arg(long, value_name = "DIR", conflicts_with = "checkpoint_dir")]
    pub(crate) resume: Option<PathBuf>,
    /// Write the pictures of the run into this directory: loss and accuracy per epoch, the
    /// first layer's weights, every layer's activations for a test image, the test images
    /// it gets wrong and the confusion matrix.
    #[arg(long, value_name = "DIR")]
    pub(crate) plot: Option<PathBuf>,
    /// Write the history (loss and accuracy per epoch) to this JSON file, for `neurite plot
    /// history`.
    #[arg(long, value_name = "FILE")]
    pub(crate) history: Option<PathBuf>,
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) own: OwnDataArgs,
}

impl TrainArgs {
    /// Whether the model predicts a number (`--csv ... --task regression`).
    fn regression(&self) -> bool {
        self.own.csv.is_some() && self.own.task == Task::Regression
    }

    /// The loss asked for, or the task's default.
    fn loss(&self) -> Loss {
        self.loss.unwrap_or(if self.regression() {
            Loss::MeanSquaredError
        } else {
            Loss::SparseCategoricalCrossentropy
        })
    }

    /// The output activation asked for, or the task's default.
    fn output_activation(&self) -> Activation {
        self.output_activation.unwrap_or(if self.regression() { Activation::Identity } else { Activation::Softmax })
    }

    /// The metrics to report: accuracy for classes, none for a regressor (its scores are
    /// printed after training).
    fn metrics(&self) -> &'static [Metric] {
        if self.regression() {
            &[]
        } else {
            &[Metric::Accuracy]
        }
    }
}

/// The flags that may differ from the recorded ones on `--resume`: where things are and how
/// results are shown, not what is computed.
const MAY_DIFFER_ON_RESUME: [&str; 8] =
    ["resume", "save", "json", "data", "offline", "checkpoint_every", "plot", "history"];

/// `neurite train` parsed on its own, to read the arguments a checkpoint recorded.
#[derive(Parser)]
#[command(name = "neurite train", no_binary_name = true)]
struct Recorded {
    #[command(flatten)]
    args: TrainArgs,
}

/// Refuses flags typed where they do nothing: a flag that does not change the run is a
/// mistake the user should hear about (`--target` without `--csv` trains on something else
/// than they think). A `--resume`d run's flags were checked when it started, and flags
/// typed again must equal them.
fn check_context(args: &TrainArgs, given: &ArgMatches) -> Result<()> {
    if args.resume.is_some() {
        return Ok(());
    }
    let typed = |id: &str| {
        given.try_contains_id(id).unwrap_or(false) && given.value_source(id) == Some(ValueSource::CommandLine)
    };
    let value = |id: &str| {
        given.get_raw(id).map(|v| v.map(|s| s.to_string_lossy()).collect::<Vec<_>>().join(",")).unwrap_or_default()
    };
    let (csv, images) = (args.own.csv.is_some(), args.own.images.is_some());
    let needs = [
        ("target", csv, "--csv FILE (it names the table's column to predict)"),
        ("task", csv, "--csv FILE (it says what the table's target column is)"),
        ("delimiter", csv, "--csv FILE (it is the table's field separator)"),
        ("test_csv", csv, "--csv FILE (its test rows have the training table's columns)"),
        ("test_images", images, "--images DIR (its test pictures have the training folder's classes)"),
    ];
    for (id, present, needs) in needs {
        if typed(id) && !present {
            return Err(Error::Value(format!(
                "--{} {} does nothing without {needs}; leave it out, or give that flag",
                id.replace('_', "-"),
                value(id)
            )));
        }
    }
    if let Some(path) = &args.init_from {
        for id in ["hidden", "init"] {
            if typed(id) {
                return Err(Error::Value(format!(
                    "--{id} {} does nothing with --init-from {}: the layers and their weights come from that file; leave it out",
                    value(id),
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Refuses values that train nothing, or train something meaningless, with the flags named:
/// for the command line's flags and for those a checkpoint recorded alike.
fn check_values(args: &TrainArgs) -> Result<()> {
    if args.hidden.contains(&0) {
        return Err(Error::Value("--hidden: layer sizes must be at least 1".into()));
    }
    if args.epochs == 0 {
        return Err(Error::Value(
            "--epochs 0: a run of no epochs trains nothing (its scores would be the untrained model's); give at least 1".into(),
        ));
    }
    if args.checkpoint_every == Some(0) {
        return Err(Error::Value(
            "--checkpoint-every 0: checkpoints every N steps need N of at least 1; leave the flag out to checkpoint at the end of each epoch only".into(),
        ));
    }
    // (With --init-from the output layer is the file's: checked once it is loaded.)
    if args.init_from.is_none()
        && args.loss() == Loss::BinaryCrossentropy
        && args.output_activation() == Activation::Softmax
    {
        return Err(binary_crossentropy_on_softmax("--loss binary_crossentropy"));
    }
    if let Some(dir) = &args.data {
        let reads = if args.own.csv.is_some() {
            Some("the table of --csv")
        } else if args.own.images.is_some() {
            Some("the pictures of --images")
        } else if args.dataset == Some(DatasetName::Digits) {
            Some("the bundled digits (--dataset digits)")
        } else {
            None
        };
        if let Some(reads) = reads {
            let resumed = if args.resume.is_some() { "the run being resumed trains on" } else { "this run trains on" };
            return Err(Error::Value(format!(
                "--data {} names a folder of IDX files for mnist or fashion-mnist, and {resumed} {reads}: leave --data out",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Binary cross-entropy scores each output as its own yes-or-no; a softmax makes the outputs
/// one choice among them, and the pair trains nonsense without an error.
fn binary_crossentropy_on_softmax(what: &str) -> Error {
    Error::Value(format!(
        "{what} scores each output as its own yes-or-no, but a softmax output (the default) makes the outputs one choice among them: use --loss sparse_categorical_crossentropy for classes, or --output-activation sigmoid with one output per yes-or-no"
    ))
}

/// Checks the output files before any work: each is a file that can be written, and none is
/// the checkpoint, the recorded arguments, an input of the run, or another output.
fn check_outputs(args: &TrainArgs, checkpoint_dir: &Path) -> Result<()> {
    let checkpoint_is = match (&args.resume, &args.checkpoint_dir) {
        (Some(_), _) => "the checkpoint of --resume",
        (None, Some(_)) => "the checkpoint of --checkpoint-dir",
        (None, None) => "the checkpoint a Ctrl-C writes",
    };
    let checkpoint =
        if checkpoint_dir.is_file() { checkpoint_dir.to_path_buf() } else { checkpoint_dir.join(io::CHECKPOINT_FILE) };
    let arguments = checkpoint_dir.join(ARGUMENTS_FILE);
    let mut inputs: Vec<(&str, &Path)> =
        vec![(checkpoint_is, &checkpoint), ("the recorded arguments of the checkpoint directory", &arguments)];
    let files = [
        ("the model of --init-from", &args.init_from),
        ("the table of --csv", &args.own.csv),
        ("the table of --test-csv", &args.own.test_csv),
    ];
    inputs.extend(files.iter().filter_map(|(is, p)| Some((*is, p.as_deref()?))));
    if let Some(path) = &args.save {
        paths::check_output("--save", path, &inputs)?;
        inputs.push(("the file of --save", path));
    }
    if let Some(path) = &args.history {
        paths::check_output("--history", path, &inputs)?;
    }
    Ok(())
}

/// Finds, downloads or falls back to the data, as the flags ask. A directory given with
/// `--data` is used or is an error; the bundled digits stand in only when no flag named data.
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
    if let Some(dir) = &args.data {
        if !dir.is_dir() {
            return Err(Error::Io(format!(
                "--data {}: no such directory (it should hold train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz)",
                dir.display()
            )));
        }
        // Loading it anyway gives the error that names the first file missing.
        return mnist::load_mnist_dir(dir, name).map(|(train, test)| (name, train, test));
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

/// Refuses a model, batch or history that does not fit in memory before allocating it, with
/// the numbers. `features` and `classes` are the data's, or lower bounds before it is read;
/// `examples`, the training examples once known (a batch is never larger; before, one
/// example of a batch is counted).
fn check_memory(
    args: &TrainArgs,
    features: usize,
    classes: usize,
    image: Option<Vec<usize>>,
    examples: Option<usize>,
) -> Result<()> {
    // Counted from the model's description, before any parameter exists: the values an
    // example has at the input and after each layer, and the parameters.
    let described = described_model(args, features, classes, image).and_then(|(_, c)| Ok((c.widths()?, c)));
    let (sizes, config) = match described {
        Ok(found) => found,
        // Before the data is read its shape is a guess (the digits' 8x8 when MNIST may come):
        // a model that does not fit the guess is checked again once the data is known.
        Err(_) if examples.is_none() => return Ok(()),
        Err(e) => return Err(e),
    };
    let params = config.param_count().map_or(u128::MAX, |p| p as u128);
    // The parameters, their gradients, the optimiser's buffers, a copy when saving.
    let buffers = 3 + args.optimizer.slot_names().len();
    let param_bytes = params.saturating_mul(4 * buffers as u128);
    // A batch: its input rows and the next batch's (prefetched), and every layer's
    // activations and gradients.
    let batch = examples.map_or(1, |n| args.batch_size.min(n.max(1)));
    let batch_is = match examples {
        Some(_) => format!("a batch of {batch}"),
        None => "each example of a batch".to_string(),
    };
    let width = sizes.iter().fold(0u128, |w, &s| w.saturating_add(2 * s as u128));
    let batch_bytes = budget::product(&[batch, 4]).saturating_mul(width);
    // The history keeps a record per epoch (a vector that may double as it grows).
    let history_bytes = budget::product(&[args.epochs, 2 * std::mem::size_of::<neurite::train::EpochLogs>()]);
    let total = param_bytes.saturating_add(batch_bytes).saturating_add(history_bytes);
    let gib = |b: u128| b as f64 / (1u64 << 30) as f64;
    let hidden: Vec<String> = args.hidden.iter().map(|h| h.to_string()).collect();
    let mut flags = format!("--hidden {} --batch-size {} --epochs {}", hidden.join(","), args.batch_size, args.epochs);
    if let (Some(size), Some(_)) = (args.own.image_size, &args.own.images) {
        flags.push_str(&format!(" --image-size {}x{}", size.width, size.height));
    }
    let layers: Vec<String> = sizes.iter().map(|s| s.to_string()).collect();
    budget::check_fits(
        &flags,
        &format!(
            "training the {} network ({params} parameters) with {}: {:.1} GiB for the parameters and the optimiser, {:.1} GiB for {batch_is}, {:.1} GiB for the records of the epochs,",
            layers.join("-"),
            args.optimizer.name(),
            gib(param_bytes),
            gib(batch_bytes),
            gib(history_bytes)
        ),
        total,
        "use smaller --hidden layers, --batch-size or --image-size, or fewer --epochs",
    )
}

/// The features and classes of the data the flags name, as lower bounds known before it is
/// read: the pictures' size and colour, the IDX images' size, two classes.
fn data_lower_bounds(args: &TrainArgs) -> (usize, usize, Option<Vec<usize>>) {
    if args.own.images.is_some() {
        let size = args.own.image_size.unwrap_or(sources::ImageSize { width: 28, height: 28 });
        let channels = args.own.color.unwrap_or(neurite::data::Color::Grey).channels();
        let image = vec![size.height, size.width, channels];
        return (size.width.saturating_mul(size.height).saturating_mul(channels), 2, Some(image));
    }
    if args.own.csv.is_some() {
        return (1, 1, None);
    }
    match args.dataset {
        Some(DatasetName::Mnist | DatasetName::FashionMnist) => (784, 10, Some(vec![28, 28, 1])),
        // The digits, or MNIST with the digits as its fallback.
        _ => (64, 10, Some(vec![8, 8, 1])),
    }
}

/// The model description the flags give, for examples of `features` values and `classes`
/// outputs: the notes' MLP from --hidden and --activation, or --layers.
///
/// `image` is the data's example shape when it is pictures (`[28, 28, 1]` for MNIST): a
/// `--layers` model that starts with a convolution or pooling layer takes its examples in it.
pub(crate) fn model_config(
    args: &TrainArgs,
    features: usize,
    classes: usize,
    image: Option<Vec<usize>>,
) -> Result<ModelConfig> {
    let (flag, config) = described_model(args, features, classes, image.clone())?;
    if let Some(shape) = config.input_shape.as_ref().filter(|s| s.iter().product::<usize>() != features) {
        let first = config.layers.first().map_or("dense".to_string(), |l| {
            l.name().map_or_else(|| l.class_name().to_ascii_lowercase(), str::to_string)
        });
        let batch = neurite::nn::layer::batch_shape_str;
        let data = match image {
            Some(image) => format!("examples of shape {}", batch(&image)),
            None => format!("rows of {features} values"),
        };
        return Err(Error::Shape(format!(
            "{flag}: the model's first layer ({first}) takes examples of shape {}, the data has {data}",
            batch(shape)
        )));
    }
    let units = match config.layers.last() {
        Some(LayerConfig::Dense(d)) => d.units,
        _ => return Err(Error::Value(format!("{flag}: the last layer must be Dense, the output"))),
    };
    if units != classes {
        return Err(Error::Value(format!(
            "{flag}: the last layer has {units} units, the data needs {classes} outputs"
        )));
    }
    Ok(config)
}

/// The model the flags describe for examples of `features` values, with the flag that
/// describes it; its output is not yet checked against the data.
fn described_model(
    args: &TrainArgs,
    features: usize,
    classes: usize,
    image: Option<Vec<usize>>,
) -> Result<(&'static str, ModelConfig)> {
    let (flag, mut config) = match (&args.layers, &args.architecture) {
        (Some(spec), _) => {
            ("--layers", ModelConfig::parse_layers(&[features], spec, args.init).map_err(|e| e.context("--layers"))?)
        }
        (None, Some(path)) => {
            // An architecture is a few kilobytes of JSON; anything past 16 MiB is not one.
            let text = read_capped(path, 16 << 20)?;
            let config = io::keras::model_config_from_json(&text).map_err(|e| e.context(path.display()))?;
            ("--architecture", config)
        }
        (None, None) => {
            let mlp = ModelConfig::mlp(
                &[features],
                &args.hidden,
                args.activation,
                classes,
                args.output_activation(),
                args.init,
            );
            return Ok(("--hidden", mlp));
        }
    };
    if flag == "--layers" && config.takes_images() {
        match image {
            Some(shape) if shape.iter().product::<usize>() == features => config.input_shape = Some(shape),
            _ => {
                let first = config.layers.first().map_or("conv2d".to_string(), |l| {
                    l.name().map_or_else(|| l.class_name().to_ascii_lowercase(), str::to_string)
                });
                return Err(Error::Shape(format!(
                    "--layers: the first layer ({first}) reads images (height, width, channels); the data are rows of {features} values, not pictures"
                )));
            }
        }
    }
    // An architecture's own input shape is kept (checked against the data once it is read).
    if config.input_shape.is_none() {
        config.input_shape = Some(vec![features]);
    }
    Ok((flag, config))
}

/// The text of a small file, refused past `cap` bytes before it is read.
fn read_capped(path: &Path, cap: u64) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut text = String::new();
    file.take(cap + 1).read_to_string(&mut text).map_err(|e| Error::io(path, e))?;
    if text.len() as u64 > cap {
        return Err(Error::Value(format!("{}: over {cap} bytes, too large for an architecture", path.display())));
    }
    Ok(text)
}

/// Builds the model the flags describe, through the library's model description.
pub(crate) fn build_model(
    args: &TrainArgs,
    features: usize,
    classes: usize,
    image: Option<Vec<usize>>,
) -> Result<Sequential> {
    let mut model = Sequential::from_config(&model_config(args, features, classes, image)?, args.seed)?;
    set_threads(&mut model, args.threads)?;
    let optimizer = match args.lr {
        Some(lr) => args.optimizer.learning_rate(lr),
        None => args.optimizer,
    };
    model.compile(optimizer, args.loss(), args.metrics())?;
    Ok(model)
}

/// The model of `--init-from`, compiled: with the optimiser state it was saved with, or with
/// the flags' optimiser and loss when the file has none. Also says which, and whether the
/// file's optimiser continues.
fn continue_from(path: &std::path::Path, args: &TrainArgs) -> Result<(Sequential, String, bool)> {
    let activations =
        neurite::io::Activations { hidden: Some(args.activation), output: Some(args.output_activation()) };
    let mut model = neurite::io::load_any(path, activations)?;
    set_threads(&mut model, args.threads)?;
    let note = match (model.loss(), model.optimizer_state()) {
        (Some(loss), Some(state)) => format!(
            "continuing from {}: {} after {} steps, loss {} (the file's)",
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
            model.compile(optimizer, args.loss(), args.metrics())?;
            format!(
                "starting from the weights of {} with a new {optimizer} (the file has no optimiser state)",
                path.display()
            )
        }
    };
    let kept = note.starts_with("continuing");
    Ok((model, note, kept))
}

/// Uses `threads` threads, warning above the core count and refusing far above it.
fn set_threads(model: &mut Sequential, threads: Option<usize>) -> Result<()> {
    let Some(t) = threads else { return Ok(()) };
    let cores = Sequential::default_threads();
    if t > 4 * cores {
        return Err(Error::Value(format!(
            "--threads {t}: more than four times the {cores} cores here only slows training (every step waits for all of them); use at most {}",
            4 * cores
        )));
    }
    if t > cores {
        eprintln!(
            "warning: --threads {t} is more than the {cores} cores here: every step waits for threads that share cores, so training will be slower than with --threads {cores}"
        );
    }
    model.set_threads(t)
}

/// The file in a checkpoint directory that records the run's arguments (a JSON list of the
/// words after `train`), written before anything else so that `--resume` finds them even
/// when the run was killed before its first checkpoint.
pub(crate) const ARGUMENTS_FILE: &str = "arguments.json";

/// Records `note` (the arguments as JSON) in the checkpoint directory `dir`, atomically.
fn record_arguments(dir: &Path, note: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("--checkpoint-dir {}: {e}", dir.display())))?;
    // A run killed while writing them left its temporary file (`.arguments.json.<pid>.<n>.tmp`)
    // beside them: nothing reads it, so it goes (as the checkpointer does with its own).
    let prefix = format!(".{ARGUMENTS_FILE}.");
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(&entry.path(), e))?;
        }
    }
    neurite::io::write_atomic(&dir.join(ARGUMENTS_FILE), note.as_bytes())
}

/// What `--resume DIR` continues: a checkpoint and the arguments recorded with it, or, for a
/// run stopped before its first checkpoint, the arguments alone (the run starts over).
fn resume_point(dir: &Path) -> Result<(String, Option<io::Checkpoint>)> {
    if !dir.exists() {
        return Err(Error::Io(format!("--resume {}: no such directory", dir.display())));
    }
    let arguments = match std::fs::read_to_string(dir.join(ARGUMENTS_FILE)) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || dir.is_file() => None,
        Err(e) => return Err(Error::io(&dir.join(ARGUMENTS_FILE), e)),
    };
    let has_checkpoint = dir.is_file() || dir.join(io::CHECKPOINT_FILE).is_file();
    let checkpoint = if has_checkpoint { Some(io::load_checkpoint(dir)?) } else { None };
    match (arguments, checkpoint) {
        // The arguments file is written when a run starts, the checkpoint later: arguments
        // that differ from the checkpoint's are a newer run's, stopped before its first
        // checkpoint, which starts over (the older run's checkpoint is not its).
        (Some(arguments), Some(c)) if c.note.as_deref() != Some(arguments.as_str()) => Ok((arguments, None)),
        (_, Some(c)) => {
            let note = c.note.clone().ok_or_else(|| {
                Error::Format(format!(
                    "{}: this checkpoint has no recorded arguments (was it written by neurite train?)",
                    dir.display()
                ))
            })?;
            Ok((note, Some(c)))
        }
        (Some(arguments), None) => Ok((arguments, None)),
        (None, None) => Err(Error::Io(format!(
            "--resume {}: neither a checkpoint ({}) nor the arguments of a run ({ARGUMENTS_FILE}) are there (was it written by neurite train --checkpoint-dir?)",
            dir.display(),
            io::CHECKPOINT_FILE
        ))),
    }
}

/// The checkpoint that the same command wrote in its `--checkpoint-dir` before it was
/// stopped, which it continues (as Keras' BackupAndRestore does): a scheduler that restarts
/// a preempted job with the same command gets the run it started, not a new one. A checkpoint
/// of other arguments is not continued (the run starts over and replaces it).
fn continued(args: &TrainArgs, note: &str) -> Result<Option<io::Checkpoint>> {
    let Some(dir) = args.checkpoint_dir.as_deref().filter(|d| d.join(io::CHECKPOINT_FILE).is_file()) else {
        return Ok(None);
    };
    let checkpoint = match io::load_checkpoint(dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warning: the checkpoint in {} cannot be continued ({e}); the run starts over", dir.display());
            return Ok(None);
        }
    };
    if checkpoint.note.as_deref() != Some(note) {
        return Ok(None);
    }
    eprintln!(
        "continuing the run checkpointed in {} by the same command (remove that directory to start over)",
        dir.display()
    );
    Ok(Some(checkpoint))
}

/// The arguments to train with: the ones given, or for `--resume` the ones the run recorded
/// (refusing flags given again that disagree), with the recorded command line and the
/// checkpoint to continue from (none: the run starts from its beginning). Output paths are
/// only ever the present command's: a recorded `--save` or `--history` (which a file from
/// someone else may carry) is never written.
fn effective_args(
    args: &TrainArgs,
    given: &ArgMatches,
    argv: &[String],
) -> Result<(TrainArgs, Vec<String>, Option<io::Checkpoint>)> {
    let Some(dir) = &args.resume else { return Ok((args.clone(), argv.to_vec(), None)) };
    let (note, checkpoint) = resume_point(dir)?;
    let recorded_argv: Vec<String> = serde_json::from_str(&note)
        .map_err(|e| Error::Format(format!("{}: the recorded arguments are not valid: {e}", dir.display())))?;
    let recorded = Recorded::try_parse_from(&recorded_argv)
        .map_err(|e| Error::Format(format!("{}: the recorded arguments do not parse: {e}", dir.display())))?
        .args;
    let (now, then) = (to_json(args)?, to_json(&recorded)?);
    let recorded_matches = Recorded::command().try_get_matches_from(&recorded_argv).ok();
    // A value as typed: the recorded command line's, or the default's.
    let typed = |matches: Option<&ArgMatches>, id: &str| -> String {
        matches
            .and_then(|m| m.get_raw(id))
            .map(|v| v.map(|s| s.to_string_lossy()).collect::<Vec<_>>().join(","))
            .unwrap_or_else(|| "(not given)".into())
    };
    for id in given.ids().map(|id| id.as_str()) {
        let explicit = given.value_source(id) == Some(ValueSource::CommandLine);
        if explicit && !MAY_DIFFER_ON_RESUME.contains(&id) && now.get(id) != then.get(id) {
            let flag = format!("--{}", id.replace('_', "-"));
            return Err(Error::Value(format!(
                "--resume {}: {flag} {} differs from the run being resumed ({flag} {}); leave it out to continue that run",
                dir.display(),
                typed(Some(given), id),
                typed(recorded_matches.as_ref(), id)
            )));
        }
    }
    // Outputs the recorded run named and this command does not: said, never written.
    let outputs = [("--save", &recorded.save, &args.save), ("--history", &recorded.history, &args.history)];
    for (flag, then, now) in outputs {
        if let (Some(then), None) = (then, now) {
            eprintln!(
                "note: the run being resumed was started with {flag} {}; output paths come only from this command, so give {flag} again to write it",
                then.display()
            );
        }
    }
    if let (Some(then), None) = (&recorded.plot, &args.plot) {
        eprintln!(
            "note: the run being resumed was started with --plot {}; output paths come only from this command, so give --plot again to draw it",
            then.display()
        );
    }
    let mut effective = recorded;
    effective.resume = args.resume.clone();
    effective.checkpoint_dir = Some(dir.clone());
    effective.save = args.save.clone();
    effective.history = args.history.clone();
    effective.plot = args.plot.clone();
    effective.json = args.json;
    effective.offline = args.offline;
    effective.data = args.data.clone().or(effective.data);
    effective.checkpoint_every = args.checkpoint_every.or(effective.checkpoint_every);
    Ok((effective, recorded_argv, checkpoint))
}

fn to_json(args: &TrainArgs) -> Result<serde_json::Value> {
    serde_json::to_value(args).map_err(|e| Error::Value(format!("arguments: {e}")))
}

/// Where a Ctrl-C checkpoint goes when no --checkpoint-dir was given.
fn default_checkpoint_dir() -> PathBuf {
    mnist::cache_dir(DatasetName::Mnist)
        .and_then(|d| d.parent().map(|p| p.join("checkpoints").join("last")))
        .unwrap_or_else(|| PathBuf::from("neurite-checkpoint"))
}

/// The first Ctrl-C asks the fit to stop after its step (it then writes a checkpoint); the
/// second exits at once.
fn handle_ctrl_c(signal: StopSignal) {
    let result = ctrlc::set_handler(move || {
        if signal.is_raised() {
            eprintln!("\nstopping now");
            std::process::exit(INTERRUPTED as i32);
        }
        eprintln!("\nstopping after this step to write a checkpoint (Ctrl-C again to quit at once)");
        signal.raise();
    });
    if let Err(e) = result {
        eprintln!("warning: Ctrl-C will not write a checkpoint: {e}");
    }
}

/// Runs `neurite train`: `given` says which flags were typed, `argv` is the command line
/// after `train` (recorded in checkpoints, for `--resume`).
pub(crate) fn run(args: &TrainArgs, given: &ArgMatches, argv: &[String]) -> Result<ExitCode> {
    if args.plot.is_some() && args.json {
        // The pictures' lines go to stdout, which --json keeps for one JSON object.
        return Err(Error::Value(
            "--plot and --json cannot go together: --json keeps stdout for the JSON object".into(),
        ));
    }
    check_context(args, given)?;
    check_values(args)?;
    let typed_note = serde_json::to_string(argv).map_err(|e| Error::Value(format!("arguments: {e}")))?;
    if let Some(dir) = &args.checkpoint_dir {
        // A command refused for its outputs or sizes records nothing (it would replace the
        // arguments of the run the directory holds): those checks need only the flags.
        check_outputs(args, dir)?;
        let (features, classes, image) = data_lower_bounds(args);
        check_memory(args, features, classes, image, None)?;
        // Then, before anything else (reading the data can take minutes), so that a run killed
        // at any moment leaves what `--resume` needs to start it again.
        record_arguments(dir, &typed_note)?;
    }
    let (args, recorded_argv, resumed) = match continued(args, &typed_note)? {
        Some(checkpoint) => (args.clone(), argv.to_vec(), Some(checkpoint)),
        None => effective_args(args, given, argv)?,
    };
    let args = &args;
    // What a checkpoint file recorded is checked like what was typed.
    check_values(args)?;
    let explicit_checkpoints = args.checkpoint_dir.is_some();
    let checkpoint_dir = args.checkpoint_dir.clone().unwrap_or_else(default_checkpoint_dir);
    check_outputs(args, &checkpoint_dir)?;
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("--plot {}: {e}", dir.display())))?;
        paths::check_output("--plot", &dir.join("loss.png"), &[])?;
    }
    let note = serde_json::to_string(&recorded_argv).map_err(|e| Error::Value(format!("arguments: {e}")))?;
    if resumed.is_none() {
        let (features, classes, image) = data_lower_bounds(args);
        check_memory(args, features, classes, image, None)?;
    }
    if (args.own.csv.is_some() || args.own.images.is_some()) && args.plot.is_some() {
        return Err(Error::Value(
            "--plot draws MNIST-style pictures (weights as images, digits it gets wrong); with --csv or --images, write --history FILE and draw it with neurite plot history".into(),
        ));
    }
    let started = std::time::Instant::now();
    let own = OwnData::open(&args.own, args.seed)?;
    let read_seconds = started.elapsed().as_secs_f64();
    let idx = match own {
        None => Some(load_data(args, !args.json)?),
        Some(_) => None,
    };
    let (train, test, name): (&dyn Examples, Option<&dyn Examples>, String) = match (&own, &idx) {
        (Some(o), _) => (o.train(), o.test(), o.name().to_string()),
        (None, Some((name, train, test))) => (train, Some(test), name.to_string()),
        (None, None) => return Err(Error::Value("no data".into())),
    };
    let (features, outputs) = (train.features(), own.as_ref().map_or_else(|| train_classes(train), OwnData::outputs));
    if resumed.is_none() {
        check_memory(args, features, outputs, train.example_shape(), Some(train.len()))?;
    }
    let say = |line: &str| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let mut progress = None;
    let mut model = match (resumed, &args.init_from) {
        (Some(c), _) => {
            let mut model = c.model;
            set_threads(&mut model, args.threads)?;
            progress = Some(c.progress);
            model
        }
        (None, Some(path)) => {
            let (model, note, kept) = continue_from(path, args)?;
            // The file's optimiser and loss continue: flags that would choose others do
            // nothing, and are refused.
            let typed = |id: &str| {
                given.try_contains_id(id).unwrap_or(false) && given.value_source(id) == Some(ValueSource::CommandLine)
            };
            // Activations typed for a file that records its own (load_any used them only for
            // formats that do not) did nothing unless they agree with the file's.
            let dense = model.dense_layers();
            let hidden_differ =
                dense.len() > 1 && dense[..dense.len() - 1].iter().any(|l| l.activation_fn() != args.activation);
            let output_differs = model.output_activation() != args.output_activation;
            for (id, differs) in [("activation", hidden_differ), ("output_activation", output_differs)] {
                if differs && typed(id) {
                    let value = given
                        .get_raw(id)
                        .into_iter()
                        .flatten()
                        .map(|v| v.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(",");
                    return Err(Error::Value(format!(
                        "--{} {value} does nothing with --init-from {}: the file records its layers' activations; leave it out",
                        id.replace('_', "-"),
                        path.display()
                    )));
                }
            }
            if let Some(id) = ["optimizer", "lr", "loss"].into_iter().find(|id| kept && typed(id)) {
                let value =
                    given.get_raw(id).into_iter().flatten().map(|v| v.to_string_lossy()).collect::<Vec<_>>().join(",");
                return Err(Error::Value(format!(
                    "--{id} {value} does nothing with --init-from {}: the file's optimiser state and loss continue ({}); leave it out",
                    path.display(),
                    model.optimizer_state().map_or(String::new(), |s| format!(
                        "{} after {} steps, loss {}",
                        s.optimizer(),
                        s.iterations(),
                        model.loss().map_or("?", |l| l.name())
                    ))
                )));
            }
            let (inputs, got) = (model.input_dim(), model.output_units());
            // A model of images (a convnet) takes examples of its shape: say both shapes.
            let want = model.input_shape().unwrap_or_default();
            if want.len() > 1 {
                let first = model.layers().first().map_or("the model", |l| l.name().unwrap_or(l.class_name()));
                let shape = neurite::nn::layer::batch_shape_str;
                match train.example_shape() {
                    Some(have) if have.len() > 1 && inputs == Some(features) => {}
                    Some(have) if have.len() > 1 => {
                        return Err(Error::Shape(format!(
                            "{}: the model's first layer ({first}) takes examples of shape {}; {name} has examples of shape {}",
                            path.display(),
                            shape(&want),
                            shape(&have)
                        )))
                    }
                    _ => {
                        return Err(Error::Shape(format!(
                            "{}: the model's first layer ({first}) takes images of shape {}; {name} has rows of {features} values, not pictures",
                            path.display(),
                            shape(&want)
                        )))
                    }
                }
            }
            let fits = match own.as_ref().map(OwnData::task) {
                Some(Task::Regression) => got == Some(1),
                _ => !got.is_some_and(|o| o > 1 && o < outputs),
            };
            if inputs != Some(features) || !fits {
                let needs =
                    if args.regression() { "one value to predict".to_string() } else { format!("{outputs} classes") };
                return Err(Error::Shape(format!(
                    "{}: the model takes {} inputs and gives {} outputs; {name} has {features} features and {needs}",
                    path.display(),
                    inputs.unwrap_or(0),
                    got.unwrap_or(0),
                )));
            }
            say(&note);
            model
        }
        (None, None) => build_model(args, features, outputs, train.example_shape())?,
    };
    let last = model.output_activation();
    if model.loss() == Some(Loss::BinaryCrossentropy) && last == Some(Activation::Softmax) {
        return Err(binary_crossentropy_on_softmax("the model's loss, binary_crossentropy,"));
    }
    // The columns and their standardisation, or the pictures' size, and the class names go
    // into the model file (and its checkpoints), so that eval and predict read data the same way.
    model.set_schema(own.as_ref().map(OwnData::schema))?;
    match (&own, &idx) {
        (Some(o), _) => say(&format!("{} (read in {read_seconds:.2} s)", o.describe())),
        (None, Some((name, train, test))) => say(&format!(
            "{name}: {} training and {} test images of {}x{}",
            train.len(),
            test.len(),
            train.image_shape().0,
            train.image_shape().1
        )),
        (None, None) => {}
    }
    say(&crate::show::block(&model.summary()));
    let signal = StopSignal::new();
    handle_ctrl_c(signal.clone());
    let mut options = FitOptions::default()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .validation_split(args.validation_split)
        .verbose(if args.json { Verbosity::Silent } else { Verbosity::ProgressBar })
        .stop_on(signal);
    if let Some(progress) = progress {
        say(&format!("resuming at epoch {}, step {}", progress.epoch, progress.steps_done));
        options = options.resume(progress);
    }
    // Checkpoints where asked; without --checkpoint-dir, only when Ctrl-C stops the run.
    let mut checkpoints = if explicit_checkpoints {
        Some(Checkpointer::new(&checkpoint_dir)?.every(args.checkpoint_every.unwrap_or(0)).note(note.clone()))
    } else {
        None
    };
    let mut on_interrupt = OnInterrupt { dir: checkpoint_dir.clone(), note, written: false };
    // A diverging run (with any optimiser) is stopped by the fit itself, before a checkpoint
    // of the diverged model is written (neurite::train's `diverge`).
    let mut callbacks: Vec<&mut dyn Callback> = Vec::new();
    match checkpoints.as_mut() {
        Some(c) => callbacks.push(c),
        None => callbacks.push(&mut on_interrupt),
    }
    let history = match model.fit_with(train, None, &options, &mut callbacks) {
        Err(Error::Stopped(why)) if why.starts_with("interrupted") => {
            let dir = checkpoint_dir.display();
            eprintln!("{why}; the checkpoint is in {dir}. Continue with: neurite train --resume {dir}");
            return Ok(ExitCode::from(INTERRUPTED));
        }
        other => other?,
    };
    let scores = match test {
        Some(test) if args.regression() => Some(TestScores::Regression(model.evaluate_regression(test)?)),
        Some(test) => Some(TestScores::Classes(model.evaluate_with(test)?)),
        None => None,
    };
    if let Some(path) = &args.save {
        neurite::io::save_model(&model, path)?;
        say(&format!("saved the model to {}", path.display()));
    }
    if let Some(path) = &args.history {
        let json = serde_json::to_vec_pretty(&history)
            .map_err(|e| Error::Format(format!("{}: the history as JSON: {e}", path.display())))?;
        neurite::io::write_atomic(path, &json)?;
        say(&format!("saved the history to {}", path.display()));
    }
    if let (Some(dir), Some((_, _, test))) = (&args.plot, &idx) {
        crate::pictures::all(&mut model, &history, test, dir)?;
    }
    let fit_seconds = history.seconds();
    if args.json {
        let mut out = json!({
            "dataset": name,
            "train_examples": train.len(),
            "test_examples": test.map_or(0, |t| t.len()),
            "parameters": model.param_count(),
            "threads": model.threads(),
            "seed": args.seed,
            "history": history,
            "fit_seconds": fit_seconds,
        });
        if let Some(o) = &own {
            out["task"] = json!(o.task().to_string());
            out["classes"] = json!(o.schema().class_names());
            out["read_seconds"] = json!(read_seconds);
        }
        match scores {
            Some(TestScores::Classes(e)) => {
                out["test_loss"] = json!(e.loss);
                out["test_accuracy"] = json!(e.accuracy);
            }
            Some(TestScores::Regression(r)) => {
                out["test_mse"] = json!(r.mse);
                out["test_rmse"] = json!(r.rmse);
                out["test_mae"] = json!(r.mae);
                out["test_r2"] = json!(r.r2);
            }
            None => {}
        }
        println!("{out}");
    } else {
        let scores = match scores {
            Some(TestScores::Classes(e)) => format!("test_loss={:.4} test_accuracy={:.4}", e.loss, e.accuracy),
            Some(TestScores::Regression(r)) => {
                format!("test_mse={:.6} test_rmse={:.6} test_mae={:.6} test_r2={:.4}", r.mse, r.rmse, r.mae, r.r2)
            }
            None => "no test part (--test-split 0)".to_string(),
        };
        println!("fit_seconds={fit_seconds:.2} threads={} {scores}", model.threads());
    }
    Ok(ExitCode::SUCCESS)
}

/// What the test part gave.
enum TestScores {
    Classes(neurite::train::Evaluation),
    Regression(neurite::train::RegressionScores),
}

/// Outputs for the classes of an IDX data set.
fn train_classes(data: &dyn Examples) -> usize {
    match data.target_kind() {
        TargetKind::Classes { classes } => classes,
        TargetKind::Dense { width } => width,
    }
}

/// Writes a checkpoint only when the run is interrupted (no --checkpoint-dir was given).
struct OnInterrupt {
    dir: PathBuf,
    note: String,
    written: bool,
}

impl Callback for OnInterrupt {
    fn on_progress(&mut self, view: &neurite::train::TrainingView<'_>) -> Result<()> {
        if view.moment == neurite::train::Moment::Interrupted && !self.written {
            Checkpointer::new(&self.dir)?.note(self.note.clone()).on_progress(view)?;
            self.written = true;
        }
        Ok(())
    }
}
