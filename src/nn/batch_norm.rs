//! Batch normalisation (Keras `BatchNormalization`, over the last axis): while training, each
//! feature is normalised by the batch's mean and variance, `y = gamma (x - mean) /
//! sqrt(var + epsilon) + beta`, and the moving statistics follow, `moving = moving * momentum +
//! batch * (1 - momentum)` (Keras' rule, with the batch's biased variance); at inference the
//! moving statistics take the batch's place. `gamma` and `beta` are trained; `moving_mean` and
//! `moving_variance` are parameters the optimiser leaves alone (Keras' non-trainable weights).
//!
//! For an input of shape `(..., C)`, the statistics of feature `c` are over every row and
//! every position before the last axis (a convnet's `(None, H, W, C)` normalises per channel).
//!
//! ```
//! use neurite::nn::{BatchNormalization, Layer};
//! let layer = BatchNormalization::new();
//! assert_eq!(layer.output_shape(&[28, 28, 8])?, vec![28, 28, 8]);
//! # Ok::<(), neurite::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::layer::{display_name, BackwardRows, ForwardRows, Layer, Mode, ParamSpec};
use super::{Initializer, LayerConfig};
use crate::error::{Error, Result};

fn default_momentum() -> f32 {
    0.99
}
fn default_epsilon() -> f32 {
    1e-3
}
fn yes() -> bool {
    true
}

/// Keras' `BatchNormalization` configuration (axis -1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchNormalizationConfig {
    /// The moving statistics' momentum (Keras: 0.99).
    #[serde(default = "default_momentum")]
    pub momentum: f32,
    /// Added to the variance before its square root (Keras: 1e-3).
    #[serde(default = "default_epsilon")]
    pub epsilon: f32,
    /// Whether `beta` is added.
    #[serde(default = "yes")]
    pub center: bool,
    /// Whether `gamma` multiplies.
    #[serde(default = "yes")]
    pub scale: bool,
    /// The layer's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl Default for BatchNormalizationConfig {
    fn default() -> Self {
        BatchNormalizationConfig {
            momentum: default_momentum(),
            epsilon: default_epsilon(),
            center: true,
            scale: true,
            name: None,
        }
    }
}

/// The batch normalisation layer (see the module doc).
#[derive(Debug, Clone)]
pub struct BatchNormalization {
    config: BatchNormalizationConfig,
    input: Vec<usize>,
}

impl BatchNormalizationConfig {
    /// The layer.
    pub fn into_layer(self) -> BatchNormalization {
        BatchNormalization { config: self, input: vec![] }
    }
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization::new()
    }
}

impl BatchNormalization {
    /// Keras' defaults: momentum 0.99, epsilon 1e-3, centred and scaled.
    pub fn new() -> BatchNormalization {
        BatchNormalizationConfig::default().into_layer()
    }

    /// Sets the momentum of the moving statistics.
    pub fn momentum(mut self, momentum: f32) -> BatchNormalization {
        self.config.momentum = momentum;
        self
    }

    /// Sets epsilon.
    pub fn epsilon(mut self, epsilon: f32) -> BatchNormalization {
        self.config.epsilon = epsilon;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> BatchNormalization {
        self.config.name = Some(name.to_string());
        self
    }

    /// The number of features (the last axis).
    fn features(&self) -> usize {
        self.input.last().copied().unwrap_or(0)
    }

    /// Where each parameter starts in the layer's run: gamma, beta, moving mean, moving
    /// variance (gamma or beta absent without scale or center).
    fn offsets(&self) -> Offsets {
        let c = self.features();
        let gamma = self.config.scale.then_some(0);
        let beta = self.config.center.then_some(c * usize::from(self.config.scale));
        let mean = c * (usize::from(self.config.scale) + usize::from(self.config.center));
        Offsets { gamma, beta, mean, variance: mean + c, end: mean + 2 * c }
    }
}

struct Offsets {
    gamma: Option<usize>,
    beta: Option<usize>,
    mean: usize,
    variance: usize,
    end: usize,
}

impl BatchNormalization {
    /// The backward pass of inference mode, an affine map per feature: `dx = dy gamma /
    /// sqrt(moving_variance + eps)`, `dgamma = sum dy xhat`, `dbeta = sum dy`, with `xhat` from
    /// the moving statistics.
    fn backward_inference(&self, b: BackwardRows<'_>) -> Result<()> {
        let (c, o) = (self.features(), self.offsets());
        let n = b.rows * super::layer::row_len(&self.input);
        if b.params.len() != o.end || b.x.len() < n || b.dy.len() < n {
            return Err(Error::Shape(format!("{}: buffers too small for {} rows", display_name(self), b.rows)));
        }
        let (mean, var) = (&b.params[o.mean..o.variance], &b.params[o.variance..o.end]);
        let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + self.config.epsilon).sqrt()).collect();
        if let Some(dp) = b.dparams {
            dp.fill(0.0);
            for (xr, gr) in b.x[..n].chunks_exact(c).zip(b.dy[..n].chunks_exact(c)) {
                for j in 0..c {
                    if let Some(g) = o.gamma {
                        dp[g + j] += gr[j] * (xr[j] - mean[j]) * inv_std[j];
                    }
                    if let Some(be) = o.beta {
                        dp[be + j] += gr[j];
                    }
                }
            }
        }
        if let Some(dx) = b.dx {
            for (dr, gr) in dx[..n].chunks_exact_mut(c).zip(b.dy[..n].chunks_exact(c)) {
                for j in 0..c {
                    dr[j] = gr[j] * o.gamma.map_or(1.0, |g| b.params[g + j]) * inv_std[j];
                }
            }
        }
        Ok(())
    }
}

impl Layer for BatchNormalization {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::BatchNormalization(self.config.clone())
    }

    fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.config.name = Some(name);
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        if input.last().is_none_or(|&n| n == 0) {
            return Err(Error::Shape(format!(
                "{}: needs an input with a last axis of at least one feature, got {}",
                display_name(self),
                super::layer::batch_shape_str(input)
            )));
        }
        if !((0.0..=1.0).contains(&c.momentum) && c.epsilon > 0.0 && c.epsilon.is_finite()) {
            return Err(Error::Value(format!(
                "{}: momentum must be in [0, 1] and epsilon positive, got {} and {}",
                display_name(self),
                c.momentum,
                c.epsilon
            )));
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

    fn param_specs(&self) -> Vec<ParamSpec> {
        let c = self.features();
        let spec = |name, init, trainable| ParamSpec { name, shape: vec![c], init, fans: (c, c), trainable };
        let mut specs = vec![];
        if self.config.scale {
            specs.push(spec("gamma", Initializer::Ones, true));
        }
        if self.config.center {
            specs.push(spec("beta", Initializer::Zeros, true));
        }
        specs.push(spec("moving_mean", Initializer::Zeros, false));
        specs.push(spec("moving_variance", Initializer::Ones, false));
        specs
    }

    fn couples_rows(&self, mode: Mode) -> bool {
        mode == Mode::Training
    }

    fn cache_per_row(&self, mode: Mode) -> usize {
        // The normalised values, which the backward pass of the batch statistics needs.
        if mode == Mode::Training {
            super::layer::row_len(&self.input)
        } else {
            0
        }
    }

    fn stats_len(&self) -> usize {
        // The batch's mean and (biased) variance.
        2 * self.features()
    }

    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()> {
        let c = self.features();
        let o = self.offsets();
        let n = f.rows * super::layer::row_len(&self.input);
        if f.params.len() != o.end || f.x.len() < n || f.y.len() < n || c == 0 {
            return Err(Error::Shape(format!(
                "{}: {} parameter values (need {}), {} rows of {} values",
                display_name(self),
                f.params.len(),
                o.end,
                f.rows,
                super::layer::row_len(&self.input)
            )));
        }
        let eps = self.config.epsilon;
        let gamma = |j: usize| o.gamma.map_or(1.0, |g| f.params[g + j]);
        let beta = |j: usize| o.beta.map_or(0.0, |b| f.params[b + j]);
        let (x, y) = (&f.x[..n], &mut f.y[..n]);
        match f.mode {
            Mode::Inference => {
                let (mean, var) = (&f.params[o.mean..o.variance], &f.params[o.variance..o.end]);
                for (xr, yr) in x.chunks_exact(c).zip(y.chunks_exact_mut(c)) {
                    for j in 0..c {
                        yr[j] = gamma(j) * (xr[j] - mean[j]) / (var[j] + eps).sqrt() + beta(j);
                    }
                }
            }
            Mode::Training => {
                if f.stats.len() != 2 * c || f.cache.len() < n {
                    return Err(Error::Shape(format!(
                        "{}: statistics of {} and a cache of {} for {c} features and {n} values",
                        display_name(self),
                        f.stats.len(),
                        f.cache.len()
                    )));
                }
                // Mean, then the mean squared deviation from it (two passes, in f64: exact
                // enough for any batch, and the same sums whatever the thread count, since the
                // engine gives this layer the whole batch).
                let count = (n / c) as f64;
                let mut sum = vec![0.0f64; c];
                for xr in x.chunks_exact(c) {
                    for (s, &v) in sum.iter_mut().zip(xr) {
                        *s += f64::from(v);
                    }
                }
                let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
                let mut sq = vec![0.0f64; c];
                for xr in x.chunks_exact(c) {
                    for ((s, &v), m) in sq.iter_mut().zip(xr).zip(&mean) {
                        *s += (f64::from(v) - m).powi(2);
                    }
                }
                let (stat_mean, stat_var) = f.stats.split_at_mut(c);
                for j in 0..c {
                    stat_mean[j] = mean[j] as f32;
                    stat_var[j] = (sq[j] / count) as f32;
                }
                let inv_std: Vec<f32> = stat_var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
                let xhat = &mut f.cache[..n];
                for ((xr, yr), hr) in x.chunks_exact(c).zip(y.chunks_exact_mut(c)).zip(xhat.chunks_exact_mut(c)) {
                    for j in 0..c {
                        hr[j] = (xr[j] - stat_mean[j]) * inv_std[j];
                        yr[j] = gamma(j) * hr[j] + beta(j);
                    }
                }
            }
        }
        Ok(())
    }

    /// With `xhat` the normalised values and `N` the values of a feature in the batch:
    /// `dbeta = sum dy`, `dgamma = sum dy xhat`, `dx = gamma / sqrt(var + eps) (dy - dbeta / N
    /// - xhat dgamma / N)`.
    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()> {
        let c = self.features();
        let o = self.offsets();
        let n = b.rows * super::layer::row_len(&self.input);
        if !b.cache.is_empty() && (b.cache.len() < n || b.stats.len() != 2 * c) {
            return Err(Error::Value(format!(
                "{}: the backward pass needs a forward pass in training mode",
                display_name(self)
            )));
        }
        if b.cache.is_empty() {
            return self.backward_inference(b);
        }
        let (dy, xhat) = (&b.dy[..n], &b.cache[..n]);
        let mut sum_dy = vec![0.0f64; c];
        let mut sum_dy_xhat = vec![0.0f64; c];
        for (gr, hr) in dy.chunks_exact(c).zip(xhat.chunks_exact(c)) {
            for j in 0..c {
                sum_dy[j] += f64::from(gr[j]);
                sum_dy_xhat[j] += f64::from(gr[j]) * f64::from(hr[j]);
            }
        }
        if let Some(dp) = b.dparams {
            if let Some(g) = o.gamma {
                for j in 0..c {
                    dp[g + j] = sum_dy_xhat[j] as f32;
                }
            }
            if let Some(be) = o.beta {
                for j in 0..c {
                    dp[be + j] = sum_dy[j] as f32;
                }
            }
            dp[o.mean..o.end].fill(0.0);
        }
        if let Some(dx) = b.dx {
            let count = (n / c) as f64;
            let var = &b.stats[c..];
            let eps = self.config.epsilon;
            let scale: Vec<f32> =
                (0..c).map(|j| o.gamma.map_or(1.0, |g| b.params[g + j]) / (var[j] + eps).sqrt()).collect();
            let mean_dy: Vec<f32> = sum_dy.iter().map(|s| (s / count) as f32).collect();
            let mean_dy_xhat: Vec<f32> = sum_dy_xhat.iter().map(|s| (s / count) as f32).collect();
            for ((dr, gr), hr) in dx[..n].chunks_exact_mut(c).zip(dy.chunks_exact(c)).zip(xhat.chunks_exact(c)) {
                for j in 0..c {
                    dr[j] = scale[j] * (gr[j] - mean_dy[j] - hr[j] * mean_dy_xhat[j]);
                }
            }
        }
        Ok(())
    }

    /// `moving = moving * momentum + batch * (1 - momentum)`, for the mean and the variance.
    fn update_state(&self, params: &mut [f32], stats: &[f32]) {
        let (c, o, m) = (self.features(), self.offsets(), self.config.momentum);
        if params.len() != o.end || stats.len() != 2 * c {
            return;
        }
        let (mean, var) = stats.split_at(c);
        for j in 0..c {
            params[o.mean + j] = params[o.mean + j] * m + mean[j] * (1.0 - m);
            params[o.variance + j] = params[o.variance + j] * m + var[j] * (1.0 - m);
        }
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
