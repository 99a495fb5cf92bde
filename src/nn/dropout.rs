//! Dropout (Keras `Dropout`): while training, each value is kept with probability `1 - rate`
//! and scaled by `1 / (1 - rate)` (inverted dropout, so that inference needs no scaling), or
//! set to 0; at inference the layer is the identity and costs nothing.
//!
//! The mask of a value depends only on the fit's seed, the step, the layer's place in the model
//! and the value's place in the batch ([`Noise`]): the same seed gives the same masks at any
//! thread count, and a fit resumed from a checkpoint draws the masks it would have drawn.
//!
//! ```
//! use neurite::nn::{Dropout, Layer};
//! let mut layer = Dropout::new(0.5);
//! assert_eq!(layer.output_shape(&[256])?, vec![256]);
//! # Ok::<(), neurite::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::layer::{display_name, BackwardRows, ForwardRows, Layer, Mode, Noise};
use super::LayerConfig;
use crate::error::{Error, Result};

/// Keras' `Dropout` configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropoutConfig {
    /// The fraction of values set to 0 while training, in `[0, 1)`.
    pub rate: f32,
    /// A seed of the layer's own (Keras' `seed`); the fit's seed is used when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The layer's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The dropout layer (see the module doc).
#[derive(Debug, Clone)]
pub struct Dropout {
    config: DropoutConfig,
    input: Vec<usize>,
}

impl Dropout {
    /// Drops `rate` of the values while training.
    pub fn new(rate: f32) -> Dropout {
        DropoutConfig { rate, seed: None, name: None }.into_layer()
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Dropout {
        self.config.name = Some(name.to_string());
        self
    }

    /// The fraction dropped.
    pub fn rate(&self) -> f32 {
        self.config.rate
    }

    /// The multiplier of value `i` of the rows given: 0, or `1 / (1 - rate)`.
    fn multiplier(&self, noise: &Noise, width: usize, row: usize, i: usize) -> f32 {
        let counter = ((noise.first_row + row) * width + i) as u64;
        let noise = match self.config.seed {
            Some(seed) => Noise { key: noise.key ^ seed.wrapping_mul(0xD6E8_FEB8_6659_FD93), ..*noise },
            None => *noise,
        };
        if noise.uniform(counter) < self.config.rate {
            0.0
        } else {
            1.0 / (1.0 - self.config.rate)
        }
    }
}

impl DropoutConfig {
    /// The layer.
    pub fn into_layer(self) -> Dropout {
        Dropout { config: self, input: vec![] }
    }
}

impl Layer for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dropout(self.config.clone())
    }

    fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.config.name = Some(name);
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let rate = self.config.rate;
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::Value(format!("{}: rate must be in [0, 1), got {rate}", display_name(self))));
        }
        Ok(input.to_vec())
    }

    fn build(&mut self, input: &[usize]) -> Result<()> {
        self.output_shape(input)?;
        self.input = input.to_vec();
        Ok(())
    }

    fn input_shape(&self) -> &[usize] {
        &self.input
    }

    fn is_view(&self, mode: Mode) -> bool {
        mode == Mode::Inference || self.config.rate == 0.0
    }

    fn cache_per_row(&self, mode: Mode) -> usize {
        if self.is_view(mode) {
            0
        } else {
            super::layer::row_len(&self.input)
        }
    }

    /// `y = x * mask`, the mask (0 or `1 / (1 - rate)`) kept for the backward pass.
    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()> {
        if self.is_view(f.mode) {
            return Ok(());
        }
        let width = super::layer::row_len(&self.input);
        let n = f.rows * width;
        if f.x.len() < n || f.y.len() < n || f.cache.len() < n {
            return Err(Error::Shape(format!(
                "{}: {} rows of {width} values, buffers of {}, {} and {}",
                display_name(self),
                f.rows,
                f.x.len(),
                f.y.len(),
                f.cache.len()
            )));
        }
        for r in 0..f.rows {
            let span = r * width..(r + 1) * width;
            let (x, y, mask) = (&f.x[span.clone()], &mut f.y[span.clone()], &mut f.cache[span]);
            for i in 0..width {
                mask[i] = self.multiplier(&f.noise, width, r, i);
                y[i] = x[i] * mask[i];
            }
        }
        Ok(())
    }

    /// `dL/dx = dL/dy * mask`.
    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()> {
        let n = b.rows * super::layer::row_len(&self.input);
        if let Some(dx) = b.dx {
            for ((d, &g), &m) in dx[..n].iter_mut().zip(&b.dy[..n]).zip(&b.cache[..n]) {
                *d = g * m;
            }
        }
        Ok(())
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
