//! Keras' `Sequential`: a stack of layers with `add`, `summary`, `compile`, `fit`,
//! `evaluate` and `predict`, its parameters in one [`ParamStore`] that the engine of
//! [`super::engine`] trains in place, its architecture a [`ModelConfig`].

use super::callbacks::{Callback, FitInfo, ProgressLogger, Verbosity};
use super::engine::{pool, Engine, StepSeed};
use super::examples::{Examples, TargetKind, TensorExamples};
use super::fit::{FitLoop, FitState};
use super::history::History;
use super::model_config::ModelConfig;
use super::options::FitOptions;
use super::progress::{FitPlan, FitProgress};
use crate::autograd::{ParamStore, Var};
use crate::data::Schema;
use crate::error::{shape_str, Error, Result};
use crate::nn::layer::{batch_shape_str, display_name, numbered, snake_case};
use crate::nn::{Activation, Layer, Loss, Mode, Module, Noise};
use crate::optim::{Optimizer, OptimizerState};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Metrics that `compile` can be asked for (the loss is always reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Fraction of correct predictions (Keras picks the categorical, sparse or binary kind
    /// from the loss; so does neurite).
    Accuracy,
}

/// Loss and accuracy of a model on some examples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Mean loss.
    pub loss: f64,
    /// Fraction correct.
    pub accuracy: f64,
    /// Number of examples.
    pub count: usize,
}

/// Scores of a regressor on some examples ([`Sequential::evaluate_regression`]), as
/// scikit-learn's `mean_squared_error`, `mean_absolute_error` and `r2_score` compute them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RegressionScores {
    /// Mean squared error.
    pub mse: f64,
    /// Its square root, in the target's unit.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination: 1 - (squared error) / (squared deviation of the targets
    /// from their mean); 1 is perfect, 0 is no better than always predicting the mean.
    pub r2: f64,
    /// Number of examples.
    pub count: usize,
}

struct Compiled {
    loss: Loss,
    metrics: Vec<Metric>,
    state: OptimizerState,
}

/// A stack of layers trained as one model, as Keras' `Sequential`.
///
/// ```
/// use neurite::nn::{Activation, Dense, Loss};
/// use neurite::optim::Optimizer;
/// use neurite::train::{FitOptions, Metric, Sequential, Verbosity};
/// use neurite::Tensor;
///
/// // Learn XOR, which a single perceptron cannot.
/// let mut model = Sequential::with_seed(1);
/// model.add(Dense::new(8).activation(Activation::Tanh).input_shape(2))?;
/// model.add(Dense::new(1).activation(Activation::Sigmoid))?;
/// model.compile(Optimizer::adam().learning_rate(0.05), Loss::BinaryCrossentropy, &[Metric::Accuracy])?;
/// let x = Tensor::matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
/// let y = Tensor::matrix([[0.0], [1.0], [1.0], [0.0]]);
/// model.fit(&x, &y, &FitOptions::default().epochs(300).batch_size(4).verbose(Verbosity::Silent))?;
/// assert_eq!(model.evaluate(&x, &y)?.accuracy, 1.0);
/// # Ok::<(), neurite::Error>(())
/// ```
pub struct Sequential {
    name: String,
    /// The shape of one example, when declared apart from the first layer.
    input_shape: Option<Vec<usize>>,
    layers: Vec<Box<dyn Layer>>,
    /// Each layer's parameters as autograd variables, in the order of its specs: the nodes its
    /// autograd operations record, whose gradients an optimiser reads.
    vars: Vec<Vec<Var>>,
    /// Every layer's parameters, in layer order: the one owner of the model's numbers.
    store: ParamStore,
    rng: Rng,
    /// The seed the model was made with: dropout's masks outside a fit come from it.
    seed: u64,
    /// Whether the autograd path ([`Module::forward`]) runs the layers as in training.
    training: bool,
    /// Counts forward passes in training mode, so that each draws new masks.
    forward_calls: std::sync::atomic::AtomicU64,
    compiled: Option<Compiled>,
    engine: Option<Engine>,
    threads: usize,
    /// What the inputs are and what the outputs mean, for a model of a table or pictures.
    schema: Option<Schema>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequential")
            .field("name", &self.name)
            .field("layers", &self.layers.iter().map(|l| l.config()).collect::<Vec<_>>())
            .field("parameters", &self.param_count())
            .field("loss", &self.loss())
            .field("threads", &self.threads)
            .finish()
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Sequential::new()
    }
}

impl Sequential {
    /// An empty model whose weights will be drawn with seed 0.
    pub fn new() -> Sequential {
        Sequential::with_seed(0)
    }

    /// An empty model whose weights will be drawn with `seed`.
    pub fn with_seed(seed: u64) -> Sequential {
        let threads = Sequential::default_threads();
        Sequential {
            name: "sequential".into(),
            input_shape: None,
            layers: Vec::new(),
            vars: Vec::new(),
            store: ParamStore::new(),
            rng: Rng::new(seed),
            seed,
            training: false,
            forward_calls: std::sync::atomic::AtomicU64::new(0),
            compiled: None,
            engine: None,
            threads,
            schema: None,
        }
    }

    /// A model with the architecture `config`, its weights drawn with `seed`.
    pub fn from_config(config: &ModelConfig, seed: u64) -> Result<Sequential> {
        let mut model = Sequential::with_seed(seed);
        model.name = config.name.clone();
        if let Some(shape) = &config.input_shape {
            model.set_input_shape(shape)?;
        }
        for layer in &config.layers {
            model.add_layer(layer.clone().into_layer())?;
        }
        Ok(model)
    }

    /// The architecture as data.
    pub fn config(&self) -> ModelConfig {
        ModelConfig {
            name: self.name.clone(),
            layers: self.layers.iter().map(|l| l.config()).collect(),
            input_shape: self.input_shape.clone(),
        }
    }

    /// Declares the shape of one example (Keras' `keras.Input(shape=(28, 28, 1))`), before
    /// any layer is added.
    pub fn set_input_shape(&mut self, shape: &[usize]) -> Result<()> {
        if !self.layers.is_empty() {
            return Err(Error::Value("the input shape is declared before the first layer is added".into()));
        }
        if shape.is_empty() || shape.contains(&0) {
            return Err(Error::Shape(format!("an input shape needs one or more axes of at least 1, got {shape:?}")));
        }
        shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| Error::Shape(format!("an input of shape {} has too many values", batch_shape_str(shape))))?;
        self.input_shape = Some(shape.to_vec());
        Ok(())
    }

    /// What the model's inputs are and what its outputs mean, when it was trained on a table
    /// or a folder of pictures: saved in its file, so that new data is read the same way.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// Records the data description of [`Sequential::schema`] (`table.data_schema()` or
    /// `folder.data_schema()`); it must fit the model's inputs and outputs.
    ///
    /// ```
    /// use neurite::data::{CsvOptions, Table};
    /// use neurite::nn::{Activation, Dense};
    /// use neurite::train::Sequential;
    /// let table = Table::from_reader("a,b,y\n1,2,p\n3,4,q\n".as_bytes(), "t.csv", &CsvOptions::new("y"))?;
    /// let mut model = Sequential::with_seed(0);
    /// model.add(Dense::new(table.classes()).activation(Activation::Softmax).input_shape(table.features()))?;
    /// model.set_schema(Some(table.data_schema()))?;
    /// assert_eq!(model.schema().unwrap().class_names(), ["p", "q"]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn set_schema(&mut self, schema: Option<Schema>) -> Result<()> {
        if let Some(s) = &schema {
            s.check(self.input_dim().unwrap_or(0), self.output_units().unwrap_or(0))?;
        }
        self.schema = schema;
        Ok(())
    }

    /// The parameters: every layer's weight and bias by name (`dense/kernel`,
    /// `dense/bias`, `dense_1/kernel`, ...), in one flat buffer that training updates in
    /// place.
    pub fn params(&self) -> &ParamStore {
        &self.store
    }

    /// The thread count a new model starts with: the cores this process may use (1 when
    /// the system cannot tell, or in a build without the `threads` feature).
    pub fn default_threads() -> usize {
        pool::available_threads()
    }

    /// Uses `threads` threads for training and inference (default: all cores). Results are
    /// bit-identical for a given seed and thread count.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        if threads == 0 {
            return Err(Error::Value("threads must be at least 1".into()));
        }
        if threads != self.threads {
            self.threads = threads;
            self.engine = None;
        }
        Ok(())
    }

    /// Number of threads used.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Appends a layer, drawing its parameters; the first layer must know its input shape
    /// (`input_shape`, or the model's [`Sequential::set_input_shape`]), later ones take the
    /// previous layer's output shape. An unnamed layer is named after its kind, as Keras
    /// names them: `dense`, `dense_1`, `dropout`, `batch_normalization`, ...
    pub fn add<L: Layer + 'static>(&mut self, layer: L) -> Result<()> {
        self.add_layer(Box::new(layer))
    }

    /// [`Sequential::add`] for a layer of any kind.
    pub fn add_layer(&mut self, mut layer: Box<dyn Layer>) -> Result<()> {
        let input = match self.layers.last() {
            Some(prev) => prev.output_shape(prev.input_shape())?,
            None => match (&self.input_shape, layer.declared_input()) {
                (Some(shape), _) => shape.clone(),
                (None, Some(shape)) => shape,
                (None, None) => {
                    return Err(Error::Value(format!(
                    "the first layer ({}) needs the input shape: Dense::new(n).input_shape(784), or the model's Input",
                    layer.class_name()
                )))
                }
            },
        };
        if layer.name().is_none() {
            let base = snake_case(layer.class_name());
            let count = self.layers.iter().filter(|l| l.class_name() == layer.class_name()).count();
            layer.set_name(numbered(&base, count));
        }
        let name = display_name(layer.as_ref());
        if self.layers.iter().any(|l| l.name() == Some(name.as_str())) {
            return Err(Error::Value(format!("the model already has a layer named {name:?}")));
        }
        layer.output_shape(&input).map_err(|e| e.context(format!("layer {} of the model", self.layers.len() + 1)))?;
        layer.build(&input)?;
        // The parameters: the values a built layer brought, or drawn by their initialisers
        // (the kernel before the bias, as always), all checked before any enters the store.
        let specs = layer.param_specs();
        let values = match layer.built_values() {
            Some(values) => {
                if values.len() != specs.len()
                    || values.iter().zip(&specs).any(|(v, s)| v.shape() != s.shape.as_slice())
                {
                    return Err(Error::Shape(format!(
                        "add: layer {name} holds parameters of shapes {:?} for an input of {}",
                        values.iter().map(|v| shape_str(v.shape())).collect::<Vec<_>>(),
                        batch_shape_str(&input)
                    )));
                }
                values
            }
            None => specs.iter().map(|s| s.init.init(&s.shape, s.fans.0, s.fans.1, &mut self.rng)).collect(),
        };
        let names: Vec<String> = specs.iter().map(|s| format!("{name}/{}", s.name)).collect();
        if let Some(taken) = names.iter().find(|n| self.store.names().contains(n)) {
            return Err(Error::Value(format!("the model already has a parameter named {taken}")));
        }
        let vars = names.iter().zip(&values).map(|(n, v)| self.store.add(n, v)).collect::<Result<Vec<_>>>()?;
        layer.attach(&vars);
        self.layers.push(layer);
        self.vars.push(vars);
        self.compiled = None;
        self.engine = None;
        Ok(())
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The model's name (`sequential`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Total number of parameter values, trained or not (Keras' "Total params").
    pub fn param_count(&self) -> usize {
        self.store.numel()
    }

    /// Number of values the optimiser trains.
    pub fn trainable_count(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| l.param_specs())
            .filter(|s| s.trainable)
            .map(|s| s.shape.iter().product::<usize>())
            .sum()
    }

    /// Number of input values per example (the product of the input shape).
    pub fn input_dim(&self) -> Option<usize> {
        // Without allocating: every training step checks its data against it.
        match self.layers.first() {
            Some(l) => Some(l.input_shape().iter().product()),
            None => self.input_shape.as_ref().map(|s| s.iter().product()),
        }
    }

    /// The shape of one example (`[784]`, `[28, 28, 1]`), once known.
    pub fn input_shape(&self) -> Option<Vec<usize>> {
        match self.layers.first() {
            Some(l) => Some(l.input_shape().to_vec()),
            None => self.input_shape.clone(),
        }
    }

    /// The shape of one example's output.
    pub fn output_shape(&self) -> Option<Vec<usize>> {
        self.layers.last().and_then(|l| l.output_shape(l.input_shape()).ok())
    }

    /// Number of outputs per example.
    pub fn output_units(&self) -> Option<usize> {
        let last = self.layers.last()?;
        match last.as_dense() {
            Some(d) => Some(d.units()),
            None => self.output_shape().map(|s| s.iter().product()),
        }
    }

    /// The activation of the output layer.
    pub fn output_activation(&self) -> Option<Activation> {
        self.layers.last().and_then(|l| l.activation())
    }

    /// The dense layers, in order: what the formats that know only dense stacks (NumPy's `W1,
    /// b1, ...`) read.
    pub fn dense_layers(&self) -> Vec<&crate::nn::Dense> {
        self.layers.iter().filter_map(|l| l.as_dense()).collect()
    }

    /// Puts the autograd path ([`Module::forward`]) in training mode (dropout drops, batch
    /// normalisation uses the batch and updates its moving statistics) or, the default,
    /// inference mode: PyTorch's `model.train()` and `model.eval()`.
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// The layer table Keras prints: name and kind, output shape, parameter count, totals.
    pub fn summary(&self) -> String {
        let rows: Vec<(String, String, usize, String)> = self
            .layers
            .iter()
            .map(|layer| {
                let name = format!("{} ({})", display_name(layer.as_ref()), layer.class_name());
                let shape = layer.output_shape(layer.input_shape()).map(|o| batch_shape_str(&o)).unwrap_or_default();
                let count = layer.param_specs().iter().map(|p| p.shape.iter().product::<usize>()).sum();
                (name, shape, count, layer.activation().map(|a| a.to_string()).unwrap_or_default())
            })
            .collect();
        // Keras' columns, widened for a long name or shape.
        let name_w = rows.iter().map(|r| r.0.chars().count() + 1).fold(28, usize::max);
        let shape_w = rows.iter().map(|r| r.1.chars().count() + 1).fold(18, usize::max);
        let width = 72 + (name_w - 28) + (shape_w - 18);
        let rule = "_".repeat(width);
        let mut s = format!("Model: \"{}\"\n{rule}\n", self.name);
        s += &format!(
            " {:<name_w$}{:<shape_w$}{:>12}  {:<12}\n",
            "Layer (type)", "Output Shape", "Param #", "Activation"
        );
        s += &format!("{}\n", "=".repeat(width));
        for (i, (name, shape, count, activation)) in rows.iter().enumerate() {
            s += &format!(" {:<name_w$}{:<shape_w$}{:>12}  {:<12}\n", name, shape, thousands(*count), activation);
            if i + 1 < rows.len() {
                s += "\n";
            }
        }
        let (total, trainable) = (self.param_count(), self.trainable_count());
        s += &format!("{}\n", "=".repeat(width));
        s += &format!("Total params: {} ({})\n", thousands(total), memory_size(total * 4));
        s += &format!("Trainable params: {} ({})\n", thousands(trainable), memory_size(trainable * 4));
        s += &format!(
            "Non-trainable params: {} ({})\n",
            thousands(total - trainable),
            memory_size((total - trainable) * 4)
        );
        s += &rule;
        s
    }

    /// Chooses the optimiser, the loss and the metrics, and resets the optimiser's state.
    pub fn compile(&mut self, optimizer: Optimizer, loss: Loss, metrics: &[Metric]) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::Value("compile: the model has no layers".into()));
        }
        let state = OptimizerState::new(optimizer, &self.store)?;
        self.compiled = Some(Compiled { loss, metrics: metrics.to_vec(), state });
        Ok(())
    }

    /// The compiled loss.
    pub fn loss(&self) -> Option<Loss> {
        self.compiled.as_ref().map(|c| c.loss)
    }

    /// The optimiser's state (moments and step count), for checkpoints.
    pub fn optimizer_state(&self) -> Option<&OptimizerState> {
        self.compiled.as_ref().map(|c| &c.state)
    }

    /// Replaces the optimiser's state (from a checkpoint): it must be for this model's
    /// parameters, and the model compiled.
    pub fn set_optimizer_state(&mut self, state: OptimizerState) -> Result<()> {
        state.validate()?;
        if !state.fits(&self.store) {
            return Err(Error::Value(format!(
                "the optimiser state is for parameters {:?}, the model has {:?}",
                state.params().iter().map(|(n, s)| format!("{n} {}", shape_str(s))).collect::<Vec<_>>(),
                self.store.infos().iter().map(|i| format!("{} {}", i.name, shape_str(&i.shape))).collect::<Vec<_>>()
            )));
        }
        let compiled = self.compiled.as_mut().ok_or_else(not_compiled)?;
        compiled.state = state;
        if let Some(engine) = &mut self.engine {
            engine.forget_ahead();
        }
        Ok(())
    }

    /// Whether `compile` asked for accuracy.
    pub fn reports_accuracy(&self) -> bool {
        self.compiled.as_ref().is_some_and(|c| c.metrics.contains(&Metric::Accuracy))
    }

    fn classes_for(&self, loss: Loss) -> Option<usize> {
        loss.takes_class_indices().then(|| self.output_units().unwrap_or(0))
    }

    /// Trains on tensors, as Keras' `model.fit(x, y, ...)`: `x` of shape (n, features), `y`
    /// of shape (n,) with class indices for the sparse loss, else of the output's shape.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, options: &FitOptions) -> Result<History> {
        let loss = self.compiled.as_ref().map(|c| c.loss).ok_or_else(not_compiled)?;
        let classes = self.classes_for(loss);
        self.check_tensor_input(x, "fit")?;
        let data = TensorExamples::new(x, y, classes)?;
        self.fit_with(&data, None, options, &mut [])
    }

    /// Trains on any [`Examples`] (a byte data set, tensors, ...), with optional validation
    /// data and callbacks. This is the whole fit loop.
    pub fn fit_with(
        &mut self,
        data: &dyn Examples,
        validation: Option<&dyn Examples>,
        options: &FitOptions,
        callbacks: &mut [&mut dyn Callback],
    ) -> Result<History> {
        let loss = self.compiled.as_ref().map(|c| c.loss).ok_or_else(not_compiled)?;
        self.check_data(data, loss)?;
        if let Some(v) = validation {
            self.check_data(v, loss)?;
        }
        if options.batch_size == 0 {
            return Err(Error::Value("fit: batch_size must be at least 1".into()));
        }
        let n = data.len();
        let train_count = crate::data::validation_split_point(n, options.validation_split)?;
        let held_out = n - train_count;
        if validation.is_some() && held_out > 0 {
            return Err(Error::Value("fit: give validation data or a validation_split, not both".into()));
        }
        if train_count == 0 {
            return Err(Error::Value(format!(
                "fit: no training examples (have {n}, validation_split takes {held_out})"
            )));
        }
        let held_out: Vec<u32> = (train_count as u32..n as u32).collect();
        let batch = options.batch_size.min(train_count);
        let steps = train_count.div_ceil(batch);
        let plan = options.plan(n);
        // Where to start: from scratch, or where a checkpoint left off.
        let mut progress = match &options.resume {
            None => FitProgress {
                epoch: 1,
                steps_done: 0,
                rng_state: Rng::new(options.seed).state(),
                order: (0..train_count as u32).collect(),
                loss_sum: 0.0,
                correct: 0,
                seen: 0,
                history: History::default(),
                start_loss: None,
                plan,
            },
            Some(p) => {
                check_resume(p, &plan, train_count, steps)?;
                p.clone()
            }
        };
        let mut logger = match options.verbose {
            Verbosity::Silent => None,
            Verbosity::ProgressBar => Some(ProgressLogger::new(true)),
            Verbosity::EpochLines => Some(ProgressLogger::new(false)),
        };
        let mut all: Vec<&mut dyn Callback> = Vec::new();
        if let Some(l) = logger.as_mut() {
            all.push(l);
        }
        for c in callbacks.iter_mut() {
            all.push(&mut **c);
        }
        let mut engine = match self.engine.take() {
            Some(e) if e.threads() == self.threads => e,
            _ => Engine::new(self.threads)?,
        };
        let config = self.config();
        let fit = FitLoop {
            layers: &self.layers,
            store: &self.store,
            config: &config,
            loss,
            data,
            validation,
            held_out: &held_out,
            options,
            batch,
            steps,
            // Compiled without the accuracy metric (a regressor): the logs hold the loss only.
            info: FitInfo {
                epochs: options.epochs,
                steps_per_epoch: steps,
                samples: train_count,
                accuracy: self.reports_accuracy(),
            },
        };
        let result = engine.prepare(&self.layers, &self.store, batch).and_then(|()| {
            let optimizer = &mut self.compiled.as_mut().ok_or_else(not_compiled)?.state;
            let pool = engine.pool();
            let mut state = FitState { engine: &mut engine, optimizer, progress: &mut progress };
            // The whole loop runs on the engine's threads, so that the parallel part of each
            // step does not have to enter the pool again.
            pool.install(|| fit.run(&mut state, &mut all))
        });
        self.engine = Some(engine);
        result.map(|()| progress.history)
    }

    /// Trains on one batch of examples `indices` of `data` (Keras' `train_on_batch`),
    /// returning the batch's loss and accuracy before the step. Buffers are kept between
    /// calls, and nothing is allocated once they exist: the examples' row length and targets
    /// are checked each call, their shape (an image model's) by `fit` and `evaluate`.
    pub fn train_on_batch(&mut self, data: &dyn Examples, indices: &[u32]) -> Result<Evaluation> {
        let loss = self.compiled.as_ref().map(|c| c.loss).ok_or_else(not_compiled)?;
        self.check_rows(data, loss)?;
        let engine = ensure_engine(&mut self.engine, self.threads, &self.layers, &self.store, indices.len())?;
        let compiled = self.compiled.as_mut().ok_or_else(not_compiled)?;
        let (layers, state) = (&self.layers, &mut compiled.state);
        let mut guard = self.store.write()?;
        let (params, version) = guard.values_mut_with_version();
        let pool = engine.pool();
        let seed = StepSeed { seed: self.seed };
        let totals =
            pool.install(|| engine.train_step(layers, seed, loss, data, indices, &[], params, version, state))?;
        Ok(Evaluation { loss: totals.loss(), accuracy: totals.accuracy(), count: totals.count })
    }

    /// Loss and accuracy on tensors (`model.evaluate(x, y)`).
    pub fn evaluate(&mut self, x: &Tensor, y: &Tensor) -> Result<Evaluation> {
        let loss = self.compiled.as_ref().map(|c| c.loss).ok_or_else(not_compiled)?;
        self.check_tensor_input(x, "evaluate")?;
        let data = TensorExamples::new(x, y, self.classes_for(loss))?;
        self.evaluate_with(&data)
    }

    /// Loss and accuracy on any [`Examples`].
    pub fn evaluate_with(&mut self, data: &dyn Examples) -> Result<Evaluation> {
        let loss = self.compiled.as_ref().map(|c| c.loss).ok_or_else(not_compiled)?;
        self.check_data(data, loss)?;
        if data.is_empty() {
            return Err(Error::Value("evaluate: no examples".into()));
        }
        let indices: Vec<u32> = (0..data.len() as u32).collect();
        let engine = ensure_engine(&mut self.engine, self.threads, &self.layers, &self.store, 0)?;
        let totals = engine.evaluate(&self.layers, self.store.read()?.values(), loss, data, &indices)?;
        Ok(Evaluation { loss: totals.loss(), accuracy: totals.accuracy(), count: totals.count })
    }

    /// Mean squared and absolute errors and R² of a one-output regressor on examples with
    /// one target value each (a table read with [`Task::Regression`](crate::data::Task)).
    ///
    /// ```
    /// use neurite::data::{CsvOptions, Table, Task};
    /// use neurite::nn::{Dense, Loss};
    /// use neurite::optim::Optimizer;
    /// use neurite::train::{FitOptions, Sequential};
    /// let csv: String = std::iter::once("x,y\n".to_string())
    ///     .chain((0..40).map(|i| format!("{i},{}\n", 3 * i + 1)))
    ///     .collect();
    /// let table = Table::from_reader(csv.as_bytes(), "line.csv", &CsvOptions::new("y").task(Task::Regression))?;
    /// let mut model = Sequential::with_seed(0);
    /// model.add(Dense::new(1).input_shape(1))?;
    /// model.compile(Optimizer::adam().learning_rate(0.5), Loss::MeanSquaredError, &[])?;
    /// model.fit_with(&table, None, &FitOptions::default().epochs(200).batch_size(8), &mut [])?;
    /// let scores = model.evaluate_regression(&table)?;
    /// assert!(scores.r2 > 0.99, "{scores:?}");
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn evaluate_regression(&mut self, data: &dyn Examples) -> Result<RegressionScores> {
        let out = self.output_units().unwrap_or(0);
        match data.target_kind() {
            TargetKind::Dense { width: 1 } if out == 1 => {}
            TargetKind::Dense { width } => {
                return Err(Error::Shape(format!(
                    "evaluate_regression: one output and one target value per example, not {out} outputs and {width} targets"
                )))
            }
            TargetKind::Classes { .. } => {
                return Err(Error::Value("evaluate_regression: the examples have classes, not values".into()))
            }
        }
        if data.is_empty() {
            return Err(Error::Value("evaluate_regression: no examples".into()));
        }
        let predicted = self.predict_with(data)?.to_vec();
        let indices: Vec<u32> = (0..data.len() as u32).collect();
        let mut targets = vec![0.0; data.len()];
        data.gather_rows(&indices, &mut targets)?;
        let n = targets.len() as f64;
        let mean = targets.iter().map(|&t| f64::from(t)).sum::<f64>() / n;
        let (mut sq, mut abs, mut dev) = (0.0f64, 0.0f64, 0.0f64);
        for (&p, &t) in predicted.iter().zip(&targets) {
            let e = f64::from(p) - f64::from(t);
            sq += e * e;
            abs += e.abs();
            dev += (f64::from(t) - mean).powi(2);
        }
        // scikit-learn's r2_score for constant targets: 1 when perfect, else 0.
        let r2 = if dev > 0.0 {
            1.0 - sq / dev
        } else if sq == 0.0 {
            1.0
        } else {
            0.0
        };
        Ok(RegressionScores { mse: sq / n, rmse: (sq / n).sqrt(), mae: abs / n, r2, count: data.len() })
    }

    /// The model's outputs for inputs of shape (n, features) (`model.predict(x)`).
    pub fn predict(&mut self, x: &Tensor) -> Result<Tensor> {
        let features = self.input_dim().ok_or_else(|| Error::Value("predict: the model has no layers".into()))?;
        self.check_tensor_input(x, "predict")?;
        if x.ndim() < 2 || x.shape()[1..].iter().product::<usize>() != features {
            return Err(Error::Shape(format!(
                "predict: expected inputs of shape {}, got {}",
                batch_shape_str(&self.input_shape().unwrap_or_default()),
                shape_str(x.shape())
            )));
        }
        let data = TensorExamples::new(x, &Tensor::zeros(&[x.shape()[0]]), None)?;
        self.predict_with(&data)
    }

    /// The model's outputs for every example of `data`, shape (n, outputs).
    pub fn predict_with(&mut self, data: &dyn Examples) -> Result<Tensor> {
        let out = self.output_units().ok_or_else(|| Error::Value("predict: no layers".into()))?;
        self.check_shape(data, "predict")?;
        if Some(data.features()) != self.input_dim() {
            return Err(Error::Shape(format!(
                "predict: the model takes {} features, the examples have {}",
                self.input_dim().unwrap_or(0),
                data.features()
            )));
        }
        let engine = ensure_engine(&mut self.engine, self.threads, &self.layers, &self.store, 0)?;
        let mut values = vec![0.0; data.len() * out];
        engine.predict(&self.layers, self.store.read()?.values(), data, &mut values)?;
        Tensor::from_vec(values, &[data.len(), out])
    }

    /// The output of every layer for one input `x` (`features` values), in order: `a[1],
    /// a[2], ..., a[L]` in the notes' notation, each of shape (units,). The last is what
    /// [`predict`](Sequential::predict) gives for that input; the web playground draws them
    /// all, and so does [`plot::layers_picture`](crate::plot::layers_picture).
    ///
    /// ```
    /// use neurite::{nn::{Activation, Dense}, train::Sequential};
    /// let mut model = Sequential::with_seed(0);
    /// model.add(Dense::new(3).activation(Activation::Sigmoid).input_shape(4))?;
    /// model.add(Dense::new(2).activation(Activation::Softmax))?;
    /// let a = model.layer_outputs(&[0.0, 0.5, 1.0, 0.25])?;
    /// assert_eq!((a[0].shape(), a[1].shape()), (&[3][..], &[2][..]));
    /// assert!((a[1].sum().item()? - 1.0).abs() < 1e-6);   // softmax: probabilities
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn layer_outputs(&self, x: &[f32]) -> Result<Vec<Tensor>> {
        let features = self.input_dim().ok_or_else(|| Error::Value("the model has no layers".into()))?;
        if x.len() != features {
            return Err(Error::Shape(format!("the model takes {features} inputs, the image has {} values", x.len())));
        }
        let shape = self.input_shape().unwrap_or_default();
        crate::autograd::no_grad(|| {
            let mut h = Var::constant(Tensor::from_vec(x.to_vec(), &shape)?);
            let mut out = Vec::with_capacity(self.layers.len());
            for l in 0..self.layers.len() {
                h = self.forward_layer(l, &h, Mode::Inference, Noise::default())?;
                out.push(h.value());
            }
            Ok(out)
        })
    }

    /// Layer `l` on autograd variables, in `mode`.
    fn forward_layer(&self, l: usize, x: &Var, mode: Mode, noise: Noise) -> Result<Var> {
        let layer = &self.layers[l];
        match layer.as_dense() {
            Some(dense) => Module::forward(dense, x),
            None => crate::nn::forward_var(layer.as_ref(), x, &self.vars[l], mode, noise),
        }
    }

    /// Checks that examples of `data` have the model's input shape where it matters: a model
    /// whose input is an image (or any shape of more than one axis) takes examples of that
    /// shape (a trailing axis of 1 aside: MNIST's `(28, 28)` is `(28, 28, 1)`), never flat
    /// rows; a model of flat inputs takes rows, or pictures it reads as rows.
    fn check_shape(&self, data: &dyn Examples, what: &str) -> Result<()> {
        let Some(want) = self.input_shape() else { return Ok(()) };
        let squeeze = |s: &[usize]| -> Vec<usize> {
            let mut s = s.to_vec();
            while s.len() > 1 && s.last() == Some(&1) {
                s.pop();
            }
            s
        };
        // A model of flat inputs takes any examples of its row length; examples that do not
        // know their shape (rows from a table, or rows a front end has checked already) are
        // taken by their row length too.
        if want.len() <= 1 {
            return Ok(());
        }
        let Some(got) = data.example_shape() else { return Ok(()) };
        if squeeze(&got) == squeeze(&want) {
            return Ok(());
        }
        let first = self.layers.first().map_or_else(|| "the model".to_string(), |l| display_name(l.as_ref()));
        Err(Error::Shape(if got.len() == 1 {
            format!(
                "{what}: the model's first layer ({first}) takes examples of shape {}, the data has flat rows of {} values; give it examples of that shape (x.reshape(-1, {})) or start the model with a Reshape",
                batch_shape_str(&want),
                got[0],
                want.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "{what}: the model's first layer ({first}) takes examples of shape {}, the data's are {}",
                batch_shape_str(&want),
                batch_shape_str(&got)
            )
        }))
    }

    /// Checks tensor inputs of more than two axes against a model of flat inputs (the
    /// reverse of [`Sequential::check_shape`]'s case): `(n, 28, 28, 1)` for a model of 784
    /// inputs is a mistake Keras refuses too.
    fn check_tensor_input(&self, x: &Tensor, what: &str) -> Result<()> {
        match self.input_shape() {
            Some(want) if want.len() == 1 && x.ndim() > 2 => Err(Error::Shape(format!(
                "{what}: the model takes flat rows of shape {}, x has shape {}; reshape it to (-1, {}) or start the model with Flatten",
                batch_shape_str(&want),
                shape_str(x.shape()),
                want[0]
            ))),
            _ => Ok(()),
        }
    }

    fn check_data(&self, data: &dyn Examples, loss: Loss) -> Result<()> {
        self.check_shape(data, "fit")?;
        self.check_rows(data, loss)
    }

    /// The row length and targets of `data` against the model (without allocating).
    fn check_rows(&self, data: &dyn Examples, loss: Loss) -> Result<()> {
        let features = self.input_dim().unwrap_or(0);
        if data.features() != features {
            return Err(Error::Shape(format!(
                "the model takes {features} features per example, the data has {}",
                data.features()
            )));
        }
        let out = self.output_units().unwrap_or(0);
        match data.target_kind() {
            TargetKind::Classes { classes } if classes > out && out > 1 => Err(Error::Shape(format!(
                "the data has {classes} classes but the model has {out} outputs"
            ))),
            TargetKind::Dense { width } if loss.takes_class_indices() => Err(Error::Value(format!(
                "{} needs class indices, the data has target rows of width {width} (use categorical_crossentropy for one-hot rows)",
                loss.name()
            ))),
            TargetKind::Dense { width } if width != out => Err(Error::Shape(format!(
                "the targets have {width} values per example but the model has {out} outputs"
            ))),
            _ => Ok(()),
        }
    }
}

impl Module for Sequential {
    /// The layers applied in turn to autograd variables (the PyTorch-style path).
    fn forward(&self, x: &Var) -> Result<Var> {
        let (mode, call) = if self.training {
            (Mode::Training, self.forward_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
        } else {
            (Mode::Inference, 0)
        };
        let mut h = x.clone();
        for l in 0..self.layers.len() {
            h = self.forward_layer(l, &h, mode, Noise::new(self.seed, call, l))?;
        }
        Ok(h)
    }

    /// The trained parameters, layer by layer (moving statistics are not among them).
    fn parameters(&self) -> Vec<Var> {
        self.layers
            .iter()
            .zip(&self.vars)
            .flat_map(|(l, vars)| {
                l.param_specs().into_iter().zip(vars).filter(|(s, _)| s.trainable).map(|(_, v)| v.clone())
            })
            .collect()
    }
}

/// The engine for `threads` threads, made if missing, with buffers for `layers` and batches
/// of up to `batch` examples (0: evaluation only).
fn ensure_engine<'a>(
    engine: &'a mut Option<Engine>,
    threads: usize,
    layers: &[Box<dyn Layer>],
    store: &ParamStore,
    batch: usize,
) -> Result<&'a mut Engine> {
    if engine.as_ref().is_none_or(|e| e.threads() != threads) {
        *engine = Some(Engine::new(threads)?);
    }
    let engine = engine.as_mut().ok_or_else(|| Error::Value("no engine".into()))?;
    engine.prepare(layers, store, batch)?;
    Ok(engine)
}

/// Checks that a fit resumed from `p` is the fit that was interrupted: the same plan, and a
/// position and an order that fit the data.
fn check_resume(p: &FitProgress, plan: &FitPlan, train_count: usize, steps: usize) -> Result<()> {
    if p.plan != *plan {
        return Err(Error::Value(format!(
            "resume: the fit was started with {:?}, this one asks for {plan:?}; resume it with the same options and data",
            p.plan
        )));
    }
    let mut sorted = p.order.clone();
    sorted.sort_unstable();
    if sorted.len() != train_count || sorted.iter().enumerate().any(|(i, &v)| v as usize != i) {
        return Err(Error::Value(format!(
            "resume: the recorded order is not an order of the {train_count} training examples"
        )));
    }
    // `steps_done == steps`: stopped after the epoch's last step, before its end (validation,
    // callbacks), which the resumed fit then runs.
    if p.epoch == 0 || p.steps_done > steps || p.history.epochs.len() != p.epoch - 1 {
        return Err(Error::Value(format!(
            "resume: epoch {}, step {} with {} epochs of history does not fit {steps} steps per epoch",
            p.epoch,
            p.steps_done,
            p.history.epochs.len()
        )));
    }
    Ok(())
}

fn not_compiled() -> Error {
    Error::Value("the model must be compiled first: model.compile(optimizer, loss, metrics)".into())
}

/// Keras' way of writing a number of bytes: `155.31 KB`, `0.00 B`.
fn memory_size(bytes: usize) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", units[unit])
}

/// `39760` as `39,760`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::nn::Dense;

    /// 64-32-10 for the bundled digits (`activation` in the hidden layer, softmax out) on
    /// `threads` threads, compiled with `optimizer`.
    fn digits_model(seed: u64, threads: usize, activation: Activation, optimizer: Optimizer) -> Sequential {
        let mut model = Sequential::with_seed(seed);
        model.set_threads(threads).unwrap();
        model.add(Dense::new(32).activation(activation).input_shape(64)).unwrap();
        model.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
        model.compile(optimizer, Loss::SparseCategoricalCrossentropy, &[]).unwrap();
        model
    }

    /// The model's parameters, in the store's order.
    fn values(model: &Sequential) -> Vec<f32> {
        model.store.read().unwrap().values().to_vec()
    }

    /// The parameters after 20 steps on the bundled digits with two threads, part B's rest
    /// (everything after the first layer's weight) whole on the first thread, as the engine
    /// takes a rest this small, or cut evenly between the threads.
    fn after_twenty_steps(activation: Activation, cut: bool) -> Vec<f32> {
        after_steps(activation, cut, Optimizer::adam().learning_rate(0.01), false).unwrap()
    }

    /// [`after_twenty_steps`] with `optimizer`, every fourth batch 12 examples if `short`
    /// (a second chunk without rows), or the first error.
    fn after_steps(activation: Activation, cut: bool, optimizer: Optimizer, short: bool) -> Result<Vec<f32>> {
        let (train, _) = Dataset::digits().unwrap();
        let mut model = digits_model(3, 2, activation, optimizer);
        let batch =
            |step: u32| -> Vec<u32> { (step * 32..step * 32 + if short && step % 4 == 3 { 12 } else { 32 }).collect() };
        model.train_on_batch(&train, &batch(0))?;
        let engine = model.engine.as_mut().unwrap();
        let whole = engine.rest_bounds().to_vec();
        assert_eq!(whole, [32 * 64, 32 * 64 + 32 + 330, 32 * 64 + 32 + 330], "the small rest is whole");
        if cut {
            engine.cut_rest_evenly().unwrap();
            assert_ne!(engine.rest_bounds(), whole, "cut evenly");
        }
        for step in 1..20 {
            model.train_on_batch(&train, &batch(step)).map_err(|e| match e {
                Error::Stopped(why) => Error::Stopped(format!(
                    "{why} (step {step}, {:?} done)",
                    model.optimizer_state().map(|s| s.iterations())
                )),
                e => e,
            })?;
        }
        Ok(values(&model))
    }

    #[test]
    fn one_job_per_thread_gives_the_numbers_of_two_joins() {
        use crate::train::engine::tests::{TOGETHER, TWO_JOINS};
        for activation in [Activation::Sigmoid, Activation::Relu] {
            for cut in [false, true] {
                // The short batches (their second chunk has no rows) run as two joins.
                let adam = || Optimizer::adam().learning_rate(0.01);
                TOGETHER.set(0);
                let together = after_steps(activation, cut, adam(), true).unwrap();
                assert_eq!(TOGETHER.get(), 15, "the full batches ran together");
                TWO_JOINS.set(true);
                let joins = after_steps(activation, cut, adam(), true).unwrap();
                TWO_JOINS.set(false);
                assert_eq!(TOGETHER.get(), 15, "none ran together");
                let differ = together.iter().zip(&joins).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
                assert_eq!(differ, 0, "{activation:?}, cut {cut}: {differ} of {} values differ", joins.len());
            }
        }
        // A step that diverges stops with the same error, after as many steps.
        let diverging = || after_steps(Activation::Relu, false, Optimizer::sgd().learning_rate(1e30), false);
        let together = diverging().unwrap_err().to_string();
        TWO_JOINS.set(true);
        let joins = diverging().unwrap_err().to_string();
        TWO_JOINS.set(false);
        assert!(together.contains("became"), "{together}");
        assert_eq!(together, joins);
    }

    #[test]
    fn a_batch_shorter_than_a_chunk_trains_on_its_own_rows_only() {
        // After a full batch, one of 10 rows: with two threads the second chunk has no rows,
        // and what it held from the full batch must not reach the gradient. One thread (other
        // sums, the same rows) is the reference.
        let (train, _) = Dataset::digits().unwrap();
        let after = |threads: usize| {
            let mut model = digits_model(5, threads, Activation::Sigmoid, Optimizer::sgd().learning_rate(0.5));
            model.train_on_batch(&train, &(0..32).collect::<Vec<u32>>()).unwrap();
            model.train_on_batch(&train, &(32..42).collect::<Vec<u32>>()).unwrap();
            values(&model)
        };
        let (two, one) = (after(2), after(1));
        let worst = two.iter().zip(&one).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "two threads and one differ by up to {worst}");
    }

    #[test]
    fn the_thread_that_computes_the_rest_does_not_change_it() {
        for activation in [Activation::Sigmoid, Activation::Relu] {
            let (whole, cut) = (after_twenty_steps(activation, false), after_twenty_steps(activation, true));
            let differ = whole.iter().zip(&cut).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
            assert_eq!(differ, 0, "{activation:?}: {differ} of {} values differ", whole.len());
        }
    }
}
