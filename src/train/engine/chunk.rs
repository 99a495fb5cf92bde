//! One thread's rows of a batch and every buffer they need, allocated once: the layers'
//! outputs (a view shares its input's), what each layer keeps for its backward pass, the
//! gradients of the outputs, the targets. The forward pass and the loss are the same for
//! training, evaluation and prediction.

use super::layout::{Buffers, Slot};
use super::Totals;
use crate::error::{Error, Result};
use crate::nn::{count_correct, Layer, Loss, Mode, Noise, Targets};
use crate::train::examples::{Examples, TargetKind};

/// Aligned to two cache lines: each chunk is written by its own thread in the same step.
#[repr(align(128))]
pub(crate) struct Chunk {
    pub rows: usize,
    /// The most rows the buffers hold.
    pub capacity: usize,
    /// Which buffer each layer writes.
    pub buffers: Buffers,
    /// Training or inference.
    pub mode: Mode,
    /// Full input rows (training reads the first layer's input parts instead when the
    /// threads share its weight by features).
    pub x: Vec<f32>,
    pub classes: Vec<u32>,
    pub target_rows: Vec<f32>,
    /// Per buffer: the output of the layer that writes it; for the output layer, after the
    /// loss, `dL/dz`.
    pub acts: Vec<Vec<f32>>,
    /// Per buffer but the output's: `dL/d(output)`, turned into `dL/dz` by a dense layer's
    /// backward pass (training only).
    pub grads: Vec<Vec<f32>>,
    /// Per layer: what its backward pass needs (a mask, normalised values, an activation's
    /// derivative); empty where nothing.
    pub caches: Vec<Vec<f32>>,
    /// Per layer: values for the whole batch (batch normalisation's mean and variance).
    pub stats: Vec<Vec<f32>>,
    /// Per layer other than dense: its parameters' gradient from these rows (training only).
    pub dparams: Vec<Vec<f32>>,
    /// Per layer: the random numbers' key for these rows in the step in progress.
    pub noise: Vec<Noise>,
    pub scratch: Vec<f32>,
    /// Scratch for the layers' backward passes (the largest [`Layer::workspace_per_row`]).
    pub work: Vec<f32>,
    pub argmax: Vec<usize>,
    pub totals: Totals,
}

/// `n` copies of `value` in an allocation with two cache lines to spare at its end: the
/// chunks' buffers (and the first layer's input parts) are written by different threads in
/// the same step, and small ones allocated one after another shared cache lines: the second
/// chunk's backward pass on the seed model took 3,500-3,900 cycles against the first's 2,000,
/// and 2,600-2,900 padded (BENCHMARKS.md, issue 25).
pub(crate) fn padded<T: Clone>(n: usize, value: T) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    let mut v = Vec::with_capacity(n + 128usize.div_ceil(std::mem::size_of::<T>().max(1)));
    v.resize(n, value);
    v
}

impl Chunk {
    /// Buffers for `rows` rows of `layers` in `mode`; `full_input` when the chunk reads whole
    /// input rows (always at inference; in training when no first-layer parts exist).
    pub(crate) fn new(layers: &[Box<dyn Layer>], slots: &[Slot], rows: usize, mode: Mode, full_input: bool) -> Chunk {
        let buffers = Buffers::plan(layers, slots, mode);
        let features = slots.first().map_or(0, |s| s.input_len);
        let out = slots.last().map_or(0, |s| s.output_len);
        let training = mode == Mode::Training;
        let last = layers.len().saturating_sub(1);
        let caches = layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                // Evaluation keeps the output layer's activation derivative too, for a loss
                // that is not fused with its activation.
                let per_row = if !training && l == last {
                    layer.cache_per_row(Mode::Training)
                } else {
                    layer.cache_per_row(mode)
                };
                padded(rows * per_row, 0.0)
            })
            .collect();
        let last_buffer = buffers.widths.len().saturating_sub(1);
        Chunk {
            rows: 0,
            capacity: rows,
            mode,
            x: if full_input { padded(rows * features, 0.0) } else { vec![] },
            classes: padded(rows, 0),
            target_rows: padded(rows * out, 0.0),
            acts: buffers.widths.iter().map(|w| padded(rows * w, 0.0)).collect(),
            grads: if training {
                buffers
                    .widths
                    .iter()
                    .enumerate()
                    .map(|(b, w)| padded(if b == last_buffer { 0 } else { rows * w }, 0.0))
                    .collect()
            } else {
                vec![]
            },
            caches,
            stats: layers.iter().map(|l| padded(l.stats_len(), 0.0)).collect(),
            dparams: layers
                .iter()
                .zip(slots)
                .map(|(l, s)| padded(if training && l.as_dense().is_none() { s.params.len() } else { 0 }, 0.0))
                .collect(),
            noise: padded(layers.len(), Noise::default()),
            buffers,
            scratch: {
                let mut scratch = padded(rows * out, 0.0);
                scratch.clear();
                scratch
            },
            work: padded(
                if training { rows * layers.iter().map(|l| l.workspace_per_row()).max().unwrap_or(0) } else { 0 },
                0.0,
            ),
            argmax: padded(rows, 0),
            totals: Totals::default(),
        }
    }

    /// The values all its buffers hold.
    pub(crate) fn values(&self) -> usize {
        let sum = |v: &[Vec<f32>]| v.iter().map(Vec::len).sum::<usize>();
        self.x.len()
            + self.target_rows.len()
            + sum(&self.acts)
            + sum(&self.grads)
            + sum(&self.caches)
            + sum(&self.dparams)
            + self.work.len()
    }

    /// The output buffer (the model's output, then `dL/dz` after the loss).
    fn output_buffer(&self) -> usize {
        self.acts.len() - 1
    }

    /// The model's outputs for the chunk's rows.
    pub(crate) fn output(&self, width: usize) -> &[f32] {
        &self.acts[self.output_buffer()][..self.rows * width]
    }

    /// `dL/dz` of dense layer `l` after the backward pass.
    pub(crate) fn delta(&self, l: usize, units: usize) -> &[f32] {
        let b = self.buffers.out[l].unwrap_or(0);
        let buf = if b == self.output_buffer() { &self.acts[b] } else { &self.grads[b] };
        &buf[..self.rows * units]
    }

    /// The input rows of layer `l` (the chunk's own input rows for the first layers).
    pub(crate) fn input_of(&self, l: usize, width: usize) -> &[f32] {
        match self.buffers.input_of(l) {
            Some(b) => &self.acts[b][..self.rows * width],
            None => &self.x[..self.rows * width],
        }
    }

    /// Gathers the targets of the rows in the form the loss wants.
    pub(crate) fn gather_targets(
        &mut self,
        loss: Loss,
        out: usize,
        data: &dyn Examples,
        indices: &[u32],
    ) -> Result<()> {
        let rows = indices.len();
        match data.target_kind() {
            TargetKind::Classes { .. } if loss.takes_class_indices() => {
                data.gather_classes(indices, &mut self.classes[..rows])
            }
            TargetKind::Classes { .. } => {
                // Labels for a loss that wants rows (MSE, categorical CE): one-hot them.
                data.gather_classes(indices, &mut self.classes[..rows])?;
                let t = &mut self.target_rows[..rows * out];
                t.fill(0.0);
                for (row, &c) in t.chunks_exact_mut(out).zip(&self.classes[..rows]) {
                    *row.get_mut(c as usize).ok_or_else(|| {
                        Error::Value(format!("label {c} is out of range for a model with {out} outputs"))
                    })? = 1.0;
                }
                Ok(())
            }
            TargetKind::Dense { .. } => data.gather_rows(indices, &mut self.target_rows[..rows * out]),
        }
    }

    /// Runs layers `from..` on the rows: layer `from` reads its input buffer, or `input` (the
    /// whole input rows, when given) or the chunk's own input rows. With `fused`, the output
    /// layer leaves its logits for the loss. Random numbers come from the chunk's `noise`.
    pub(crate) fn forward_from(
        &mut self,
        layers: &[Box<dyn Layer>],
        slots: &[Slot],
        params: &[f32],
        from: usize,
        input: Option<&[f32]>,
        fused: bool,
    ) -> Result<()> {
        let (rows, mode) = (self.rows, self.mode);
        let last = layers.len() - 1;
        for l in from..layers.len() {
            let layer = &layers[l];
            if layer.is_view(mode) {
                continue;
            }
            let slot = &slots[l];
            let out = self.buffers.out[l].unwrap_or(0);
            let (below, this) = self.acts.split_at_mut(out);
            let x: &[f32] = match self.buffers.input_of(l) {
                Some(b) => &below[b][..rows * slot.input_len],
                None => match input {
                    Some(x) => x,
                    None => &self.x[..rows * slot.input_len],
                },
            };
            layer.forward_rows(crate::nn::layer::ForwardRows {
                mode,
                params: &params[slot.params.clone()],
                x,
                rows,
                y: &mut this[0][..rows * slot.output_len],
                cache: &mut self.caches[l],
                stats: &mut self.stats[l],
                noise: self.noise[l],
                logits: fused && l == last,
            })?;
        }
        Ok(())
    }

    /// The backward pass from the output layer's `dL/dz` (left by [`Chunk::loss`]) down to
    /// layer `to`: every layer's `dL/dz` or `dL/dx`, and the gradients of the parameters of
    /// layers other than dense (whose weight gradients the engine computes by weight rows).
    pub(crate) fn backward_to(
        &mut self,
        layers: &[Box<dyn Layer>],
        slots: &[Slot],
        params: &[f32],
        to: usize,
    ) -> Result<()> {
        let rows = self.rows;
        let last = layers.len() - 1;
        let output_buffer = self.output_buffer();
        for l in (to..layers.len()).rev() {
            let layer = &layers[l];
            if layer.is_view(Mode::Training) {
                continue;
            }
            let slot = &slots[l];
            let out = self.buffers.out[l].unwrap_or(0);
            let input = self.buffers.input_of(l);
            let (n_in, n_out) = (rows * slot.input_len, rows * slot.output_len);
            // The input's gradient is needed unless the input is the data.
            let (grads_below, grads_here) = self.grads.split_at_mut(out);
            let dx = input.map(|b| &mut grads_below[b][..n_in]);
            let (acts_below, acts_here) = self.acts.split_at_mut(out);
            let x: &[f32] = match input {
                Some(b) => &acts_below[b][..n_in],
                None => &self.x[..if self.x.is_empty() { 0 } else { n_in }],
            };
            let (dy, y): (&mut [f32], &[f32]) = if out == output_buffer {
                (&mut acts_here[0][..n_out], &[])
            } else {
                (&mut grads_here[0][..n_out], &acts_here[0][..n_out])
            };
            let dparams = (!self.dparams[l].is_empty()).then(|| &mut self.dparams[l][..]);
            layer.backward_rows(crate::nn::layer::BackwardRows {
                params: &params[slot.params.clone()],
                x,
                y,
                cache: &self.caches[l],
                stats: &self.stats[l],
                rows,
                dy,
                dy_is_dz: l == last,
                dx,
                dparams,
                work: &mut self.work,
            })?;
        }
        Ok(())
    }

    /// Metrics and the loss on the forward pass's output; leaves `dL/dz` of the output layer
    /// (of the mean loss over `batch_rows` examples) in its buffer.
    pub(crate) fn loss(
        &mut self,
        layers: &[Box<dyn Layer>],
        loss: Loss,
        kind: TargetKind,
        batch_rows: usize,
    ) -> Result<()> {
        let rows = self.rows;
        let last = layers.len() - 1;
        let (out, act) = output_of(layers)?;
        let targets = match kind {
            TargetKind::Classes { .. } if loss.takes_class_indices() => Targets::Classes(&self.classes[..rows]),
            _ => Targets::Dense(&self.target_rows[..rows * out]),
        };
        let b = self.output_buffer();
        let output = &mut self.acts[b][..rows * out];
        let fused = loss.fuses_with(act);
        // A fused sigmoid leaves logits: `z > 0` is `sigmoid(z) > 0.5`.
        let threshold = if fused && act == crate::nn::Activation::Sigmoid { 0.0 } else { 0.5 };
        let correct = count_correct(output, rows, targets, &mut self.argmax, threshold);
        let derivative = self.caches[last].get(..rows * out).unwrap_or(&[]);
        let loss_sum =
            loss.output_gradient_rows(act, output, derivative, rows, targets, batch_rows, &mut self.scratch)?;
        self.totals = Totals { loss_sum, correct, count: rows };
        Ok(())
    }
}

/// The model's output width and activation: its last layer must be a dense layer, whose
/// activation the loss may fuse with.
pub(crate) fn output_of(layers: &[Box<dyn Layer>]) -> Result<(usize, crate::nn::Activation)> {
    match layers.last().and_then(|l| l.as_dense()) {
        Some(d) => Ok((d.units(), d.activation_fn())),
        None => Err(Error::Value(format!(
            "the model's last layer must be Dense (the loss reads its activation), not {}",
            layers.last().map_or("nothing", |l| l.class_name())
        ))),
    }
}
