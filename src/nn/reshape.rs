//! Reshape (Keras `Reshape`): each example's values in another shape, `(None, 784)` to
//! `(None, 28, 28, 1)`, with at most one `-1` inferred. Like Flatten it moves no value.
//!
//! ```
//! use neurite::nn::{Layer, Reshape};
//! assert_eq!(Reshape::new(&[28, 28, -1]).output_shape(&[784])?, vec![28, 28, 1]);
//! assert!(Reshape::new(&[5, -1]).output_shape(&[784]).is_err());
//! # Ok::<(), neurite::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::flatten::checked_size;
use super::layer::{batch_shape_str, display_name, BackwardRows, ForwardRows, Layer, Mode};
use super::LayerConfig;
use crate::error::{Error, Result};

/// Keras' `Reshape` configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReshapeConfig {
    /// The shape of each example, `-1` for the one axis to infer.
    pub target_shape: Vec<i64>,
    /// The layer's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The reshape layer (see the module doc).
#[derive(Debug, Clone)]
pub struct Reshape {
    config: ReshapeConfig,
    input: Vec<usize>,
}

impl Reshape {
    /// Each example reshaped to `target_shape` (one `-1` inferred).
    pub fn new(target_shape: &[i64]) -> Reshape {
        ReshapeConfig { target_shape: target_shape.to_vec(), name: None }.into_layer()
    }
}

impl ReshapeConfig {
    /// The layer.
    pub fn into_layer(self) -> Reshape {
        Reshape { config: self, input: vec![] }
    }
}

impl Layer for Reshape {
    fn class_name(&self) -> &'static str {
        "Reshape"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Reshape(self.config.clone())
    }

    fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.config.name = Some(name);
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let total = checked_size(self, input)?;
        let target = &self.config.target_shape;
        let bad = || {
            Error::Shape(format!(
                "{}: cannot reshape {} ({total} values an example) to {:?}",
                display_name(self),
                batch_shape_str(input),
                target
            ))
        };
        if target.is_empty()
            || target.iter().filter(|&&d| d == -1).count() > 1
            || target.iter().any(|&d| d == 0 || d < -1)
        {
            return Err(bad());
        }
        let known = target
            .iter()
            .filter(|&&d| d > 0)
            .try_fold(1usize, |n, &d| usize::try_from(d).ok().and_then(|d| n.checked_mul(d)))
            .ok_or_else(bad)?;
        let inferred = if known == 0 || total % known != 0 { return Err(bad()) } else { total / known };
        let shape: Vec<usize> = target.iter().map(|&d| if d == -1 { inferred } else { d as usize }).collect();
        if checked_size(self, &shape)? != total {
            return Err(bad());
        }
        Ok(shape)
    }

    fn build(&mut self, input: &[usize]) -> Result<()> {
        self.output_shape(input)?;
        self.input = input.to_vec();
        Ok(())
    }

    fn input_shape(&self) -> &[usize] {
        &self.input
    }

    fn is_view(&self, _mode: Mode) -> bool {
        true
    }

    fn forward_rows(&self, _f: ForwardRows<'_>) -> Result<()> {
        Ok(())
    }

    fn backward_rows(&self, _b: BackwardRows<'_>) -> Result<()> {
        Ok(())
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
