//! Flatten (Keras `Flatten`): each example's values as one row, `(None, 28, 28, 1)` to
//! `(None, 784)`. Rows are stored row-major already, so the layer moves no value: the engine
//! reads its input buffer as its output.
//!
//! ```
//! use neurite::nn::{Flatten, Layer};
//! assert_eq!(Flatten::new().output_shape(&[28, 28, 1])?, vec![784]);
//! # Ok::<(), neurite::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::layer::{batch_shape_str, display_name, BackwardRows, ForwardRows, Layer, Mode};
use super::LayerConfig;
use crate::error::{Error, Result};

/// Keras' `Flatten` configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlattenConfig {
    /// The layer's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The flatten layer (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct Flatten {
    config: FlattenConfig,
    input: Vec<usize>,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Flatten {
        Flatten::default()
    }
}

impl FlattenConfig {
    /// The layer.
    pub fn into_layer(self) -> Flatten {
        Flatten { config: self, input: vec![] }
    }
}

/// The number of values in a shape, or an error naming the layer when it overflows.
pub(crate) fn checked_size(layer: &dyn Layer, shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(|| {
        Error::Shape(format!(
            "{}: an input of shape {} has too many values",
            display_name(layer),
            batch_shape_str(shape)
        ))
    })
}

impl Layer for Flatten {
    fn class_name(&self) -> &'static str {
        "Flatten"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Flatten(self.config.clone())
    }

    fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.config.name = Some(name);
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![checked_size(self, input)?])
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
