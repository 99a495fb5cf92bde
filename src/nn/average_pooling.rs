//! Average pooling (Keras `AveragePooling2D`, channels last): each channel's mean over every
//! window. With `same` padding a window at the edge averages the cells it covers (padding
//! is not counted), as Keras and ONNX's default do.
//!
//! ```
//! use neurite::nn::{AveragePooling2D, Layer};
//! assert_eq!(AveragePooling2D::new(2).output_shape(&[11, 11, 64])?, vec![5, 5, 64]);
//! # Ok::<(), neurite::Error>(())
//! ```

use super::layer::{display_name, BackwardRows, ForwardRows, Layer};
use super::window::{Padding, PoolingConfig, Window};
use super::LayerConfig;
use crate::error::{Error, Result};
use crate::kernels::window::{average_pool, average_pool_backward};

/// The average pooling layer (see the module doc).
#[derive(Debug, Clone)]
pub struct AveragePooling2D {
    config: PoolingConfig,
    input: Vec<usize>,
    window: Window,
}

impl AveragePooling2D {
    /// A `size x size` window moved by its own size, `valid` padding.
    pub fn new(size: usize) -> AveragePooling2D {
        AveragePooling2D::from_config(PoolingConfig::new(size))
    }

    /// The layer of a configuration.
    pub fn from_config(config: PoolingConfig) -> AveragePooling2D {
        AveragePooling2D { config, input: vec![], window: Window::default() }
    }

    /// Sets the strides.
    pub fn strides(mut self, h: usize, w: usize) -> AveragePooling2D {
        self.config.strides = Some([h, w]);
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: Padding) -> AveragePooling2D {
        self.config.padding = padding;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> AveragePooling2D {
        self.config.name = Some(name.to_string());
        self
    }
}

impl Layer for AveragePooling2D {
    fn class_name(&self) -> &'static str {
        "AveragePooling2D"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::AveragePooling2D(self.config.clone())
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
        let w = self.config.window(&display_name(self), input)?;
        super::flatten::checked_size(self, input)?;
        Ok(vec![w.out_h, w.out_w, w.channels])
    }

    fn build(&mut self, input: &[usize]) -> Result<()> {
        self.output_shape(input)?;
        self.window = self.config.window(&display_name(self), input)?;
        self.input = input.to_vec();
        Ok(())
    }

    fn input_shape(&self) -> &[usize] {
        &self.input
    }

    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()> {
        let w = &self.window;
        let (in_len, out_len) = (w.in_len(), w.positions() * w.channels);
        let rows = f.rows;
        if f.x.len() < rows * in_len || f.y.len() < rows * out_len {
            return Err(Error::Shape(format!("{}: buffers too small for {rows} rows", display_name(self))));
        }
        for (x, y) in f.x[..rows * in_len].chunks_exact(in_len).zip(f.y[..rows * out_len].chunks_exact_mut(out_len)) {
            average_pool(w, x, y);
        }
        Ok(())
    }

    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()> {
        let w = &self.window;
        let (in_len, out_len) = (w.in_len(), w.positions() * w.channels);
        let rows = b.rows;
        let Some(dx) = b.dx else { return Ok(()) };
        if dx.len() < rows * in_len || b.dy.len() < rows * out_len {
            return Err(Error::Shape(format!("{}: buffers too small for {rows} rows", display_name(self))));
        }
        let dx = &mut dx[..rows * in_len];
        dx.fill(0.0);
        for (d, g) in dx.chunks_exact_mut(in_len).zip(b.dy[..rows * out_len].chunks_exact(out_len)) {
            average_pool_backward(w, g, d);
        }
        Ok(())
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
