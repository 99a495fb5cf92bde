//! Max pooling (Keras `MaxPooling2D`, channels last): each channel's largest value in every
//! window, `(None, 26, 26, 32)` to `(None, 13, 13, 32)` with Keras' default 2 x 2 window. The
//! gradient goes to the first largest value of each window (in the window's order), as in
//! PyTorch and TensorFlow; a NaN counts as the largest, so it propagates. The forward pass
//! keeps which cell of its window each output came from, for the backward pass.
//!
//! ```
//! use neurite::nn::{Layer, MaxPooling2D};
//! assert_eq!(MaxPooling2D::new(2).output_shape(&[26, 26, 32])?, vec![13, 13, 32]);
//! # Ok::<(), neurite::Error>(())
//! ```

use super::flatten::checked_size;
use super::layer::{display_name, BackwardRows, ForwardRows, Layer, Mode};
use super::window::{Padding, PoolingConfig, Window};
use super::LayerConfig;
use crate::error::{Error, Result};
use crate::kernels::window::{max_pool, max_pool_backward, max_pool_backward_tiled};

/// The max pooling layer (see the module doc).
#[derive(Debug, Clone)]
pub struct MaxPooling2D {
    config: PoolingConfig,
    input: Vec<usize>,
    window: Window,
}

impl MaxPooling2D {
    /// A `size x size` window moved by its own size, `valid` padding.
    pub fn new(size: usize) -> MaxPooling2D {
        MaxPooling2D::from_config(PoolingConfig::new(size))
    }

    /// The layer of a configuration.
    pub fn from_config(config: PoolingConfig) -> MaxPooling2D {
        MaxPooling2D { config, input: vec![], window: Window::default() }
    }

    /// Sets the strides.
    pub fn strides(mut self, h: usize, w: usize) -> MaxPooling2D {
        self.config.strides = Some([h, w]);
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: Padding) -> MaxPooling2D {
        self.config.padding = padding;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> MaxPooling2D {
        self.config.name = Some(name.to_string());
        self
    }
}

impl Layer for MaxPooling2D {
    fn class_name(&self) -> &'static str {
        "MaxPooling2D"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::MaxPooling2D(self.config.clone())
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
        // The positions it keeps are floats, exact below 2^24 cells.
        if checked_size(self, &input[..input.len().min(2)])? >= 1 << 24 {
            return Err(Error::Shape(format!(
                "{}: an image of {} has more than 2^24 cells",
                display_name(self),
                super::layer::batch_shape_str(input)
            )));
        }
        checked_size(self, input)?;
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

    fn cache_per_row(&self, _mode: Mode) -> usize {
        // The window cell each output came from.
        self.window.positions() * self.window.channels
    }

    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()> {
        let w = &self.window;
        let (in_len, out_len) = (w.in_len(), w.positions() * w.channels);
        let rows = f.rows;
        if f.x.len() < rows * in_len || f.y.len() < rows * out_len || f.cache.len() < rows * out_len {
            return Err(Error::Shape(format!("{}: buffers too small for {rows} rows", display_name(self))));
        }
        let images = f.x[..rows * in_len].chunks_exact(in_len);
        let outputs = f.y[..rows * out_len].chunks_exact_mut(out_len).zip(f.cache.chunks_exact_mut(out_len));
        for (x, (y, arg)) in images.zip(outputs) {
            max_pool(w, x, y, arg);
        }
        Ok(())
    }

    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()> {
        let w = &self.window;
        let (in_len, out_len) = (w.in_len(), w.positions() * w.channels);
        let rows = b.rows;
        let Some(dx) = b.dx else { return Ok(()) };
        if dx.len() < rows * in_len || b.dy.len() < rows * out_len || b.cache.len() < rows * out_len {
            return Err(Error::Value(format!(
                "{}: the backward pass needs the forward pass's positions of {rows} rows",
                display_name(self)
            )));
        }
        let dx = &mut dx[..rows * in_len];
        let tiled = w.s_h >= w.k_h && w.s_w >= w.k_w && w.pad_top == 0 && w.pad_left == 0;
        if !tiled {
            dx.fill(0.0);
        }
        let grads = b.dy[..rows * out_len].chunks_exact(out_len).zip(b.cache.chunks_exact(out_len));
        for (d, (g, arg)) in dx.chunks_exact_mut(in_len).zip(grads) {
            if tiled {
                max_pool_backward_tiled(w, g, arg, d);
            } else {
                max_pool_backward(w, g, arg, d);
            }
        }
        Ok(())
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
