//! The layer contract: what every layer kind defines, in one place, so that the autograd path,
//! the training engine, model files and the front ends can treat any stack of layers alike.
//!
//! A layer kind is one file (`dense.rs`, `dropout.rs`, `batch_norm.rs`, `reshape.rs`) with
//! its configuration (serde, with Keras' class name and config keys) and an implementation of
//! [`Layer`]; one line in `registry.rs` registers it. A layer says:
//!
//! * its output shape from its input shape, per example (`(None, 28, 28, 1)` is `[28, 28, 1]`);
//! * its parameters ([`ParamSpec`]), created in the model's [`ParamStore`]
//!   under Keras' names (`dense/kernel`, `batch_normalization/moving_mean`), trainable or not;
//! * its forward and backward arithmetic on row buffers ([`ForwardRows`], [`BackwardRows`]),
//!   in training or inference [`Mode`], with the random numbers it needs drawn from a
//!   [`Noise`] key (so that a mask depends on the seed, the step and the example's place in
//!   the batch, never on which thread computes it);
//! * what the engine may skip: a layer whose output is its input, unchanged ([`Layer::is_view`]:
//!   Flatten, Reshape, Dropout at inference) costs no buffer and no copy.
//!
//! [`forward_var`] runs any layer as one autograd operation whose forward and backward passes
//! are the layer's row functions; the training engine of [`crate::train`] schedules the same
//! functions across threads.

use std::sync::Arc;

use super::{Activation, Dense, Initializer, LayerConfig};
use crate::autograd::{is_grad_enabled, ParamStore, Var};
use crate::error::{shape_str, Error, Result};
use crate::tensor::shape::numel;
use crate::tensor::Tensor;

/// Whether a layer is training (dropout drops, batch normalisation uses the batch's
/// statistics and updates its moving ones) or predicting (both pass values through as
/// trained).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// During `fit` and `train_on_batch`.
    Training,
    /// `evaluate`, `predict`, and the autograd path unless a model is put in training mode.
    Inference,
}

/// One parameter tensor of a layer: its name after the layer's (`kernel`, `gamma`), its
/// shape, how it starts, and whether the optimiser trains it (a moving statistic is updated
/// by its layer instead).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// The name after `<layer>/`.
    pub name: &'static str,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its initial values.
    pub init: Initializer,
    /// The fans the initialiser scales by.
    pub fans: (usize, usize),
    /// Whether the optimiser updates it.
    pub trainable: bool,
}

/// The key of a layer's random numbers for one step: element `i` of batch row `r` gets
/// [`Noise::uniform`]`(r * width + i)`, the same whichever thread computes that row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Noise {
    /// Mixed from the fit's seed, the step number and the layer's place in the model.
    pub key: u64,
    /// The batch row of the first row given to the layer.
    pub first_row: usize,
}

impl Noise {
    /// The key of layer `layer` at step `step` of a fit seeded with `seed`.
    pub fn new(seed: u64, step: u64, layer: usize) -> Noise {
        let key = mix(mix(seed ^ 0x6E65_7572_6974_6521) ^ mix(step.wrapping_add(0x1234_5678)) ^ ((layer as u64) << 1));
        Noise { key, first_row: 0 }
    }

    /// The same key for rows starting at batch row `first_row`.
    pub fn from_row(self, first_row: usize) -> Noise {
        Noise { first_row: self.first_row + first_row, ..self }
    }

    /// A uniform number in `[0, 1)` (24 bits) for counter `counter`: a stateless hash, so any
    /// element can be drawn alone and in any order.
    pub fn uniform(&self, counter: u64) -> f32 {
        (mix(self.key ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
}

/// SplitMix64's finaliser: a bijection of 64-bit words whose outputs pass BigCrush as a
/// counter-based generator.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A forward pass over `rows` examples: `x` is `rows x input size`, `y` receives `rows x
/// output size`.
pub struct ForwardRows<'a> {
    /// Training or inference.
    pub mode: Mode,
    /// The layer's parameters, end to end in the order of its [`ParamSpec`]s.
    pub params: &'a [f32],
    /// The input rows.
    pub x: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// The output rows (unused by a view).
    pub y: &'a mut [f32],
    /// What the backward pass needs besides `x` and `y`, [`Layer::cache_per_row`] values a
    /// row (a dropout mask, normalised values, an activation's derivative); may be empty
    /// when nothing will be differentiated.
    pub cache: &'a mut [f32],
    /// Values for the whole batch, [`Layer::stats_len`] of them (batch normalisation's mean
    /// and variance), read by the backward pass and [`Layer::update_state`].
    pub stats: &'a mut [f32],
    /// The random numbers' key.
    pub noise: Noise,
    /// The output layer leaves its pre-activations (logits) for a loss fused with its
    /// activation.
    pub logits: bool,
}

/// A backward pass over the rows a [`ForwardRows`] computed.
pub struct BackwardRows<'a> {
    /// The layer's parameters.
    pub params: &'a [f32],
    /// The input rows of the forward pass.
    pub x: &'a [f32],
    /// Its output rows.
    pub y: &'a [f32],
    /// Its cache.
    pub cache: &'a [f32],
    /// Its batch values.
    pub stats: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// `dL/dy`; a layer with an activation leaves `dL/dz` here (what its weight gradient
    /// reads).
    pub dy: &'a mut [f32],
    /// `dy` is already `dL/dz` (the loss went through the output activation itself).
    pub dy_is_dz: bool,
    /// Receives `dL/dx`, when someone needs it.
    pub dx: Option<&'a mut [f32]>,
    /// Receives the gradient of the trainable parameters (the layer's parameter length; the
    /// entries of untrained ones are left 0), when they are wanted here (the engine computes
    /// a dense layer's weight gradient itself, by weight rows).
    pub dparams: Option<&'a mut [f32]>,
    /// Scratch space, [`Layer::workspace_per_row`] values a row, kept by nobody (a
    /// convolution's unfolded input gradient).
    pub work: &'a mut [f32],
}

/// One layer kind: its configuration, shapes, parameters and arithmetic. See the module doc.
pub trait Layer: std::fmt::Debug + Send + Sync {
    /// Keras' class name (`Dense`, `Dropout`, ...).
    fn class_name(&self) -> &'static str;
    /// The configuration, as model files store it.
    fn config(&self) -> LayerConfig;
    /// The layer's name (`dense_1`), once the model has named it.
    fn name(&self) -> Option<&str>;
    /// Names the layer (a model names unnamed layers after their kind: `dropout`, `dropout_1`).
    fn set_name(&mut self, name: String);
    /// The per-example input shape the layer declares (Keras' `input_shape`), if any.
    fn declared_input(&self) -> Option<Vec<usize>> {
        None
    }
    /// The per-example output shape for a per-example input shape, or an error that names
    /// the layer and the shapes.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;
    /// Fixes the input shape (after [`Layer::output_shape`] accepted it).
    fn build(&mut self, input: &[usize]) -> Result<()>;
    /// The input shape it was built for.
    fn input_shape(&self) -> &[usize];
    /// The parameters it needs once built, in Keras' order.
    fn param_specs(&self) -> Vec<ParamSpec> {
        vec![]
    }
    /// The activation applied to its output, for a layer that has one.
    fn activation(&self) -> Option<Activation> {
        None
    }
    /// Whether, in `mode`, the output is the input unchanged (same values, same order).
    fn is_view(&self, _mode: Mode) -> bool {
        false
    }
    /// Whether, in `mode`, a row's output depends on other rows (batch normalisation while
    /// training): the engine then gives it the whole batch at once.
    fn couples_rows(&self, _mode: Mode) -> bool {
        false
    }
    /// Values a row that the backward pass needs besides the input and the output.
    fn cache_per_row(&self, _mode: Mode) -> usize {
        0
    }
    /// Scratch values a row that the backward pass needs (see [`BackwardRows::work`]).
    fn workspace_per_row(&self) -> usize {
        0
    }
    /// Values for the whole batch (see [`ForwardRows::stats`]).
    fn stats_len(&self) -> usize {
        0
    }
    /// The forward pass.
    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()>;
    /// The backward pass.
    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()>;
    /// After a training step: updates the untrained parameters (`params`, the layer's whole
    /// range) from the batch values its forward pass kept (moving statistics).
    fn update_state(&self, _params: &mut [f32], _stats: &[f32]) {}
    /// Parameter values the layer brought with it (a dense layer made from given weights),
    /// in the order of its specs; a model stores them instead of drawing new ones.
    fn built_values(&self) -> Option<Vec<Tensor>> {
        None
    }
    /// Takes its parameters' variables in the model's store, in the order of its specs.
    fn attach(&mut self, _params: &[Var]) {}
    /// The dense layer itself, for the engine's first-layer schedule and the exporters.
    fn as_dense(&self) -> Option<&Dense> {
        None
    }
    /// A copy, for an autograd operation to keep.
    fn clone_layer(&self) -> Box<dyn Layer>;
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        self.clone_layer()
    }
}

/// Values a row of a per-example shape.
pub fn row_len(shape: &[usize]) -> usize {
    numel(shape)
}

/// Keras' way of writing a batch shape: `(None, 28, 28, 1)`.
pub fn batch_shape_str(shape: &[usize]) -> String {
    let inner: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("(None, {})", inner.join(", "))
}

/// `BatchNormalization` as `batch_normalization`: how Keras names layers and initialisers after
/// their class.
///
/// Keras' two rules: an underscore before each capital that starts a lower-case run (not at
/// the start), and between a lower-case letter and a capital; so `Conv2D` is `conv2d` and
/// `MaxPooling2D` is `max_pooling2d`.
pub(crate) fn snake_case(class: &str) -> String {
    let c: Vec<char> = class.chars().collect();
    let mut out = String::new();
    for (i, &ch) in c.iter().enumerate() {
        let starts_word = i > 0 && ch.is_ascii_uppercase() && c.get(i + 1).is_some_and(char::is_ascii_lowercase);
        let after_lower = i > 0 && ch.is_ascii_uppercase() && c[i - 1].is_ascii_lowercase();
        if starts_word || after_lower {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// The name Keras gives the `k`-th layer of a kind in a model (from 0): `dense`, `dense_1`,
/// `batch_normalization_2`.
pub(crate) fn numbered(base: &str, k: usize) -> String {
    if k == 0 {
        base.to_string()
    } else {
        format!("{base}_{k}")
    }
}

/// A layer's name for messages: its own, or its kind.
pub(crate) fn display_name(layer: &dyn Layer) -> String {
    layer.name().map_or_else(|| layer.class_name().to_string(), str::to_string)
}

/// Runs `layer` as one autograd operation on `x` (batch first, or one example without the
/// batch axis), with its parameters `params` in the order of its [`ParamSpec`]s, all from one
/// store. Its forward and backward passes are the layer's row functions.
pub fn forward_var(layer: &dyn Layer, x: &Var, params: &[Var], mode: Mode, noise: Noise) -> Result<Var> {
    let name = display_name(layer);
    let input = layer.input_shape().to_vec();
    let shape = x.shape();
    let batched = shape.len() == input.len() + 1 && shape[1..] == input[..];
    if !batched && shape != input {
        return Err(Error::Shape(format!(
            "{name}: expected inputs of shape {} (or {} for one example), got {}",
            batch_shape_str(&input),
            shape_str(&input),
            shape_str(&shape)
        )));
    }
    let rows = if batched { shape[0] } else { 1 };
    let output = layer.output_shape(&input)?;
    let mut out_shape = if batched { vec![rows] } else { vec![] };
    out_shape.extend_from_slice(&output);
    let specs = layer.param_specs();
    if specs.len() != params.len() {
        return Err(Error::Value(format!("{name}: {} parameters given for {}", params.len(), specs.len())));
    }
    // The layer's parameters are one run of its store, or (PyTorch-style modules of
    // `neurite.torch`) variables of their own, read once here.
    let store: Option<(ParamStore, std::ops::Range<usize>)> = match params.first().map(Var::store_slot) {
        None | Some(None) => None,
        Some(Some((store, index))) => {
            let start = store.info(index)?.offset;
            let end = start + specs.iter().map(|s| numel(&s.shape)).sum::<usize>();
            Some((store.clone(), start..end))
        }
    };
    let owned: Option<Vec<f32>> = match (&store, params.is_empty()) {
        (None, false) => {
            let mut values = Vec::with_capacity(specs.iter().map(|s| numel(&s.shape)).sum());
            for (p, spec) in params.iter().zip(&specs) {
                let v = p.value();
                if v.shape() != spec.shape.as_slice() {
                    return Err(Error::Shape(format!(
                        "{name}: a parameter of shape {} where the layer needs {}",
                        shape_str(v.shape()),
                        shape_str(&spec.shape)
                    )));
                }
                values.extend_from_slice(&v.contiguous().to_vec());
            }
            if layer.stats_len() != 0 && mode == Mode::Training {
                return Err(Error::Value(format!(
                    "{name}: a layer with moving statistics trains on parameters of a store only"
                )));
            }
            Some(values)
        }
        _ => None,
    };
    let x_value = x.value().contiguous();
    let x_data = x_value.as_slice().unwrap_or(&[]).to_vec();
    let (in_len, out_len) = (row_len(&input), row_len(&output));
    let recording = is_grad_enabled() && (x.requires_grad() || params.iter().any(Var::requires_grad));
    let mut y = vec![0.0; rows * out_len];
    let mut cache = vec![0.0; rows * layer.cache_per_row(mode)];
    let mut stats = vec![0.0; layer.stats_len()];
    let read_params =
        |store: &Option<(ParamStore, std::ops::Range<usize>)>, owned: &Option<Vec<f32>>| -> Result<(Vec<f32>, u64)> {
            match (store, owned) {
                (Some((s, range)), _) => {
                    let guard = s.read()?;
                    Ok((guard.values()[range.clone()].to_vec(), guard.version()))
                }
                (None, Some(values)) => Ok((values.clone(), 0)),
                (None, None) => Ok((vec![], 0)),
            }
        };
    let (values, _) = read_params(&store, &owned)?;
    layer.forward_rows(ForwardRows {
        mode,
        params: &values,
        x: &x_data,
        rows,
        y: &mut y,
        cache: &mut cache,
        stats: &mut stats,
        noise,
        logits: false,
    })?;
    if layer.is_view(mode) {
        y.copy_from_slice(&x_data[..rows * in_len]);
    }
    // Moving statistics are updated by the forward pass that computed them, as in Keras; the
    // backward pass does not read them, so its version check starts after the update.
    let version = match &store {
        Some((s, range)) => {
            let mut guard = s.write()?;
            if mode == Mode::Training && !stats.is_empty() {
                layer.update_state(&mut guard.untracked_values_mut()[range.clone()], &stats);
            }
            guard.version()
        }
        None => 0,
    };
    let value = Tensor::from_vec(y, &out_shape)?;
    if !recording {
        return Ok(Var::constant(value));
    }
    let kept = layer.clone_layer();
    let x_needs_grad = x.requires_grad();
    let param_shapes: Vec<Vec<usize>> = specs.iter().map(|s| s.shape.clone()).collect();
    let backward = move |g: &Tensor, out: &Tensor| -> Result<Vec<Option<Tensor>>> {
        let (values, now) = read_params(&store, &owned)?;
        if now != version {
            return Err(Error::Autograd(format!(
                "{}: its parameters were changed in place after the forward pass (an optimiser step before backward?); run the forward pass again",
                display_name(kept.as_ref())
            )));
        }
        let y = out.contiguous();
        let mut dy = g.contiguous().to_vec();
        let mut dx = vec![0.0; if x_needs_grad { rows * in_len } else { 0 }];
        let mut dparams = vec![0.0; values.len()];
        let mut work = vec![0.0; rows * kept.workspace_per_row()];
        if kept.is_view(mode) {
            let n = dx.len();
            dx.copy_from_slice(&dy[..n]);
        } else {
            kept.backward_rows(BackwardRows {
                params: &values,
                x: &x_data,
                y: y.as_slice().unwrap_or(&[]),
                cache: &cache,
                stats: &stats,
                rows,
                dy: &mut dy,
                dy_is_dz: false,
                dx: x_needs_grad.then_some(&mut dx[..]),
                dparams: Some(&mut dparams),
                work: &mut work,
            })?;
        }
        let mut grads = vec![if x_needs_grad { Some(Tensor::from_vec(dx, &shape)?) } else { None }];
        let mut at = 0;
        for s in &param_shapes {
            let n = numel(s);
            grads.push(Some(Tensor::from_vec(dparams[at..at + n].to_vec(), s)?));
            at += n;
        }
        Ok(grads)
    };
    let mut inputs = vec![x.clone()];
    inputs.extend(params.iter().cloned());
    // The configuration goes with the operation, so that an exporter of the traced graph can
    // write the layer (its JSON is short; a layer's row functions dwarf writing it).
    let described = serde_json::to_string(&layer.config())
        .map_err(|e| Error::Value(format!("{name}: its configuration as JSON: {e}")))?;
    Ok(Var::custom_described(layer.class_name(), inputs, value, Arc::new(backward), described))
}
