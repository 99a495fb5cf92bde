//! The 2-D convolution (Keras `Conv2D`, channels last): `filters` kernels of `kernel_size`
//! cells over every channel slide over an image `(height, width, channels)` with `strides`
//! and `valid` or `same` padding, then a bias per filter and the activation:
//! `y[n, oh, ow, f] = h(b[f] + sum_{kh, kw, c} x[n, oh*s + kh, ow*s + kw, c] W[kh, kw, c, f])`.
//!
//! The kernel has Keras' shape `(kh, kw, in_channels, filters)`, which read as a matrix of
//! `kh * kw * in_channels` rows is exactly the right-hand side of the product with the
//! unfolded image (`im2col`: one row of `kh * kw * in_channels` values per output position),
//! so the forward pass is one GEMM per batch part, `Y = unfold(X) W`, and the backward pass two
//! more: `dW = unfold(X)^T dZ` and `dX = fold(dZ W^T)`. BENCHMARKS.md has what else was tried.
//!
//! ```
//! use neurite::nn::{Activation, Conv2D, Layer};
//! let layer = Conv2D::new(32, 3).activation(Activation::Relu);
//! assert_eq!(layer.output_shape(&[28, 28, 1])?, vec![26, 26, 32]);
//! # Ok::<(), neurite::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::flatten::checked_size;
use super::layer::{display_name, BackwardRows, ForwardRows, Layer, ParamSpec};
use super::window::{plan, Padding, Window};
use super::{Activation, Initializer, LayerConfig};
use crate::error::{Error, Result};
use crate::kernels::window::{fold_add, unfold};
use crate::kernels::{gemm, reduce, MatLayout};

fn ones() -> [usize; 2] {
    [1, 1]
}
fn yes() -> bool {
    true
}
fn linear() -> Activation {
    Activation::Identity
}
fn zeros() -> Initializer {
    Initializer::Zeros
}
fn glorot() -> Initializer {
    Initializer::GlorotUniform
}

/// Values of the unfolded input gradient made and folded back at a time: 512 KB, well within
/// a second-level cache.
const FOLD_BLOCK_VALUES: usize = 128 * 1024;

/// Keras' `Conv2D` configuration (channels last, no dilation, one group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conv2DConfig {
    /// Number of kernels (output channels).
    pub filters: usize,
    /// The kernel's height and width.
    pub kernel_size: [usize; 2],
    /// The step between windows, down and across.
    #[serde(default = "ones")]
    pub strides: [usize; 2],
    /// `valid` or `same`.
    #[serde(default)]
    pub padding: Padding,
    /// The activation after the bias.
    #[serde(default = "linear")]
    pub activation: Activation,
    /// Whether a bias per filter is added.
    #[serde(default = "yes")]
    pub use_bias: bool,
    /// How the kernel starts (Keras: Glorot uniform).
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    /// How the bias starts (Keras: zeros).
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    /// The per-example input shape, when the layer declares it (`input_shape=(28, 28, 1)`).
    #[serde(default)]
    pub input_shape: Option<Vec<usize>>,
    /// The layer's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The convolution layer (see the module doc).
#[derive(Debug, Clone)]
pub struct Conv2D {
    config: Conv2DConfig,
    input: Vec<usize>,
    window: Window,
}

impl Conv2DConfig {
    /// The layer.
    pub fn into_layer(self) -> Conv2D {
        Conv2D { config: self, input: vec![], window: Window::default() }
    }
}

impl Conv2D {
    /// `filters` kernels of `kernel x kernel` cells, stride 1, `valid` padding, no activation,
    /// Glorot-uniform kernel and zero bias (Keras' defaults).
    pub fn new(filters: usize, kernel: usize) -> Conv2D {
        Conv2DConfig {
            filters,
            kernel_size: [kernel, kernel],
            strides: ones(),
            padding: Padding::Valid,
            activation: Activation::Identity,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            input_shape: None,
            name: None,
        }
        .into_layer()
    }

    /// Sets the kernel's height and width.
    pub fn kernel_size(mut self, h: usize, w: usize) -> Conv2D {
        self.config.kernel_size = [h, w];
        self
    }

    /// Sets the strides (down, across).
    pub fn strides(mut self, h: usize, w: usize) -> Conv2D {
        self.config.strides = [h, w];
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: Padding) -> Conv2D {
        self.config.padding = padding;
        self
    }

    /// Sets the activation.
    pub fn activation(mut self, activation: Activation) -> Conv2D {
        self.config.activation = activation;
        self
    }

    /// Without a bias.
    pub fn no_bias(mut self) -> Conv2D {
        self.config.use_bias = false;
        self
    }

    /// Declares the per-example input shape `(height, width, channels)`.
    pub fn input_shape(mut self, shape: &[usize]) -> Conv2D {
        self.config.input_shape = Some(shape.to_vec());
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Conv2D {
        self.config.name = Some(name.to_string());
        self
    }

    /// The configuration.
    pub fn settings(&self) -> &Conv2DConfig {
        &self.config
    }

    fn plan(&self, input: &[usize]) -> Result<Window> {
        let c = &self.config;
        if c.filters == 0 {
            return Err(Error::Value(format!("{}: filters must be at least 1", display_name(self))));
        }
        c.activation.validate()?;
        plan(&display_name(self), input, c.kernel_size, c.strides, c.padding)
    }

    /// Whether the forward pass keeps the activation's derivative for the backward pass.
    fn keeps_derivative(&self) -> bool {
        self.config.activation.is_elementwise() && !self.config.activation.derivative_from_output()
    }

    /// Values a row of the unfolded image, and of the output.
    fn sizes(&self) -> (usize, usize) {
        let w = &self.window;
        (w.positions() * w.patch_len(), w.positions() * self.config.filters)
    }

    fn short(&self, what: &str, rows: usize) -> Error {
        Error::Shape(format!(
            "{}: {what} too small for {rows} rows of {}",
            display_name(self),
            super::layer::batch_shape_str(&self.input)
        ))
    }
}

impl Layer for Conv2D {
    fn class_name(&self) -> &'static str {
        "Conv2D"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Conv2D(self.config.clone())
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
        let w = self.plan(input)?;
        let shape = vec![w.out_h, w.out_w, self.config.filters];
        checked_size(self, &shape)?;
        // The unfolded image of one example must be addressable too.
        checked_size(self, &[w.out_h, w.out_w, w.k_h, w.k_w, w.channels])?;
        Ok(shape)
    }

    fn build(&mut self, input: &[usize]) -> Result<()> {
        self.output_shape(input)?;
        self.window = self.plan(input)?;
        self.input = input.to_vec();
        Ok(())
    }

    fn input_shape(&self) -> &[usize] {
        &self.input
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        let c = &self.config;
        let (k_h, k_w, ch) = (c.kernel_size[0], c.kernel_size[1], self.input.get(2).copied().unwrap_or(0));
        // Keras' fans for a convolution: the receptive field times the channels in and out.
        let fans = (k_h * k_w * ch, k_h * k_w * c.filters);
        let mut specs = vec![ParamSpec {
            name: "kernel",
            shape: vec![k_h, k_w, ch, c.filters],
            init: c.kernel_initializer,
            fans,
            trainable: true,
        }];
        if c.use_bias {
            specs.push(ParamSpec {
                name: "bias",
                shape: vec![c.filters],
                init: c.bias_initializer,
                fans,
                trainable: true,
            });
        }
        specs
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.config.activation)
    }

    fn cache_per_row(&self, _mode: super::Mode) -> usize {
        // The unfolded image (the weight gradient's left operand; at inference, scratch for
        // the product) and the activation's derivative.
        let (col, out) = self.sizes();
        col + if self.keeps_derivative() { out } else { 0 }
    }

    fn workspace_per_row(&self) -> usize {
        // The unfolded input gradient, folded back onto the image.
        self.sizes().0
    }

    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()> {
        let (w, rows, filters) = (&self.window, f.rows, self.config.filters);
        let (col_len, out_len) = self.sizes();
        let (k, p) = (w.patch_len(), w.positions());
        let in_len = w.in_len();
        let n_params = k * filters + if self.config.use_bias { filters } else { 0 };
        if f.params.len() != n_params {
            return Err(Error::Shape(format!(
                "{}: {} parameter values for a kernel of {} and {} bias values",
                display_name(self),
                f.params.len(),
                k * filters,
                filters
            )));
        }
        if f.x.len() < rows * in_len || f.y.len() < rows * out_len {
            return Err(self.short("input or output", rows));
        }
        if f.cache.len() < rows * self.cache_per_row(f.mode) {
            return Err(self.short("cache", rows));
        }
        let (col, deriv) = f.cache.split_at_mut(rows * col_len);
        for (x, c) in f.x[..rows * in_len].chunks_exact(in_len).zip(col.chunks_exact_mut(col_len)) {
            unfold(w, x, c);
        }
        let y = &mut f.y[..rows * out_len];
        let (kernel, bias) = f.params.split_at(k * filters);
        gemm(
            1.0,
            col,
            MatLayout::row_major(rows * p, k),
            kernel,
            MatLayout::row_major(k, filters),
            0.0,
            y,
            MatLayout::row_major(rows * p, filters),
        )?;
        let act = self.config.activation;
        if act == Activation::Relu && !bias.is_empty() {
            crate::kernels::activation::bias_relu_rows(y, bias);
            return Ok(());
        }
        if !bias.is_empty() {
            reduce::add_to_rows(y, bias);
        }
        if self.keeps_derivative() {
            act.forward_rows_keeping_derivative(y, &mut deriv[..rows * out_len], filters);
        } else {
            act.forward_rows(y, filters);
        }
        Ok(())
    }

    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()> {
        let (w, rows, filters) = (&self.window, b.rows, self.config.filters);
        let (col_len, out_len) = self.sizes();
        let (k, p) = (w.patch_len(), w.positions());
        if b.cache.len() < rows * self.cache_per_row(super::Mode::Training) || b.dy.len() < rows * out_len {
            return Err(self.short("cache or output gradient", rows));
        }
        let (col, deriv) = b.cache.split_at(rows * col_len);
        let dz = &mut b.dy[..rows * out_len];
        if !b.dy_is_dz {
            let (act, y) = (self.config.activation, b.y.get(..rows * out_len).unwrap_or(&[]));
            if act.derivative_from_output() {
                act.backward_from_output(y, dz);
            } else {
                act.backward_rows(y, deriv.get(..rows * out_len).unwrap_or(&[]), dz, filters);
            }
        }
        let dz = &*dz;
        if let Some(dp) = b.dparams {
            let (dkernel, dbias) = dp.split_at_mut(k * filters);
            gemm(
                1.0,
                col,
                MatLayout::row_major(rows * p, k).t(),
                dz,
                MatLayout::row_major(rows * p, filters),
                0.0,
                dkernel,
                MatLayout::row_major(k, filters),
            )?;
            if !dbias.is_empty() {
                reduce::column_sums(dz, filters, 0, dbias, false);
            }
        }
        if let Some(dx) = b.dx {
            let in_len = w.in_len();
            if b.work.len() < rows * col_len || dx.len() < rows * in_len {
                return Err(self.short("workspace or input gradient", rows));
            }
            // By blocks of a few rows, so that the unfolded gradient is folded back while it
            // is still in the cache (a group's whole one is larger than the second level:
            // 4.78-5.17 s an epoch before, 4.16-4.20 s after, BENCHMARKS.md).
            let dx = &mut dx[..rows * in_len];
            dx.fill(0.0);
            let block = (FOLD_BLOCK_VALUES / col_len.max(1)).clamp(1, rows.max(1));
            let mut first = 0;
            while first < rows {
                let n = block.min(rows - first);
                let dcol = &mut b.work[..n * col_len];
                gemm(
                    1.0,
                    &dz[first * p * filters..(first + n) * p * filters],
                    MatLayout::row_major(n * p, filters),
                    &b.params[..k * filters],
                    MatLayout::row_major(k, filters).t(),
                    0.0,
                    dcol,
                    MatLayout::row_major(n * p, k),
                )?;
                let rows_dx = &mut dx[first * in_len..(first + n) * in_len];
                for (d, c) in rows_dx.chunks_exact_mut(in_len).zip(dcol.chunks_exact(col_len)) {
                    fold_add(w, c, d);
                }
                first += n;
            }
        }
        Ok(())
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
