//! Global average pooling (Keras `GlobalAveragePooling2D`, channels last): each channel's
//! mean over the whole image, `(None, H, W, C)` to `(None, C)` (or `(None, 1, 1, C)` with
//! `keepdims`).
//!
//! ```
//! use neurite::nn::{GlobalAveragePooling2D, Layer};
//! assert_eq!(GlobalAveragePooling2D::new().output_shape(&[5, 5, 64])?, vec![64]);
//! # Ok::<(), neurite::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::layer::{batch_shape_str, display_name, BackwardRows, ForwardRows, Layer};
use super::LayerConfig;
use crate::error::{Error, Result};

/// Keras' `GlobalAveragePooling2D` configuration (channels last).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalAveragePooling2DConfig {
    /// Whether the output keeps the two image axes, of size 1.
    #[serde(default)]
    pub keepdims: bool,
    /// The per-example input shape, when the layer declares it.
    #[serde(default)]
    pub input_shape: Option<Vec<usize>>,
    /// The layer's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The global average pooling layer (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct GlobalAveragePooling2D {
    config: GlobalAveragePooling2DConfig,
    input: Vec<usize>,
}

impl GlobalAveragePooling2DConfig {
    /// The layer.
    pub fn into_layer(self) -> GlobalAveragePooling2D {
        GlobalAveragePooling2D { config: self, input: vec![] }
    }
}

impl GlobalAveragePooling2D {
    /// Pools to `(None, channels)`.
    pub fn new() -> GlobalAveragePooling2D {
        GlobalAveragePooling2D::default()
    }

    /// Keeps the image axes (`(None, 1, 1, channels)`).
    pub fn keepdims(mut self) -> GlobalAveragePooling2D {
        self.config.keepdims = true;
        self
    }

    /// (cells of an image, channels).
    fn sizes(&self) -> (usize, usize) {
        match self.input[..] {
            [h, w, c] => (h * w, c),
            _ => (0, 0),
        }
    }
}

impl Layer for GlobalAveragePooling2D {
    fn class_name(&self) -> &'static str {
        "GlobalAveragePooling2D"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::GlobalAveragePooling2D(self.config.clone())
    }

    fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.config.name = Some(name);
    }

    fn declared_input(&self) -> Option<Vec<usize>> {
        self.config.input_shape.clone()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match *input {
            [h, w, c] if h > 0 && w > 0 && c > 0 => {
                super::flatten::checked_size(self, input)?;
                Ok(if self.config.keepdims { vec![1, 1, c] } else { vec![c] })
            }
            _ => Err(Error::Shape(format!(
                "{}: expects images of shape (None, height, width, channels), got {}",
                display_name(self),
                batch_shape_str(input)
            ))),
        }
    }

    fn build(&mut self, input: &[usize]) -> Result<()> {
        self.output_shape(input)?;
        self.input = input.to_vec();
        Ok(())
    }

    fn input_shape(&self) -> &[usize] {
        &self.input
    }

    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()> {
        let (cells, c) = self.sizes();
        let rows = f.rows;
        if f.x.len() < rows * cells * c || f.y.len() < rows * c {
            return Err(Error::Shape(format!("{}: buffers too small for {rows} rows", display_name(self))));
        }
        let scale = 1.0 / cells as f32;
        for (x, y) in f.x[..rows * cells * c].chunks_exact(cells * c).zip(f.y.chunks_exact_mut(c)) {
            y.fill(0.0);
            for cell in x.chunks_exact(c) {
                crate::kernels::reduce::add_assign(y, cell);
            }
            y.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(())
    }

    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()> {
        let (cells, c) = self.sizes();
        let rows = b.rows;
        let Some(dx) = b.dx else { return Ok(()) };
        if dx.len() < rows * cells * c || b.dy.len() < rows * c {
            return Err(Error::Shape(format!("{}: buffers too small for {rows} rows", display_name(self))));
        }
        let scale = 1.0 / cells as f32;
        for (d, g) in dx[..rows * cells * c].chunks_exact_mut(cells * c).zip(b.dy.chunks_exact(c)) {
            for cell in d.chunks_exact_mut(c) {
                for (o, v) in cell.iter_mut().zip(g) {
                    *o = v * scale;
                }
            }
        }
        Ok(())
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
