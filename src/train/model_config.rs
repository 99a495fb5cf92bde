//! A model's description as data ([`ModelConfig`]): its input shape and its layers'
//! configurations. Every front end builds its models from one: the command line from its
//! flags (the notes' MLP, or any stack written as `--layers "dense:256:relu,batchnorm,
//! dropout:0.3,dense:10:softmax"`), the playground from its settings, Python from its Keras
//! layers; model files and checkpoints store one. The training defaults every front end starts
//! from ([`DEFAULTS`]) are declared here, once.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::{
    Activation, BatchNormalizationConfig, Conv2DConfig, DenseConfig, DropoutConfig, FlattenConfig,
    GlobalAveragePooling2DConfig, Initializer, LayerConfig, Padding, PoolingConfig, ReshapeConfig,
};

/// Keras' "Simple MNIST convnet" example as `--layers` text: Conv2D(32, 3x3, relu),
/// MaxPooling2D(2), Conv2D(64, 3x3, relu), MaxPooling2D(2), Flatten, Dropout(0.5),
/// Dense(10, softmax), on `(28, 28, 1)` images (34,826 parameters).
pub const KERAS_CONVNET: &str =
    "conv:32:3:relu,maxpool:2,conv:64:3:relu,maxpool:2,flatten,dropout:0.5,dense:10:softmax";

/// The named architectures `--layers` accepts in place of a list.
pub const PRESETS: &[(&str, &str)] = &[("keras-convnet", KERAS_CONVNET)];

/// The settings the notes' program trains with, which the command line, the playground and
/// Python start from: Dense(50, sigmoid), Dense(classes, softmax), Glorot-uniform kernels,
/// Adam at Keras' learning rate, batch 32, 10 epochs, seed 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingDefaults {
    /// Units of the one hidden layer.
    pub hidden: usize,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The output layer's activation for more than two classes.
    pub output: Activation,
    /// How kernels start.
    pub init: Initializer,
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// The seed of the weights, the shuffling and dropout's masks.
    pub seed: u64,
    /// The optimiser's name (Keras' `"adam"`).
    pub optimizer: &'static str,
}

/// The one declaration of the training defaults.
pub const DEFAULTS: TrainingDefaults = TrainingDefaults {
    hidden: 50,
    activation: Activation::Sigmoid,
    output: Activation::Softmax,
    init: Initializer::GlorotUniform,
    epochs: 10,
    batch_size: 32,
    seed: 0,
    optimizer: "adam",
};

/// A model's architecture as data (Keras' `model.get_config()`): its name, the shape of an
/// example when given apart from the layers (Keras' `keras.Input(shape=...)`), and its layers'
/// configurations, serialisable, so that model files, checkpoints, import and export read
/// and write one description of any model.
///
/// ```
/// use neurite::{nn::{Activation, Dense}, train::Sequential};
/// let mut model = Sequential::with_seed(0);
/// model.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(784))?;
/// model.add(Dense::new(10).activation(Activation::Softmax))?;
/// let json = serde_json::to_string(&model.config()).unwrap();
/// assert!(json.starts_with(r#"{"name":"sequential","layers":[{"class_name":"Dense","config":{"units":50,"#));
/// let again = Sequential::from_config(&serde_json::from_str(&json).unwrap(), 0)?;
/// assert_eq!(again.summary(), model.summary());
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The model's name (`sequential`).
    pub name: String,
    /// The layers, input to output.
    pub layers: Vec<LayerConfig>,
    /// The shape of one example (`[784]`, `[28, 28, 1]`), when the model declares it with an
    /// input rather than on its first layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Vec<usize>>,
}

impl ModelConfig {
    /// A model description from an input shape and layers.
    pub fn new(input_shape: Option<Vec<usize>>, layers: Vec<LayerConfig>) -> ModelConfig {
        ModelConfig { name: "sequential".into(), layers, input_shape }
    }

    /// The notes' multi-layer perceptron for examples of `input` shape: a Flatten when the
    /// examples are not flat, dense layers of `hidden` units with `activation`, then `outputs`
    /// units with `output`, every kernel drawn by `init`.
    ///
    /// ```
    /// use neurite::nn::{Activation, Initializer};
    /// use neurite::train::{ModelConfig, Sequential};
    /// let config = ModelConfig::mlp(&[784], &[50], Activation::Sigmoid, 10, Activation::Softmax, Initializer::GlorotUniform);
    /// assert_eq!(Sequential::from_config(&config, 0)?.param_count(), 39_760);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn mlp(
        input: &[usize],
        hidden: &[usize],
        activation: Activation,
        outputs: usize,
        output: Activation,
        init: Initializer,
    ) -> ModelConfig {
        let dense = |units, activation| {
            LayerConfig::Dense(DenseConfig {
                units,
                input_dim: None,
                activation,
                use_bias: true,
                kernel_initializer: init,
                bias_initializer: Initializer::Zeros,
                name: None,
            })
        };
        let mut layers = vec![];
        if input.len() != 1 {
            layers.push(LayerConfig::Flatten(FlattenConfig::default()));
        }
        layers.extend(hidden.iter().map(|&units| dense(units, activation)));
        layers.push(dense(outputs, output));
        ModelConfig::new(Some(input.to_vec()), layers)
    }

    /// The number of values an example has at the input and after each layer, computed from
    /// the shapes alone (what the command line's memory check multiplies by the batch).
    pub fn widths(&self) -> Result<Vec<usize>> {
        let size = |s: &[usize]| {
            s.iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .ok_or_else(|| Error::Value(format!("an example of shape {s:?} has too many values")))
        };
        let mut shape = self.first_shape()?;
        let mut out = vec![size(&shape)?];
        for (i, config) in self.layers.iter().enumerate() {
            shape =
                config.clone().into_layer().output_shape(&shape).map_err(|e| e.context(format!("layer {}", i + 1)))?;
            out.push(size(&shape)?);
        }
        Ok(out)
    }

    /// The shape of an example: the description's input, or its first layer's.
    fn first_shape(&self) -> Result<Vec<usize>> {
        match (&self.input_shape, self.layers.first()) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(first)) => first
                .clone()
                .into_layer()
                .declared_input()
                .ok_or_else(|| Error::Value("the first layer does not say its input shape".into())),
            (None, None) => Ok(vec![]),
        }
    }

    /// Number of parameter values the description makes, computed from the shapes alone
    /// (nothing is allocated): an error names the first layer whose shapes do not fit or whose
    /// parameters are too many to count. What a file's architecture claims is checked with this
    /// before any layer is built.
    pub fn param_count(&self) -> Result<usize> {
        let mut shape = self.first_shape()?;
        let mut total = 0usize;
        for (i, config) in self.layers.iter().enumerate() {
            let mut layer = config.clone().into_layer();
            let next = layer.output_shape(&shape).map_err(|e| e.context(format!("layer {}", i + 1)))?;
            layer.build(&shape)?;
            for spec in layer.param_specs() {
                let n = spec.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
                total = n.and_then(|n| total.checked_add(n)).ok_or_else(|| {
                    Error::Value(format!("layer {} ({}): too many parameters to count", i + 1, config.class_name()))
                })?;
            }
            shape = next;
        }
        Ok(total)
    }

    /// A stack of layers written compactly, for examples of `input` shape: items separated by
    /// commas, each `dense:UNITS[:ACTIVATION]`, `dropout:RATE`, `batchnorm[:MOMENTUM[:EPSILON]]`,
    /// `flatten` or `reshape:D1xD2x...` (one `-1` allowed). Dense kernels are drawn by `init`.
    ///
    /// ```
    /// use neurite::nn::Initializer;
    /// use neurite::train::{ModelConfig, Sequential};
    /// let config = ModelConfig::parse_layers(&[784], "dense:256:relu,batchnorm,dropout:0.3,dense:10:softmax", Initializer::GlorotUniform)?;
    /// let model = Sequential::from_config(&config, 0)?;
    /// assert!(model.summary().contains("Non-trainable params: 512 (2.00 KB)"));
    /// assert!(ModelConfig::parse_layers(&[784], "dense:ten", Initializer::GlorotUniform).is_err());
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn parse_layers(input: &[usize], text: &str, init: Initializer) -> Result<ModelConfig> {
        let text = PRESETS.iter().find(|(name, _)| text.trim().eq_ignore_ascii_case(name)).map_or(text, |(_, t)| t);
        let mut layers = vec![];
        for (i, item) in text.split(',').map(str::trim).enumerate() {
            let fields: Vec<&str> = item.split(':').map(str::trim).collect();
            let bad = |why: &str| {
                Error::Value(format!(
                    "layer {} of {:?}: {item:?} {why} (dense:UNITS[:ACTIVATION], dropout:RATE, batchnorm[:MOMENTUM[:EPSILON]], flatten, reshape:D1xD2x..., conv:FILTERS:K[xK][:ACTIVATION][:sSTRIDE][:same], maxpool[:K][:sSTRIDE][:same], avgpool[...], globalavgpool, or a preset: keras-convnet)",
                    i + 1,
                    cut(text, 200)
                ))
            };
            let number = |s: &str, what: &str| -> Result<f32> {
                s.parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(&format!("has {what} {s:?}, not a number")))
            };
            let layer = match (fields[0].to_ascii_lowercase().as_str(), &fields[1..]) {
                ("dense", [units, rest @ ..]) if rest.len() <= 1 => {
                    let units: usize = units
                        .parse()
                        .ok()
                        .filter(|&u| u > 0)
                        .ok_or_else(|| bad("needs a number of units of at least 1"))?;
                    let activation = match rest.first() {
                        Some(a) => a.parse::<Activation>().map_err(|e| bad(&e.to_string()))?,
                        None => Activation::Identity,
                    };
                    LayerConfig::Dense(DenseConfig {
                        units,
                        input_dim: None,
                        activation,
                        use_bias: true,
                        kernel_initializer: init,
                        bias_initializer: Initializer::Zeros,
                        name: None,
                    })
                }
                ("dropout", [rate]) => {
                    LayerConfig::Dropout(DropoutConfig { rate: number(rate, "a rate")?, seed: None, name: None })
                }
                ("batchnorm" | "batchnormalization" | "batch_normalization", rest) if rest.len() <= 2 => {
                    let mut c = BatchNormalizationConfig::default();
                    if let Some(m) = rest.first() {
                        c.momentum = number(m, "a momentum")?;
                    }
                    if let Some(e) = rest.get(1) {
                        c.epsilon = number(e, "an epsilon")?;
                    }
                    LayerConfig::BatchNormalization(c)
                }
                ("flatten", []) => LayerConfig::Flatten(FlattenConfig::default()),
                ("reshape", [dims]) => {
                    let target_shape = dims
                        .split('x')
                        .map(|d| d.trim().parse::<i64>().ok().filter(|&d| d == -1 || d > 0))
                        .collect::<Option<Vec<i64>>>()
                        .ok_or_else(|| bad("needs dimensions like 28x28x1"))?;
                    LayerConfig::Reshape(ReshapeConfig { target_shape, name: None })
                }
                ("conv" | "conv2d", [filters, kernel, rest @ ..]) => {
                    let filters: usize = filters
                        .parse()
                        .ok()
                        .filter(|&f| f > 0)
                        .ok_or_else(|| bad("needs a number of filters of at least 1"))?;
                    let kernel_size = size_pair(kernel).ok_or_else(|| bad("needs a kernel size like 3 or 3x5"))?;
                    let mut c = Conv2DConfig {
                        filters,
                        kernel_size,
                        strides: [1, 1],
                        padding: Padding::Valid,
                        activation: Activation::Identity,
                        use_bias: true,
                        kernel_initializer: init,
                        bias_initializer: Initializer::Zeros,
                        input_shape: None,
                        name: None,
                    };
                    for field in rest {
                        match window_option(field) {
                            Some(WindowOption::Strides(s)) => c.strides = s,
                            Some(WindowOption::Padding(p)) => c.padding = p,
                            None => c.activation = field.parse::<Activation>().map_err(|e| bad(&e.to_string()))?,
                        }
                    }
                    LayerConfig::Conv2D(c)
                }
                (kind @ ("maxpool" | "maxpooling2d" | "avgpool" | "averagepooling2d"), rest) if rest.len() <= 3 => {
                    let mut c = PoolingConfig::default();
                    for (j, field) in rest.iter().enumerate() {
                        match window_option(field) {
                            Some(WindowOption::Strides(s)) => c.strides = Some(s),
                            Some(WindowOption::Padding(p)) => c.padding = p,
                            None if j == 0 => {
                                c.pool_size =
                                    size_pair(field).ok_or_else(|| bad("needs a window size like 2 or 2x2"))?
                            }
                            None => {
                                return Err(bad(&format!(
                                    "has {field:?}, not a stride (s2) or a padding (same, valid)"
                                )))
                            }
                        }
                    }
                    if kind.starts_with("max") {
                        LayerConfig::MaxPooling2D(c)
                    } else {
                        LayerConfig::AveragePooling2D(c)
                    }
                }
                ("globalavgpool" | "globalaveragepooling2d" | "gap", []) => {
                    LayerConfig::GlobalAveragePooling2D(GlobalAveragePooling2DConfig::default())
                }
                _ => return Err(bad("is not a layer neurite knows, or has the wrong number of fields")),
            };
            layers.push(layer);
        }
        Ok(ModelConfig::new(Some(input.to_vec()), layers))
    }

    /// Whether the model's first layer reads images (a convolution or a pooling layer).
    pub fn takes_images(&self) -> bool {
        self.layers.first().is_some_and(LayerConfig::takes_images)
    }
}

/// `3` as `[3, 3]`, `3x5` as `[3, 5]` (sizes of at least 1).
fn size_pair(text: &str) -> Option<[usize; 2]> {
    let values: Option<Vec<usize>> = text.split('x').map(|d| d.trim().parse().ok().filter(|&d| d > 0)).collect();
    crate::nn::window_pair(&values?)
}

/// An option of a convolution or pooling layer in `--layers`.
enum WindowOption {
    Strides([usize; 2]),
    Padding(Padding),
}

/// `s2` (or `s2x1`) as strides, `same` or `valid` as the padding; None for anything else.
fn window_option(field: &str) -> Option<WindowOption> {
    match field.to_ascii_lowercase().as_str() {
        "same" => Some(WindowOption::Padding(Padding::Same)),
        "valid" => Some(WindowOption::Padding(Padding::Valid)),
        f => f.strip_prefix('s').and_then(size_pair).map(WindowOption::Strides),
    }
}

/// `text` cut to `max` characters for a message, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}
