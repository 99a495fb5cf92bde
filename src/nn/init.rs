//! Weight initialisers, with Keras' definitions and defaults.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// How a layer's parameters are drawn before training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Initializer {
    /// All zeros (Keras' default for biases; a weight matrix of zeros cannot break symmetry).
    Zeros,
    /// All ones.
    Ones,
    /// Every value the same.
    Constant {
        /// The value.
        value: f32,
    },
    /// Uniform in `[low, high)` (Keras `RandomUniform`, default -0.05..0.05).
    Uniform {
        /// Lower bound.
        low: f32,
        /// Upper bound.
        high: f32,
    },
    /// Normal (Keras `RandomNormal`, default mean 0, std 0.05).
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Uniform in `±sqrt(6 / (fan_in + fan_out))`: Xavier Glorot's, Keras' default for Dense.
    GlorotUniform,
    /// Truncated normal with std `sqrt(2 / (fan_in + fan_out))` (before truncation at 2 std).
    GlorotNormal,
    /// Uniform in `±sqrt(6 / fan_in)`: Kaiming He's, for ReLU layers.
    HeUniform,
    /// Truncated normal with std `sqrt(2 / fan_in)`.
    HeNormal,
}

/// Keras divides by this so that a normal truncated at two standard deviations keeps the
/// intended variance.
const TRUNCATED_STD_CORRECTION: f32 = 0.879_625_7;

impl Initializer {
    /// Keras' `RandomUniform()` defaults.
    pub const UNIFORM: Initializer = Initializer::Uniform { low: -0.05, high: 0.05 };
    /// Keras' `RandomNormal()` defaults.
    pub const NORMAL: Initializer = Initializer::Normal { mean: 0.0, std: 0.05 };

    /// A tensor of `shape` for a layer with `fan_in` inputs and `fan_out` outputs.
    ///
    /// ```
    /// use neurite::{nn::Initializer, Rng};
    /// let w = Initializer::GlorotUniform.init(&[784, 50], 784, 50, &mut Rng::new(1));
    /// let limit = (6.0f32 / (784.0 + 50.0)).sqrt();
    /// assert!(w.to_vec().iter().all(|v| v.abs() <= limit));
    /// ```
    pub fn init(&self, shape: &[usize], fan_in: usize, fan_out: usize, rng: &mut Rng) -> Tensor {
        let (fi, fo) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
        match *self {
            Initializer::Zeros => Tensor::zeros(shape),
            Initializer::Ones => Tensor::ones(shape),
            Initializer::Constant { value } => Tensor::full(shape, value),
            Initializer::Uniform { low, high } => Tensor::uniform(shape, low, high, rng),
            Initializer::Normal { mean, std } => Tensor::randn(shape, rng) * std + mean,
            Initializer::GlorotUniform => {
                let limit = (6.0 / (fi + fo)).sqrt();
                Tensor::uniform(shape, -limit, limit, rng)
            }
            Initializer::GlorotNormal => {
                truncated_normal(shape, (2.0 / (fi + fo)).sqrt() / TRUNCATED_STD_CORRECTION, rng)
            }
            Initializer::HeUniform => {
                let limit = (6.0 / fi).sqrt();
                Tensor::uniform(shape, -limit, limit, rng)
            }
            Initializer::HeNormal => truncated_normal(shape, (2.0 / fi).sqrt() / TRUNCATED_STD_CORRECTION, rng),
        }
    }

    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
            Initializer::Constant { .. } => "constant",
            Initializer::Uniform { .. } => "random_uniform",
            Initializer::Normal { .. } => "random_normal",
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
        }
    }
}

/// Normal samples redrawn until they fall within two standard deviations.
fn truncated_normal(shape: &[usize], std: f32, rng: &mut Rng) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|_| loop {
            let z = rng.normal();
            if z.abs() <= 2.0 {
                break z * std;
            }
        })
        .collect();
    Tensor::from_vec(data, shape).unwrap_or_else(|_| Tensor::zeros(shape))
}

impl FromStr for Initializer {
    type Err = Error;

    fn from_str(s: &str) -> Result<Initializer> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "zeros" | "zero" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            "uniform" | "random_uniform" => Initializer::UNIFORM,
            "normal" | "random_normal" => Initializer::NORMAL,
            "glorot_uniform" | "xavier_uniform" | "glorot" | "xavier" => Initializer::GlorotUniform,
            "glorot_normal" | "xavier_normal" => Initializer::GlorotNormal,
            "he_uniform" | "kaiming_uniform" => Initializer::HeUniform,
            "he_normal" | "kaiming_normal" | "he" => Initializer::HeNormal,
            other => {
                return Err(Error::Value(format!(
                    "unknown initializer {other:?}: expected zeros, ones, uniform, normal, glorot_uniform, glorot_normal, he_uniform, he_normal"
                )))
            }
        })
    }
}
