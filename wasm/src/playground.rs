//! The playground page's state: its data, its settings, its model and where training stands.
//! Everything here is the library's (data sets, Sequential, fit with resume, image
//! preprocessing, model files); this module only keeps the pieces together between the page's
//! calls. The C exports in `lib.rs` wrap it; natively it is what the tests call.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use neurite::data::idx::read_idx_bytes;
use neurite::data::image::{self, GreyImage, Invert};
use neurite::data::mnist::{dataset_from_idx, DatasetName};
use neurite::data::Dataset;
use neurite::io::{self, Activations};
use neurite::nn::{Activation, Initializer, Loss};
use neurite::optim::Optimizer;
use neurite::train::{
    BatchLogs, Callback, EpochLogs, FitOptions, FitProgress, Metric, ModelConfig, Moment, Sequential, StopSignal,
    TrainingView, Verbosity, DEFAULTS,
};
use neurite::{Error, Result};

/// The training settings: `neurite train`'s flags of the same names, with the same defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Hidden layer sizes (`--hidden`).
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers (`--activation`).
    pub activation: String,
    /// Activation of the output layer (`--output-activation`).
    pub output_activation: String,
    /// Weight initialiser (`--init`).
    pub init: String,
    /// Optimiser (`--optimizer`).
    pub optimizer: String,
    /// Learning rate (`--lr`); `None` is the optimiser's default.
    pub lr: Option<f32>,
    /// Loss (`--loss`).
    pub loss: String,
    /// Examples per step (`--batch-size`).
    pub batch_size: usize,
    /// Passes over the training data (`--epochs`).
    pub epochs: usize,
    /// Seed of the weights and the shuffling (`--seed`).
    pub seed: u64,
    /// Any stack of layers instead of `hidden` and the activations (`--layers`).
    pub layers: Option<String>,
}

impl Default for Settings {
    /// The library's training defaults, as `neurite train` has them.
    fn default() -> Settings {
        Settings {
            hidden: vec![DEFAULTS.hidden],
            activation: DEFAULTS.activation.to_string(),
            output_activation: DEFAULTS.output.to_string(),
            init: DEFAULTS.init.name().into(),
            optimizer: DEFAULTS.optimizer.into(),
            lr: None,
            loss: Loss::SparseCategoricalCrossentropy.name().into(),
            batch_size: DEFAULTS.batch_size,
            epochs: DEFAULTS.epochs,
            seed: DEFAULTS.seed,
            layers: None,
        }
    }
}

fn parse<T: std::str::FromStr<Err = Error>>(what: &str, value: &str) -> Result<T> {
    value.parse().map_err(|e: Error| e.context(what))
}

impl Settings {
    /// The model these settings describe for `features` inputs and `classes` outputs, compiled:
    /// built as `neurite train` builds it, so that the same seed gives the same weights.
    pub fn build(&self, features: usize, classes: usize) -> Result<Sequential> {
        let init: Initializer = parse("init", &self.init)?;
        let config = match &self.layers {
            Some(spec) => {
                let mut config = ModelConfig::parse_layers(&[features], spec, init).map_err(|e| e.context("layers"))?;
                if config.takes_images() {
                    // As `neurite train` gives a convnet its data's pictures: the page's data
                    // are square grey pictures (28x28 MNIST, 8x8 digits), one channel.
                    let side = image::input_side(features).map_err(|e| e.context("layers"))?;
                    config.input_shape = Some(vec![side, side, 1]);
                }
                config
            }
            None => {
                if self.hidden.contains(&0) {
                    return Err(Error::Value("hidden: layer sizes must be at least 1".into()));
                }
                let (activation, output): (Activation, Activation) =
                    (parse("activation", &self.activation)?, parse("output activation", &self.output_activation)?);
                ModelConfig::mlp(&[features], &self.hidden, activation, classes, output, init)
            }
        };
        let mut model = Sequential::from_config(&config, self.seed)?;
        model.set_threads(1)?;
        if model.output_units() != Some(classes) {
            return Err(Error::Value(format!(
                "layers: the last layer gives {} outputs, the data has {classes} classes",
                model.output_units().unwrap_or(0)
            )));
        }
        self.compile(&mut model)?;
        Ok(model)
    }

    fn compile(&self, model: &mut Sequential) -> Result<()> {
        let optimizer: Optimizer = parse("optimizer", &self.optimizer)?;
        let optimizer = match self.lr {
            Some(lr) => optimizer.learning_rate(lr),
            None => optimizer,
        };
        model.compile(optimizer, parse("loss", &self.loss)?, &[Metric::Accuracy])
    }

    fn options(&self) -> FitOptions {
        FitOptions::default().epochs(self.epochs).batch_size(self.batch_size).seed(self.seed).verbose(Verbosity::Silent)
    }
}

/// One epoch's numbers as the page charts them: the fit's logs and the test set's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochReport {
    /// The fit's logs (training loss and accuracy over the epoch).
    pub logs: EpochLogs,
    /// Loss on the test set after the epoch.
    pub test_loss: f64,
    /// Accuracy on the test set after the epoch.
    pub test_accuracy: f64,
}

/// The page's whole state.
#[derive(Default)]
pub struct Playground {
    data: Option<(String, Dataset, Dataset)>,
    settings: Settings,
    model: Option<Sequential>,
    /// Where the fit stands between calls (`None`: not started).
    progress: Option<FitProgress>,
    /// The fit reached its last epoch.
    finished: bool,
    epochs: Vec<EpochReport>,
    /// Where the model came from: "new" (the settings' initial weights) or a file's name.
    origin: String,
}

/// Stops a fit after `limit` steps and keeps what resuming it needs.
struct StepLimit {
    limit: usize,
    done: usize,
    signal: StopSignal,
    progress: Option<FitProgress>,
    last: Option<BatchLogs>,
}

impl Callback for StepLimit {
    fn on_batch_end(&mut self, _batch: usize, logs: &BatchLogs) {
        self.done += 1;
        self.last = Some(*logs);
        if self.done >= self.limit {
            self.signal.raise();
        }
    }

    fn on_progress(&mut self, view: &TrainingView<'_>) -> Result<()> {
        if view.moment == Moment::Interrupted {
            self.progress = Some(view.progress.clone());
        }
        Ok(())
    }
}

impl Playground {
    /// An empty playground: no data, the default settings, no model.
    pub fn new() -> Playground {
        Playground { origin: "new".into(), ..Playground::default() }
    }

    /// Uses an MNIST-style set given as the bytes of its four IDX files (gzip'd or not).
    pub fn load_mnist(&mut self, files: [&[u8]; 4]) -> Result<()> {
        let [train_images, train_labels, test_images, test_labels] = files;
        let idx = |bytes: &[u8], name: &'static str| read_idx_bytes(bytes.to_vec(), name).map(|a| (name, a));
        let train = dataset_from_idx(
            DatasetName::Mnist,
            "train",
            idx(train_images, "train-images-idx3-ubyte.gz")?,
            idx(train_labels, "train-labels-idx1-ubyte.gz")?,
        )?;
        let test = dataset_from_idx(
            DatasetName::Mnist,
            "test",
            idx(test_images, "t10k-images-idx3-ubyte.gz")?,
            idx(test_labels, "t10k-labels-idx1-ubyte.gz")?,
        )?;
        self.data = Some(("mnist".into(), train, test));
        Ok(())
    }

    /// Uses the bundled 8x8 digits.
    pub fn load_digits(&mut self) -> Result<()> {
        let (train, test) = Dataset::digits()?;
        self.data = Some(("digits".into(), train, test));
        Ok(())
    }

    fn data(&self) -> Result<&(String, Dataset, Dataset)> {
        self.data.as_ref().ok_or_else(|| Error::Value("no data loaded".into()))
    }

    /// New settings: a new model with their initial weights (see [`Playground::info`]).
    pub fn configure(&mut self, settings: Settings) -> Result<Value> {
        let (_, train, _) = self.data()?;
        let model = settings.build(train.features(), train.classes())?;
        self.settings = settings;
        self.start(model, "new".into());
        self.info()
    }

    /// Back to the settings' initial weights (the same seed gives the same ones).
    pub fn reset(&mut self) -> Result<Value> {
        self.configure(self.settings.clone())
    }

    fn start(&mut self, model: Sequential, origin: String) {
        self.model = Some(model);
        self.progress = None;
        self.finished = false;
        self.epochs.clear();
        self.origin = origin;
    }

    fn model(&self) -> Result<&Sequential> {
        self.model.as_ref().ok_or_else(|| Error::Value("no model yet".into()))
    }

    /// The model and the run: its layers, its summary, where it came from, the epochs done.
    pub fn info(&self) -> Result<Value> {
        let model = self.model()?;
        let layers: Vec<Value> = model
            .layers()
            .iter()
            .map(|l| {
                let shape = l.output_shape(l.input_shape()).unwrap_or_default();
                json!({
                    "class_name": l.class_name(),
                    "name": l.name(),
                    "units": shape.iter().product::<usize>(),
                    "shape": shape,
                    "activation": l.activation().map_or_else(|| l.class_name().to_string(), |a| a.to_string()),
                })
            })
            .collect();
        Ok(json!({
            "inputs": model.input_dim(),
            "side": image::input_side(model.input_dim().unwrap_or(0)).ok(),
            "layers": layers,
            "parameters": model.param_count(),
            "summary": model.summary(),
            "origin": self.origin,
            "settings": self.settings,
            "dataset": self.data.as_ref().map(|d| d.0.clone()),
            "train_examples": self.data.as_ref().map(|d| d.1.len()),
            "test_examples": self.data.as_ref().map(|d| d.2.len()),
        }))
    }

    /// Trains for at most `steps` more steps of the fit the settings describe (fewer at its
    /// end), exactly as one uninterrupted `fit` would: the same batches, the same numbers.
    /// Returns where the fit stands and the epochs it finished meanwhile, each with its test
    /// loss and accuracy.
    pub fn train(&mut self, steps: usize) -> Result<Value> {
        let data = self.data.as_ref().ok_or_else(|| Error::Value("no data loaded".into()))?;
        let model = self.model.as_mut().ok_or_else(|| Error::Value("no model yet".into()))?;
        if model.loss().is_none() {
            // A model from a file without an optimiser: train it with the settings' one.
            self.settings.compile(model)?;
        }
        let before = self.epochs.len();
        let mut last = None;
        if !self.finished && steps > 0 {
            let signal = StopSignal::new();
            let mut options = self.settings.options().stop_on(signal.clone());
            if let Some(p) = self.progress.take() {
                options = options.resume(p);
            }
            let mut limit = StepLimit { limit: steps, done: 0, signal, progress: None, last: None };
            let history = match model.fit_with(&data.1, None, &options, &mut [&mut limit]) {
                Ok(history) => {
                    self.finished = true;
                    history
                }
                Err(Error::Stopped(why)) if why.starts_with("interrupted") => {
                    let progress = limit.progress.take().ok_or(Error::Value(why))?;
                    let history = progress.history.clone();
                    self.progress = Some(progress);
                    history
                }
                Err(e) => return Err(e),
            };
            last = limit.last;
            for logs in history.epochs.into_iter().skip(before) {
                let eval = model.evaluate_with(&data.2)?;
                self.epochs.push(EpochReport { logs, test_loss: eval.loss, test_accuracy: eval.accuracy });
            }
        }
        let steps_per_epoch = data.1.len().div_ceil(self.settings.batch_size.clamp(1, data.1.len().max(1)));
        let (epoch, step) = match (&self.progress, self.finished) {
            (_, true) => (self.epochs.len(), 0),
            (Some(p), false) => (p.epoch, p.steps_done),
            (None, false) => (1, 0),
        };
        Ok(json!({
            "epoch": epoch,
            "step": step,
            "steps_per_epoch": steps_per_epoch,
            "epochs": self.settings.epochs,
            "finished": self.finished,
            "running_loss": last.map(|l| l.loss),
            "running_accuracy": last.and_then(|l| l.accuracy),
            "new_epochs": &self.epochs[before..],
        }))
    }

    /// The model's answer to a drawing (RGBA pixels, `width` x `height`): the input it sees
    /// after `neurite predict`'s preprocessing, every layer's output with its shape (`[50]`
    /// for a dense layer, `[26, 26, 32]` for a convolution's feature maps, channels last), the
    /// probabilities (the last layer's) and the class.
    pub fn predict(&self, rgba: &[u8], width: usize, height: usize) -> Result<Value> {
        let model = self.model()?;
        let side = image::input_side(model.input_dim().unwrap_or(0))?;
        let picture = GreyImage::from_rgba8(width, height, rgba)?;
        let input = image::to_model_input(&picture, side, Invert::Auto)?;
        let layers = model.layer_outputs(&input)?;
        let outputs: Vec<Vec<f32>> = layers.iter().map(|t| t.to_vec()).collect();
        // One example's shape: the tensors carry no batch axis here (layer_outputs' one input).
        let shapes: Vec<Vec<usize>> = layers.iter().map(|t| t.shape().to_vec()).collect();
        let last = outputs.last().cloned().unwrap_or_default();
        let class = last.iter().enumerate().fold(0, |b, (i, &v)| if v > last[b] { i } else { b });
        Ok(
            json!({"side": side, "input": input, "layers": outputs, "shapes": shapes, "probabilities": last, "class": class}),
        )
    }

    /// The first layer's weights as one RGBA picture per unit in the notes' colours (each unit
    /// on its own scale), stacked: `units` pictures of `side` x `side`. A model whose first
    /// layer is not dense (a convnet, whose feature maps the page shows instead) has none:
    /// `(0, 0, [])`.
    pub fn first_layer_pictures(&self) -> Result<(usize, usize, Vec<u8>)> {
        let model = self.model()?;
        let Some(layer) = model.layers().first().and_then(|l| l.as_dense()) else {
            return Ok((0, 0, Vec::new()));
        };
        let side = image::input_side(model.input_dim().unwrap_or(0))?;
        let w = layer.weight().ok_or_else(|| Error::Value("the first layer is not built".into()))?.value();
        let (inputs, units) = (w.shape()[0], w.shape()[1]);
        let values = w.contiguous().to_vec();
        let mut rgba = Vec::with_capacity(units * inputs * 4);
        for u in 0..units {
            let column = (0..inputs).map(|i| values[i * units + u]);
            let largest = column.clone().fold(0.0f32, |m, v| m.max(v.abs()));
            for v in column {
                let [r, g, b] = image::weight_colour(if largest > 0.0 { v / largest } else { 0.0 });
                rgba.extend([r, g, b, 255]);
            }
        }
        Ok((units, side, rgba))
    }

    /// Uses a model file (any format `neurite predict` reads; for those that do not record
    /// activations, the settings' ones). Training then continues from its weights.
    pub fn load_model(&mut self, bytes: &[u8], name: &str) -> Result<Value> {
        let activations = Activations {
            hidden: Some(parse("activation", &self.settings.activation)?),
            output: Some(parse("output activation", &self.settings.output_activation)?),
        };
        let mut model = io::read_model(bytes, activations).map_err(|e| e.context(name))?;
        model.set_threads(1)?;
        if let Some((_, train, _)) = &self.data {
            let (inputs, outputs) = (model.input_dim(), model.output_units());
            if inputs != Some(train.features()) || outputs != Some(train.classes()) {
                return Err(Error::Shape(format!(
                    "{name}: the model takes {} inputs and gives {} outputs; the data has {} features and {} classes",
                    inputs.unwrap_or(0),
                    outputs.unwrap_or(0),
                    train.features(),
                    train.classes()
                )));
            }
        }
        self.start(model, name.into());
        self.info()
    }

    /// The model as a file `neurite eval` and `neurite predict` read (`train --save`'s format).
    pub fn model_file(&self) -> Result<Vec<u8>> {
        io::model_bytes(self.model()?)
    }

    /// Loss and accuracy of the model on the test set.
    pub fn evaluate(&mut self) -> Result<Value> {
        let data = self.data.as_ref().ok_or_else(|| Error::Value("no data loaded".into()))?;
        let model = self.model.as_mut().ok_or_else(|| Error::Value("no model yet".into()))?;
        let eval = model.evaluate_with(&data.2)?;
        Ok(json!({"loss": eval.loss, "accuracy": eval.accuracy}))
    }
}
