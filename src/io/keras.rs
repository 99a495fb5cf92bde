//! Keras' own descriptions of layers and models, read into neurite's [`ModelConfig`]: the JSON
//! `model.to_json()` writes (Keras 3, and Keras 2's `batch_input_shape` spelling), and single
//! layer configurations as Keras' `layer.get_config()` gives them, which is how neurite's
//! Python package passes its layers. One adapter for both, so that a layer means the same
//! whichever way it arrives.
//!
//! A configuration neurite cannot honour (a regulariser, a constraint, an axis other than the
//! last, a layer kind it does not have) is an error that names the layer and the key, never
//! silently dropped.
//!
//! ```
//! use neurite::{io::keras, train::Sequential};
//! let json = r#"{"class_name": "Sequential", "config": {"name": "sequential", "layers": [
//!   {"class_name": "InputLayer", "config": {"batch_shape": [null, 784], "name": "input_layer"}},
//!   {"class_name": "Dense", "config": {"name": "dense", "units": 256, "activation": "relu", "use_bias": true,
//!     "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}},
//!     "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}},
//!     "kernel_regularizer": null}},
//!   {"class_name": "BatchNormalization", "config": {"name": "batch_normalization", "axis": -1, "momentum": 0.99, "epsilon": 0.001}},
//!   {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.3, "seed": null}},
//!   {"class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax"}}]}}"#;
//! let config = keras::model_config_from_json(json)?;
//! let model = Sequential::from_config(&config, 0)?;
//! assert_eq!(model.param_count(), 784 * 256 + 256 + 4 * 256 + 2570);
//! assert!(keras::model_config_from_json(&json.replace("\"kernel_regularizer\": null", "\"kernel_regularizer\": \"l2\"")).is_err());
//! # Ok::<(), neurite::Error>(())
//! ```

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::nn::layer::snake_case;
use crate::nn::{
    Activation, BatchNormalizationConfig, Conv2DConfig, DenseConfig, DropoutConfig, FlattenConfig,
    GlobalAveragePooling2DConfig, Initializer, LayerConfig, Padding, PoolingConfig, ReshapeConfig,
};
use crate::train::ModelConfig;

/// Keys every Keras layer may carry that change nothing neurite computes.
const HARMLESS: &[&str] = &["name", "trainable", "dtype", "module", "registered_name", "build_config", "autocast"];

/// A model description from the JSON of Keras' `model.to_json()` (a `Sequential`).
pub fn model_config_from_json(text: &str) -> Result<ModelConfig> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Error::Format(format!("a Keras model's JSON: not valid JSON: {e}")))?;
    let class = value.get("class_name").and_then(Value::as_str).unwrap_or("");
    if class != "Sequential" {
        return Err(Error::Format(format!(
            "a Keras model's JSON: neurite reads Sequential models, this one is {class:?}"
        )));
    }
    let config = value.get("config").and_then(Value::as_object).ok_or_else(|| bad("the model", "config", "missing"))?;
    let layers = config.get("layers").and_then(Value::as_array).ok_or_else(|| bad("the model", "layers", "missing"))?;
    let mut input_shape = None;
    let mut out = vec![];
    for (i, layer) in layers.iter().enumerate() {
        let class = layer.get("class_name").and_then(Value::as_str).unwrap_or("");
        let empty = Map::new();
        let config = layer.get("config").and_then(Value::as_object).unwrap_or(&empty);
        let what = format!("layer {} ({class})", i + 1);
        if class == "InputLayer" {
            input_shape =
                Some(batch_shape(&what, config.get("batch_shape").or_else(|| config.get("batch_input_shape")))?);
            continue;
        }
        // Keras 2 put the input on the first layer.
        if out.is_empty() && input_shape.is_none() {
            if let Some(shape) = config.get("batch_input_shape").or_else(|| config.get("batch_shape")) {
                input_shape = Some(batch_shape(&what, Some(shape))?);
            }
        }
        out.push(layer_config(class, config).map_err(|e| e.context(&what))?);
    }
    if input_shape.is_none() {
        if let Some(shape) = config.get("build_input_shape") {
            input_shape = Some(batch_shape("the model", Some(shape))?);
        }
    }
    let mut model = ModelConfig::new(input_shape, out);
    if let Some(name) = config.get("name").and_then(Value::as_str) {
        model.name = name.to_string();
    }
    Ok(model)
}

/// One layer from Keras' class name and its `get_config()` as JSON text.
pub fn layer_config_from_json(class: &str, config: &str) -> Result<LayerConfig> {
    let value: Value = serde_json::from_str(config)
        .map_err(|e| Error::Value(format!("Keras {class}: its configuration is not valid JSON: {e}")))?;
    let map = value.as_object().ok_or_else(|| bad(class, "config", "is not a JSON object"))?;
    layer_config(class, map)
}

/// One layer from Keras' class name and `get_config()` keys.
pub fn layer_config(class: &str, config: &Map<String, Value>) -> Result<LayerConfig> {
    let name = config.get("name").and_then(Value::as_str).map(str::to_string);
    let allowed: &[&str] = match class {
        "Dense" => &[
            "units",
            "activation",
            "use_bias",
            "kernel_initializer",
            "bias_initializer",
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "lora_rank",
            "lora_alpha",
            "input_dim",
            "input_shape",
            "batch_input_shape",
            "batch_shape",
            "quantization_config",
        ],
        "Dropout" => &["rate", "seed", "noise_shape"],
        "BatchNormalization" => &[
            "axis",
            "momentum",
            "epsilon",
            "center",
            "scale",
            "beta_initializer",
            "gamma_initializer",
            "moving_mean_initializer",
            "moving_variance_initializer",
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
            "synchronized",
            "renorm",
            "renorm_clipping",
            "renorm_momentum",
            "input_shape",
            "batch_input_shape",
            "batch_shape",
        ],
        "Flatten" => &["data_format", "input_shape", "batch_input_shape", "batch_shape"],
        "Reshape" => &["target_shape", "input_shape", "batch_input_shape", "batch_shape"],
        "Conv2D" => &[
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "data_format",
            "dilation_rate",
            "groups",
            "activation",
            "use_bias",
            "kernel_initializer",
            "bias_initializer",
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "lora_rank",
            "lora_alpha",
            "input_shape",
            "batch_input_shape",
            "batch_shape",
        ],
        "MaxPooling2D" | "AveragePooling2D" => {
            &["pool_size", "strides", "padding", "data_format", "input_shape", "batch_input_shape", "batch_shape"]
        }
        "GlobalAveragePooling2D" => &["data_format", "keepdims", "input_shape", "batch_input_shape", "batch_shape"],
        other => {
            return Err(Error::Value(format!(
                "neurite has no {other} layer (it has Dense, Dropout, BatchNormalization, Flatten, Reshape, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D)"
            )))
        }
    };
    for (key, value) in config {
        if !HARMLESS.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
            return Err(bad(class, key, "is not a setting neurite knows"));
        }
        let must_be_null = key.ends_with("_regularizer")
            || key.ends_with("_constraint")
            || key == "noise_shape"
            || key == "lora_rank"
            || key == "quantization_config"
            || key == "renorm_clipping";
        if must_be_null && !value.is_null() {
            return Err(bad(class, key, &format!("is {value}; neurite supports only null")));
        }
        if key == "renorm" && value.as_bool() != Some(false) {
            return Err(bad(class, key, &format!("is {value}; neurite has no batch renormalisation")));
        }
    }
    let get_f32 = |key: &str, default: f32| -> Result<f32> {
        match config.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_f64().map(|v| v as f32).ok_or_else(|| bad(class, key, "is not a number")),
        }
    };
    if let Some(format) = config.get("data_format").and_then(Value::as_str) {
        if format != "channels_last" {
            return Err(bad(class, "data_format", &format!("is {format:?}; neurite's images are channels_last")));
        }
    }
    // `kernel_size`, `strides`, `pool_size`, `dilation_rate`: one number, or one per axis.
    let get_pair = |key: &str| -> Result<Option<[usize; 2]>> {
        match config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let values: Option<Vec<usize>> = match v {
                    Value::Array(a) => a.iter().map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok())).collect(),
                    other => other.as_u64().and_then(|d| usize::try_from(d).ok()).map(|d| vec![d]),
                };
                values
                    .as_deref()
                    .and_then(crate::nn::window_pair)
                    .map(Some)
                    .ok_or_else(|| bad(class, key, &format!("is {v}; expected a size or [height, width]")))
            }
        }
    };
    let get_padding = || -> Result<Padding> {
        match config.get("padding").and_then(Value::as_str) {
            None => Ok(Padding::Valid),
            Some("valid") => Ok(Padding::Valid),
            Some("same") => Ok(Padding::Same),
            Some(other) => Err(bad(class, "padding", &format!("is {other:?}; neurite has \"valid\" and \"same\""))),
        }
    };
    let image_input = || -> Option<Vec<usize>> {
        match config
            .get("input_shape")
            .or_else(|| config.get("batch_input_shape"))
            .or_else(|| config.get("batch_shape"))
        {
            Some(Value::Array(dims)) => {
                let skip = usize::from(!config.contains_key("input_shape"));
                dims.iter().skip(skip).map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok())).collect()
            }
            _ => None,
        }
    };
    // `units`, `filters`: a size of at least 1.
    let positive = |key: &str| -> Result<usize> {
        config
            .get(key)
            .and_then(Value::as_u64)
            .filter(|&u| u > 0)
            .and_then(|u| usize::try_from(u).ok())
            .ok_or_else(|| bad(class, key, "is not a positive integer"))
    };
    // A layer's kernel and bias initialisers, Keras' defaults when absent.
    let kernel_and_bias = || -> Result<(Initializer, Initializer)> {
        Ok((
            initializer(class, "kernel_initializer", config.get("kernel_initializer"), Initializer::GlorotUniform)?,
            initializer(class, "bias_initializer", config.get("bias_initializer"), Initializer::Zeros)?,
        ))
    };
    let get_bool = |key: &str, default: bool| -> Result<bool> {
        match config.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| bad(class, key, "is not true or false")),
        }
    };
    Ok(match class {
        "Dense" => {
            let units = positive("units")?;
            let (kernel_initializer, bias_initializer) = kernel_and_bias()?;
            let input_dim = match config.get("input_dim") {
                Some(Value::Number(n)) => Some(
                    n.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| bad(class, "input_dim", "is not a size"))?,
                ),
                _ => match config.get("input_shape") {
                    Some(Value::Array(dims)) if dims.len() == 1 => Some(
                        dims[0]
                            .as_u64()
                            .and_then(|n| usize::try_from(n).ok())
                            .ok_or_else(|| bad(class, "input_shape", "is not a size"))?,
                    ),
                    _ => None,
                },
            };
            LayerConfig::Dense(DenseConfig {
                units,
                input_dim,
                activation: activation(class, config.get("activation"))?,
                use_bias: get_bool("use_bias", true)?,
                kernel_initializer,
                bias_initializer,
                name,
            })
        }
        "Dropout" => LayerConfig::Dropout(DropoutConfig {
            rate: config.get("rate").and_then(Value::as_f64).ok_or_else(|| bad(class, "rate", "is missing"))? as f32,
            seed: config.get("seed").and_then(Value::as_u64),
            name,
        }),
        "BatchNormalization" => {
            let axis = config.get("axis").cloned().unwrap_or(Value::from(-1));
            let last =
                axis.as_i64() == Some(-1) || axis.as_array().is_some_and(|a| a.len() == 1 && a[0].as_i64() == Some(-1));
            if !last {
                return Err(bad(class, "axis", &format!("is {axis}; neurite normalises the last axis (-1)")));
            }
            for (key, default) in [
                ("gamma_initializer", Initializer::Ones),
                ("beta_initializer", Initializer::Zeros),
                ("moving_mean_initializer", Initializer::Zeros),
                ("moving_variance_initializer", Initializer::Ones),
            ] {
                if initializer(class, key, config.get(key), default)? != default {
                    return Err(bad(class, key, "is not Keras' default, the only one neurite supports"));
                }
            }
            LayerConfig::BatchNormalization(BatchNormalizationConfig {
                momentum: get_f32("momentum", 0.99)?,
                epsilon: get_f32("epsilon", 1e-3)?,
                center: get_bool("center", true)?,
                scale: get_bool("scale", true)?,
                name,
            })
        }
        "Flatten" => {
            if let Some(format) = config.get("data_format").and_then(Value::as_str) {
                if format != "channels_last" {
                    return Err(bad(
                        class,
                        "data_format",
                        &format!("is {format:?}; neurite's images are channels_last"),
                    ));
                }
            }
            LayerConfig::Flatten(FlattenConfig { name })
        }
        "Reshape" => {
            let target_shape = config
                .get("target_shape")
                .and_then(Value::as_array)
                .and_then(|dims| dims.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>())
                .ok_or_else(|| bad(class, "target_shape", "is not a list of sizes"))?;
            LayerConfig::Reshape(ReshapeConfig { target_shape, name })
        }
        "Conv2D" => {
            if get_pair("dilation_rate")?.is_some_and(|d| d != [1, 1]) {
                return Err(bad(class, "dilation_rate", "is not 1; neurite has no dilated convolution"));
            }
            if config.get("groups").and_then(Value::as_u64).is_some_and(|g| g != 1) {
                return Err(bad(class, "groups", "is not 1; neurite has no grouped convolution"));
            }
            let filters = positive("filters")?;
            let (kernel_initializer, bias_initializer) = kernel_and_bias()?;
            LayerConfig::Conv2D(Conv2DConfig {
                filters,
                kernel_size: get_pair("kernel_size")?.ok_or_else(|| bad(class, "kernel_size", "is missing"))?,
                strides: get_pair("strides")?.unwrap_or([1, 1]),
                padding: get_padding()?,
                activation: activation(class, config.get("activation"))?,
                use_bias: get_bool("use_bias", true)?,
                kernel_initializer,
                bias_initializer,
                input_shape: image_input(),
                name,
            })
        }
        "MaxPooling2D" | "AveragePooling2D" => {
            let pooling = PoolingConfig {
                pool_size: get_pair("pool_size")?.unwrap_or([2, 2]),
                strides: get_pair("strides")?,
                padding: get_padding()?,
                input_shape: image_input(),
                name,
            };
            if class == "MaxPooling2D" {
                LayerConfig::MaxPooling2D(pooling)
            } else {
                LayerConfig::AveragePooling2D(pooling)
            }
        }
        "GlobalAveragePooling2D" => LayerConfig::GlobalAveragePooling2D(GlobalAveragePooling2DConfig {
            keepdims: get_bool("keepdims", false)?,
            input_shape: image_input(),
            name,
        }),
        _ => unreachable!("the kinds are matched above"),
    })
}

/// A layer's configuration as Keras' `get_config()` spells it (the keys [`layer_config`]
/// reads back): what neurite's Python package rebuilds its layer objects from.
pub fn to_keras_config(layer: &LayerConfig) -> Value {
    let initializer = |i: &Initializer| -> Value {
        match *i {
            Initializer::Uniform { low, high } => {
                serde_json::json!({"class_name": "RandomUniform", "config": {"minval": low, "maxval": high}})
            }
            Initializer::Normal { mean, std } => {
                serde_json::json!({"class_name": "RandomNormal", "config": {"mean": mean, "stddev": std}})
            }
            Initializer::Constant { value } => {
                serde_json::json!({"class_name": "Constant", "config": {"value": value}})
            }
            other => Value::from(other.name()),
        }
    };
    match layer {
        LayerConfig::Dense(c) => serde_json::json!({
            "name": c.name, "units": c.units, "activation": c.activation.to_string(), "use_bias": c.use_bias,
            "kernel_initializer": initializer(&c.kernel_initializer), "bias_initializer": initializer(&c.bias_initializer),
        }),
        LayerConfig::Dropout(c) => serde_json::json!({"name": c.name, "rate": c.rate, "seed": c.seed}),
        LayerConfig::BatchNormalization(c) => serde_json::json!({
            "name": c.name, "axis": -1, "momentum": c.momentum, "epsilon": c.epsilon, "center": c.center, "scale": c.scale,
        }),
        LayerConfig::Flatten(c) => serde_json::json!({"name": c.name}),
        LayerConfig::Reshape(c) => serde_json::json!({"name": c.name, "target_shape": c.target_shape}),
        LayerConfig::Conv2D(c) => serde_json::json!({
            "name": c.name, "filters": c.filters, "kernel_size": c.kernel_size, "strides": c.strides,
            "padding": c.padding.name(), "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
            "activation": c.activation.to_string(), "use_bias": c.use_bias,
            "kernel_initializer": initializer(&c.kernel_initializer), "bias_initializer": initializer(&c.bias_initializer),
        }),
        LayerConfig::MaxPooling2D(c) | LayerConfig::AveragePooling2D(c) => serde_json::json!({
            "name": c.name, "pool_size": c.pool_size, "strides": c.strides.unwrap_or(c.pool_size),
            "padding": c.padding.name(), "data_format": "channels_last",
        }),
        LayerConfig::GlobalAveragePooling2D(c) => {
            serde_json::json!({"name": c.name, "data_format": "channels_last", "keepdims": c.keepdims})
        }
    }
}

/// `[null, 28, 28, 1]` as `[28, 28, 1]`.
fn batch_shape(what: &str, value: Option<&Value>) -> Result<Vec<usize>> {
    let dims = value.and_then(Value::as_array).ok_or_else(|| bad(what, "batch_shape", "is missing"))?;
    dims.iter()
        .skip(1)
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()).filter(|&d| d > 0))
        .collect::<Option<Vec<usize>>>()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            bad(what, "batch_shape", &format!("is {}; expected [null, sizes...]", Value::Array(dims.clone())))
        })
}

/// Keras' activation: a name (`"relu"`), null for linear, or a serialised function.
fn activation(class: &str, value: Option<&Value>) -> Result<Activation> {
    match value {
        None | Some(Value::Null) => Ok(Activation::Identity),
        Some(Value::String(name)) => name.parse().map_err(|e: Error| bad(class, "activation", &e.to_string())),
        Some(Value::Object(o)) => match o.get("config").and_then(|c| c.get("name")).or_else(|| o.get("class_name")) {
            Some(Value::String(name)) => name.parse().map_err(|e: Error| bad(class, "activation", &e.to_string())),
            _ => Err(bad(class, "activation", "is not a name neurite knows")),
        },
        Some(other) => Err(bad(class, "activation", &format!("is {other}"))),
    }
}

/// Keras' initialiser: a name (`"glorot_uniform"`) or `{"class_name": "RandomUniform", "config":
/// {"minval": ..., "maxval": ...}}`.
fn initializer(class: &str, key: &str, value: Option<&Value>, default: Initializer) -> Result<Initializer> {
    let (name, config) = match value {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(name)) => (snake_case(name), None),
        Some(Value::Object(o)) => (
            snake_case(o.get("class_name").and_then(Value::as_str).unwrap_or("")),
            o.get("config").and_then(Value::as_object),
        ),
        Some(other) => return Err(bad(class, key, &format!("is {other}"))),
    };
    let number =
        |k: &str, d: f32| -> f32 { config.and_then(|c| c.get(k)).and_then(Value::as_f64).map_or(d, |v| v as f32) };
    Ok(match name.as_str() {
        "random_uniform" => Initializer::Uniform { low: number("minval", -0.05), high: number("maxval", 0.05) },
        "random_normal" => Initializer::Normal { mean: number("mean", 0.0), std: number("stddev", 0.05) },
        "constant" => Initializer::Constant { value: number("value", 0.0) },
        other => other.parse().map_err(|e: Error| bad(class, key, &e.to_string()))?,
    })
}

fn bad(what: &str, key: &str, why: &str) -> Error {
    Error::Value(format!("Keras {what}: {key} {why}"))
}
