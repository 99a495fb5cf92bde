//! `neurite train`: the notes' Keras program with a flag for every choice, checkpoints,
//! resume and Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, Parser};
use serde::Serialize;
use serde_json::json;

use crate::sources::{OwnData, OwnDataArgs};
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
    /// dropout:RATE, batchnorm[:MOMENTUM[:EPSILON]], flatten, reshape:D1xD2x...).
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["hidden", "activation", "output_activation"])]
    pub(crate) layers: Option<String>,
    /// The architecture from the JSON Keras' `model.to_json()` writes (a Sequential of Dense,
    /// Dropout, BatchNormalization, Flatten, Reshape), instead of --hidden or --layers.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hidden", "activation", "output_activation", "layers", "init"])]
    pub(crate) architecture: Option<PathBuf>,
    /// Activation of the output layer (default softmax; linear for --task regression).
    #[arg(long)]
    pub(crate) output_activation: Option<Activation>,
    /// Weight initialiser: glorot_uniform, glorot_normal, he_uniform, he_normal, uniform, normal, zeros.
    #[arg(long, default_value = DEFAULTS.init.name())]
    pub(crate) init: Initializer,
    /// sgd, momentum, nesterov, adagrad, rmsprop or adam (Keras' defaults).
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
    /// Write a checkpoint into DIR at the end of each epoch (and every N steps with
    /// --checkpoint-every), atomically, so that `--resume DIR` continues the run bit for bit.
    #[arg(long, value_name = "DIR")]
    pub(crate) checkpoint_dir: Option<PathBuf>,
    /// Also checkpoint every N steps (with --checkpoint-dir).
    #[arg(long, value_name = "N", requires = "checkpoint_dir", allow_negative_numbers = true)]
    pub(crate) checkpoint_every: Option<usize>,
    /// Continue the run checkpointed in DIR with the arguments it recorded (flags given again
    /// must agree with them, except --save, --json, --data, --offline, --checkpoint-every,
    /// --plot and --history).
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

/// Checks, before any training, that the file `path` can be written: its directory exists
/// and takes a new file.
fn check_writable(flag: &str, path: &Path) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(Error::Io(format!("{flag} {}: the directory {} does not exist", path.display(), dir.display())));
    }
    let probe = dir.join(format!(".neurite-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| Error::Io(format!("{flag} {}: cannot write there: {e}", path.display())))?;
    std::fs::remove_file(&probe).map_err(|e| Error::io(&probe, e))
}

/// Refuses a model that does not fit in memory before allocating it, with the numbers.
fn check_memory(args: &TrainArgs, features: usize, classes: usize) -> Result<()> {
    // Counted from the description, before any parameter exists.
    let params = model_config(args, features, classes)?.param_count().ok();
    // The parameters, their gradients, the optimiser's buffers, a copy when saving.
    let buffers = 3 + args.optimizer.slot_names().len();
    let bytes = params.and_then(|p| p.checked_mul(4 * buffers));
    let available = available_memory();
    match (params, bytes, available) {
        (None, ..) | (_, None, _) => Err(Error::Value(format!(
            "--hidden {:?}: the model would have more parameters than can be counted",
            args.hidden
        ))),
        (Some(p), Some(b), Some(a)) if b > a => Err(Error::Value(format!(
            "the model has {p} parameters: training it with {} needs about {:.1} GiB, and {:.1} GiB of memory are available; use smaller --hidden layers",
            args.optimizer.name(),
            b as f64 / (1u64 << 30) as f64,
            a as f64 / (1u64 << 30) as f64
        ))),
        _ => Ok(()),
    }
}

/// Bytes of memory available to a new allocation (Linux's MemAvailable), when known.
fn available_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The model description the flags give, for examples of `features` values and `classes`
/// outputs: the notes' MLP from --hidden and --activation, or --layers.
pub(crate) fn model_config(args: &TrainArgs, features: usize, classes: usize) -> Result<ModelConfig> {
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
            return Ok(ModelConfig::mlp(
                &[features],
                &args.hidden,
                args.activation,
                classes,
                args.output_activation(),
                args.init,
            ))
        }
    };
    match &config.input_shape {
        Some(shape) if shape.iter().product::<usize>() != features => {
            return Err(Error::Shape(format!(
                "{flag}: the model takes examples of shape {shape:?}, the data has {features} values an example"
            )))
        }
        Some(_) => {}
        None => config.input_shape = Some(vec![features]),
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
pub(crate) fn build_model(args: &TrainArgs, features: usize, classes: usize) -> Result<Sequential> {
    let mut model = Sequential::from_config(&model_config(args, features, classes)?, args.seed)?;
    set_threads(&mut model, args.threads)?;
    let optimizer = match args.lr {
        Some(lr) => args.optimizer.learning_rate(lr),
        None => args.optimizer,
    };
    model.compile(optimizer, args.loss(), args.metrics())?;
    Ok(model)
}

/// The model of `--init-from`, compiled: with the optimiser state it was saved with, or with
/// the flags' optimiser and loss when the file has none. Also says which.
fn continue_from(path: &std::path::Path, args: &TrainArgs) -> Result<(Sequential, String)> {
    let activations =
        neurite::io::Activations { hidden: Some(args.activation), output: Some(args.output_activation()) };
    let mut model = neurite::io::load_any(path, activations)?;
    set_threads(&mut model, args.threads)?;
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
            model.compile(optimizer, args.loss(), args.metrics())?;
            format!(
                "starting from the weights of {} with a new {optimizer} (the file has no optimiser state)",
                path.display()
            )
        }
    };
    Ok((model, note))
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

/// The arguments to train with: the ones given, or for `--resume` the ones the checkpoint
/// recorded (refusing flags given again that disagree), with the recorded command line.
fn effective_args(args: &TrainArgs, given: &ArgMatches, argv: &[String]) -> Result<(TrainArgs, Vec<String>)> {
    let Some(dir) = &args.resume else { return Ok((args.clone(), argv.to_vec())) };
    let checkpoint = io::load_checkpoint(dir)?;
    let note = checkpoint.note.ok_or_else(|| {
        Error::Format(format!(
            "{}: this checkpoint has no recorded arguments (was it written by neurite train?)",
            dir.display()
        ))
    })?;
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
    let mut effective = recorded;
    effective.resume = args.resume.clone();
    effective.checkpoint_dir = Some(dir.clone());
    effective.save = args.save.clone().or(effective.save);
    effective.json = args.json;
    effective.offline = args.offline;
    effective.data = args.data.clone().or(effective.data);
    effective.checkpoint_every = args.checkpoint_every.or(effective.checkpoint_every);
    effective.plot = args.plot.clone().or(effective.plot);
    effective.history = args.history.clone().or(effective.history);
    Ok((effective, recorded_argv))
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
    if args.hidden.contains(&0) {
        return Err(Error::Value("--hidden: layer sizes must be at least 1".into()));
    }
    let (args, recorded_argv) = effective_args(args, given, argv)?;
    let args = &args;
    if let Some(path) = &args.save {
        check_writable("--save", path)?;
    }
    if let Some(path) = &args.history {
        check_writable("--history", path)?;
    }
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("--plot {}: {e}", dir.display())))?;
        check_writable("--plot", &dir.join("loss.png"))?;
    }
    let explicit_checkpoints = args.checkpoint_dir.is_some();
    let checkpoint_dir = args.checkpoint_dir.clone().unwrap_or_else(default_checkpoint_dir);
    let note = serde_json::to_string(&recorded_argv).map_err(|e| Error::Value(format!("arguments: {e}")))?;
    let started = std::time::Instant::now();
    let own = OwnData::open(&args.own, args.seed)?;
    let read_seconds = started.elapsed().as_secs_f64();
    if own.is_some() && args.plot.is_some() {
        return Err(Error::Value(
            "--plot draws MNIST-style pictures (weights as images, digits it gets wrong); with --csv or --images, write --history FILE and draw it with neurite plot history".into(),
        ));
    }
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
    check_memory(args, features, outputs)?;
    let say = |line: &str| {
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let resumed = args.resume.as_ref().map(|dir| io::load_checkpoint(dir)).transpose()?;
    let mut progress = None;
    let mut model = match (resumed, &args.init_from) {
        (Some(c), _) => {
            let mut model = c.model;
            set_threads(&mut model, args.threads)?;
            progress = Some(c.progress);
            model
        }
        (None, Some(path)) => {
            let (model, note) = continue_from(path, args)?;
            let (inputs, got) = (model.input_dim(), model.output_units());
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
        (None, None) => build_model(args, features, outputs)?,
    };
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
    say(&model.summary());
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
