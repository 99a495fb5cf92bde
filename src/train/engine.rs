//! The fast training path: forward and backward passes of a stack of dense layers on
//! buffers allocated once, each step split across threads in two phases.
//!
//! * Phase A, by examples: each thread takes a contiguous part of the batch's rows, gathers
//!   them from the data set, runs the forward pass, the loss gradient, and the backward pass
//!   down to every layer's `dL/dz` (never the input's gradient, which nobody needs).
//! * Phase B, by parameters: all parameters live end to end in one flat buffer, cut into one
//!   contiguous range per thread (at weight-row boundaries). Each thread computes the
//!   gradient of its range from every part of the batch (`x^T dZ` over the rows of each
//!   phase-A part, so no reduction follows) and applies the optimiser to that range in one
//!   pass while it is in cache.
//!
//! A given thread count always cuts the same way, so results are bit-identical run to run.
//! Once the buffers exist a step allocates nothing. The arithmetic is the layers' own
//! ([`Dense::forward_rows_with`], [`Dense::input_gradient_rows`],
//! [`Dense::weight_gradient_rows`], [`Loss::output_gradient_rows`]), the same kernels that
//! the autograd path runs.

use std::sync::Arc;

use rayon::prelude::*;

use super::examples::{Examples, TargetKind};
use crate::error::{Error, Result};
use crate::nn::{Dense, Loss, Targets};
use crate::optim::{Optimizer, OptimizerState};

/// Running totals of one batch or one pass over data.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Sum of the examples' losses.
    pub loss_sum: f64,
    /// Number of correct predictions.
    pub correct: usize,
    /// Number of examples.
    pub count: usize,
}

impl Totals {
    /// Mean loss.
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.count.max(1) as f64
    }

    /// Fraction correct.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.count.max(1) as f64
    }

    /// Adds another part's totals.
    pub fn add(&mut self, other: &Totals) {
        self.loss_sum += other.loss_sum;
        self.correct += other.correct;
        self.count += other.count;
    }
}

/// Where a layer's parameters sit in the flat buffer.
#[derive(Debug, Clone, Copy)]
struct Slot {
    weight: usize,
    bias: usize,
    inputs: usize,
    units: usize,
    has_bias: bool,
}

impl Slot {
    fn weight_range(&self) -> std::ops::Range<usize> {
        self.weight..self.weight + self.inputs * self.units
    }

    fn bias_range(&self) -> std::ops::Range<usize> {
        self.bias..self.bias + if self.has_bias { self.units } else { 0 }
    }
}

/// The flat layout of all parameters: for each layer its weight, then its bias.
fn slots(layers: &[Dense]) -> Vec<Slot> {
    let mut at = 0;
    layers
        .iter()
        .map(|l| {
            let (inputs, units, has_bias) = (l.input_dim().unwrap_or(0), l.units(), l.config().use_bias);
            let slot = Slot { weight: at, bias: at + inputs * units, inputs, units, has_bias };
            at = slot.bias_range().end;
            slot
        })
        .collect()
}

/// Sizes of the parameters in the order the engine stores them: for each layer, the weight
/// then the bias (0 for a layer without bias).
pub(crate) fn parameter_sizes(layers: &[Dense]) -> Vec<usize> {
    slots(layers).iter().flat_map(|s| [s.weight_range().len(), s.bias_range().len()]).collect()
}

/// One thread's part of a batch, with every buffer phase A writes.
#[derive(Default)]
struct Chunk {
    rows: usize,
    x: Vec<f32>,
    classes: Vec<u32>,
    target_rows: Vec<f32>,
    /// Per layer: its output; for the output layer, after the loss, `dL/dz`.
    acts: Vec<Vec<f32>>,
    /// Per layer below the output: `dL/dz`.
    deltas: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    argmax: Vec<usize>,
    totals: Totals,
}

impl Chunk {
    fn new(layers: &[Dense], rows: usize, training: bool) -> Chunk {
        let features = layers.first().and_then(|l| l.input_dim()).unwrap_or(0);
        let out = layers.last().map(|l| l.units()).unwrap_or(0);
        let hidden = layers.len().saturating_sub(1);
        Chunk {
            rows: 0,
            x: vec![0.0; rows * features],
            classes: vec![0; rows],
            target_rows: vec![0.0; rows * out],
            acts: layers.iter().map(|l| vec![0.0; rows * l.units()]).collect(),
            deltas: if training {
                layers[..hidden].iter().map(|l| vec![0.0; rows * l.units()]).collect()
            } else {
                vec![]
            },
            scratch: Vec::with_capacity(rows * out),
            argmax: vec![0; rows],
            totals: Totals::default(),
        }
    }

    /// `dL/dz` of layer `l` after the backward pass.
    fn delta(&self, l: usize) -> &[f32] {
        if l + 1 == self.acts.len() {
            &self.acts[l]
        } else {
            &self.deltas[l]
        }
    }

    /// The input of layer `l` in the forward pass.
    fn input(&self, l: usize) -> &[f32] {
        if l == 0 {
            &self.x
        } else {
            &self.acts[l - 1]
        }
    }

    /// Gathers the rows and their targets, then runs the forward pass (the output layer's
    /// activation is left out when the loss is fused with it).
    fn forward(
        &mut self,
        layers: &[Dense],
        slots: &[Slot],
        params: &[f32],
        loss: Option<Loss>,
        data: &dyn Examples,
        indices: &[u32],
    ) -> Result<()> {
        let rows = indices.len();
        self.rows = rows;
        let features = data.features();
        let last = layers.len() - 1;
        let out = layers[last].units();
        data.gather_inputs(indices, &mut self.x[..rows * features])?;
        if let Some(loss) = loss {
            match data.target_kind() {
                TargetKind::Classes { .. } if loss.takes_class_indices() => {
                    data.gather_classes(indices, &mut self.classes[..rows])?
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
                }
                TargetKind::Dense { .. } => data.gather_rows(indices, &mut self.target_rows[..rows * out])?,
            }
        }
        let fused = loss.is_some_and(|l| l.fuses_with(layers[last].activation_fn()));
        for (l, (layer, slot)) in layers.iter().zip(slots).enumerate() {
            let (below, this) = self.acts.split_at_mut(l);
            let input: &[f32] = if l == 0 { &self.x[..rows * features] } else { &below[l - 1][..rows * slot.inputs] };
            let bias = slot.has_bias.then(|| &params[slot.bias_range()]);
            layer.forward_rows_with(
                &params[slot.weight_range()],
                bias,
                input,
                rows,
                &mut this[0][..rows * slot.units],
                !(l == last && fused),
            )?;
        }
        Ok(())
    }

    /// Metrics and the loss on the forward pass's output; leaves `dL/dz` of the output layer
    /// (of the mean loss over `batch_rows` examples) in its buffer.
    fn loss(&mut self, layers: &[Dense], loss: Loss, kind: TargetKind, batch_rows: usize) -> Result<()> {
        let rows = self.rows;
        let last = layers.len() - 1;
        let out = layers[last].units();
        let targets = match kind {
            TargetKind::Classes { .. } if loss.takes_class_indices() => Targets::Classes(&self.classes[..rows]),
            _ => Targets::Dense(&self.target_rows[..rows * out]),
        };
        let output = &mut self.acts[last][..rows * out];
        let correct = crate::nn::count_correct(output, rows, targets, &mut self.argmax);
        let act = layers[last].activation_fn();
        let loss_sum = loss.output_gradient_rows(act, output, rows, targets, batch_rows, &mut self.scratch)?;
        self.totals = Totals { loss_sum, correct, count: rows };
        Ok(())
    }

    /// Phase A of a training step for this part of the batch.
    #[allow(clippy::too_many_arguments)]
    fn train(
        &mut self,
        layers: &[Dense],
        slots: &[Slot],
        params: &[f32],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        batch_rows: usize,
    ) -> Result<()> {
        if indices.is_empty() {
            self.rows = 0;
            self.totals = Totals::default();
            return Ok(());
        }
        self.forward(layers, slots, params, Some(loss), data, indices)?;
        self.loss(layers, loss, data.target_kind(), batch_rows)?;
        let rows = self.rows;
        // dL/dz of each hidden layer, from the top down: (dL/dz above) W^T, then through
        // this layer's activation, using its output.
        for l in (1..layers.len()).rev() {
            let slot = &slots[l];
            let hidden = self.deltas.len();
            let (below, upper) = self.deltas.split_at_mut(l.min(hidden));
            let delta_above: &[f32] =
                if l + 1 == layers.len() { &self.acts[l][..rows * slot.units] } else { &upper[0][..rows * slot.units] };
            let grad_x = &mut below[l - 1][..rows * slot.inputs];
            layers[l].input_gradient_rows(&params[slot.weight_range()], delta_above, rows, grad_x)?;
            layers[l - 1].activation_fn().backward_rows(&self.acts[l - 1][..rows * slot.inputs], grad_x, slot.inputs);
        }
        Ok(())
    }
}

/// What phase B reads: the model, the finished phase-A parts and the optimiser's settings.
struct PhaseB<'a> {
    layers: &'a [Dense],
    slots: &'a [Slot],
    chunks: &'a [Chunk],
    optimizer: Optimizer,
    step: u64,
}

impl PhaseB<'_> {
    /// Gradient and update of the flat parameter range starting at `start` (the slices are
    /// this range's part of the parameters, gradients and optimiser state).
    fn run(&self, start: usize, params: &mut [f32], grads: &mut [f32], s0: &mut [f32], s1: &mut [f32]) -> Result<()> {
        let end = start + params.len();
        for (l, (layer, slot)) in self.layers.iter().zip(self.slots).enumerate() {
            let w = slot.weight_range();
            let (lo, hi) = (w.start.max(start), w.end.min(end));
            if lo < hi {
                let first_input = (lo - w.start) / slot.units;
                let dst = &mut grads[lo - start..hi - start];
                let mut accumulate = false;
                for c in self.chunks.iter().filter(|c| c.rows > 0) {
                    let rows = c.rows;
                    let (input, delta) = (&c.input(l)[..rows * slot.inputs], &c.delta(l)[..rows * slot.units]);
                    layer.weight_gradient_rows(input, delta, rows, first_input, dst, accumulate)?;
                    accumulate = true;
                }
            }
            let b = slot.bias_range();
            let (lo, hi) = (b.start.max(start), b.end.min(end));
            if lo < hi {
                let dst = &mut grads[lo - start..hi - start];
                dst.fill(0.0);
                let cols = lo - b.start..hi - b.start;
                for c in self.chunks.iter().filter(|c| c.rows > 0) {
                    for row in c.delta(l)[..c.rows * slot.units].chunks_exact(slot.units) {
                        for (d, &v) in dst.iter_mut().zip(&row[cols.clone()]) {
                            *d += v;
                        }
                    }
                }
            }
        }
        self.optimizer.apply(self.step, params, grads, s0, s1);
        Ok(())
    }
}

/// Splits the flat range `bounds[0]..bounds[last]` at the inner bounds and runs phase B on
/// each part in parallel (recursively halving, so any thread count needs no allocation).
fn split_phase_b(
    phase: &PhaseB<'_>,
    bounds: &[usize],
    params: &mut [f32],
    grads: &mut [f32],
    s0: &mut [f32],
    s1: &mut [f32],
) -> Result<()> {
    if bounds.len() <= 2 {
        return phase.run(bounds[0], params, grads, s0, s1);
    }
    let mid = bounds.len() / 2;
    let cut = bounds[mid] - bounds[0];
    let (p0, p1) = params.split_at_mut(cut);
    let (g0, g1) = grads.split_at_mut(cut);
    let (a0, a1) = if s0.is_empty() { (&mut [][..], &mut [][..]) } else { s0.split_at_mut(cut) };
    let (b0, b1) = if s1.is_empty() { (&mut [][..], &mut [][..]) } else { s1.split_at_mut(cut) };
    let (left, right) = rayon::join(
        || split_phase_b(phase, &bounds[..=mid], p0, g0, a0, b0),
        || split_phase_b(phase, &bounds[mid..], p1, g1, a1, b1),
    );
    left.and(right)
}

/// Buffers and threads for training and evaluating one model.
pub(crate) struct Engine {
    pool: Option<Arc<rayon::ThreadPool>>,
    threads: usize,
    shape_key: Vec<usize>,
    slots: Vec<Slot>,
    params: Vec<f32>,
    grads: Vec<f32>,
    bounds: Vec<usize>,
    chunks: Vec<Chunk>,
    rows_per_chunk: usize,
    eval_chunks: Vec<Chunk>,
}

/// Rows evaluated per part: large enough for efficient GEMMs, small enough for the cache.
const EVAL_ROWS: usize = 256;

impl Engine {
    /// An engine for `threads` threads (1: everything on the calling thread).
    pub(crate) fn new(threads: usize) -> Result<Engine> {
        let threads = threads.max(1);
        let pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("neurite-{i}"))
                .build()
                .map_err(|e| Error::Value(format!("could not start {threads} threads: {e}")))?;
            Some(Arc::new(pool))
        } else {
            None
        };
        Ok(Engine {
            pool,
            threads,
            shape_key: vec![],
            slots: vec![],
            params: vec![],
            grads: vec![],
            bounds: vec![],
            chunks: vec![],
            rows_per_chunk: 0,
            eval_chunks: vec![],
        })
    }

    /// Number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// The engine's thread pool (None for one thread). Training steps should run on it, so
    /// that each step's parallel parts do not enter the pool anew.
    pub(crate) fn pool(&self) -> Option<Arc<rayon::ThreadPool>> {
        self.pool.clone()
    }

    /// Makes sure the buffers fit `layers` and batches of `batch` rows (0: evaluation only),
    /// and copies the layers' parameters into the flat buffer.
    pub(crate) fn prepare(&mut self, layers: &[Dense], batch: usize) -> Result<()> {
        if !(self.fits(layers) && self.shape_key.last() == Some(&batch)) {
            let mut key: Vec<usize> = layers.iter().flat_map(|l| [l.input_dim().unwrap_or(0), l.units()]).collect();
            key.push(batch);
            self.slots = slots(layers);
            let total = self.slots.last().map(|s| s.bias_range().end).unwrap_or(0);
            self.params = vec![0.0; total];
            self.grads = vec![0.0; total];
            self.bounds = parameter_bounds(&self.slots, total, self.threads);
            let parts = self.threads.min(batch.max(1));
            self.rows_per_chunk = batch.div_ceil(parts);
            self.chunks = if batch > 0 {
                (0..parts).map(|_| Chunk::new(layers, self.rows_per_chunk, true)).collect()
            } else {
                vec![]
            };
            self.eval_chunks = (0..self.threads).map(|_| Chunk::new(layers, EVAL_ROWS, false)).collect();
            self.shape_key = key;
        }
        self.load(layers)
    }

    /// Whether the buffers were made for these layers (for any batch size).
    pub(crate) fn fits(&self, layers: &[Dense]) -> bool {
        // Compared without building the key: this runs at every train_on_batch.
        self.shape_key.len() == 2 * layers.len() + 1
            && layers
                .iter()
                .zip(self.shape_key.chunks_exact(2))
                .all(|(l, k)| k == [l.input_dim().unwrap_or(0), l.units()])
    }

    /// Copies the layers' parameters into the flat buffer.
    pub(crate) fn load(&mut self, layers: &[Dense]) -> Result<()> {
        for (layer, slot) in layers.iter().zip(&self.slots) {
            let w = layer.weight().ok_or_else(|| Error::Value("a layer is not built".into()))?;
            w.with_value(|t| copy_into(&mut self.params[slot.weight_range()], t))?;
            if let Some(b) = layer.bias() {
                b.with_value(|t| copy_into(&mut self.params[slot.bias_range()], t))?;
            }
        }
        Ok(())
    }

    /// Copies the flat buffer back into the layers' parameters.
    pub(crate) fn store(&self, layers: &[Dense]) -> Result<()> {
        for (layer, slot) in layers.iter().zip(&self.slots) {
            if let Some(w) = layer.weight() {
                w.with_value_mut(|t| t.data_mut().copy_from_slice(&self.params[slot.weight_range()]));
            }
            if let Some(b) = layer.bias() {
                b.with_value_mut(|t| t.data_mut().copy_from_slice(&self.params[slot.bias_range()]));
            }
        }
        Ok(())
    }

    /// One optimisation step on the examples `indices` (at most the prepared batch size),
    /// on the flat parameters (call [`Engine::store`] to see them in the layers).
    pub(crate) fn train_step(
        &mut self,
        layers: &[Dense],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        state: &mut OptimizerState,
    ) -> Result<Totals> {
        let batch = indices.len();
        if batch == 0 || batch > self.rows_per_chunk * self.chunks.len() {
            return Err(Error::Value(format!(
                "train_step: a batch of {batch} examples for buffers prepared for {}",
                self.rows_per_chunk * self.chunks.len()
            )));
        }
        if state.total() != self.params.len() {
            return Err(Error::Value(format!(
                "train_step: optimiser state for {} values, model with {}",
                state.total(),
                self.params.len()
            )));
        }
        let per = self.rows_per_chunk;
        let (slots, params) = (&self.slots, &self.params);
        let run = |(c, chunk): (usize, &mut Chunk)| {
            let (start, end) = ((c * per).min(batch), ((c + 1) * per).min(batch));
            chunk.train(layers, slots, params, loss, data, &indices[start..end], batch)
        };
        if self.chunks.len() == 1 {
            run((0, &mut self.chunks[0]))?;
        } else {
            self.chunks.par_iter_mut().enumerate().map(run).collect::<Result<()>>()?;
        }
        let mut totals = Totals::default();
        self.chunks.iter().for_each(|c| totals.add(&c.totals));

        state.begin_step();
        let phase = PhaseB {
            layers,
            slots: &self.slots,
            chunks: &self.chunks,
            optimizer: state.optimizer,
            step: state.step_number(),
        };
        let (s0, s1) = state.slots_mut();
        split_phase_b(&phase, &self.bounds, &mut self.params, &mut self.grads, s0, s1)?;
        Ok(totals)
    }

    /// Loss and accuracy over the examples `indices`, with the layers' current parameters.
    pub(crate) fn evaluate(
        &mut self,
        layers: &[Dense],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
    ) -> Result<Totals> {
        self.load(layers)?;
        match self.pool() {
            Some(pool) => pool.install(|| self.evaluate_here(layers, loss, data, indices)),
            None => self.evaluate_here(layers, loss, data, indices),
        }
    }

    fn evaluate_here(&mut self, layers: &[Dense], loss: Loss, data: &dyn Examples, indices: &[u32]) -> Result<Totals> {
        let (slots, params) = (&self.slots, &self.params);
        let run = |(chunk, idx): (&mut Chunk, &[u32])| -> Result<()> {
            chunk.forward(layers, slots, params, Some(loss), data, idx)?;
            chunk.loss(layers, loss, data.target_kind(), idx.len())
        };
        let mut totals = Totals::default();
        for group in indices.chunks(EVAL_ROWS * self.eval_chunks.len()) {
            let parts = group.chunks(EVAL_ROWS);
            let used = parts.len();
            if used == 1 {
                run((&mut self.eval_chunks[0], group))?;
            } else {
                self.eval_chunks.par_iter_mut().zip(group.par_chunks(EVAL_ROWS)).map(run).collect::<Result<()>>()?;
            }
            self.eval_chunks[..used].iter().for_each(|c| totals.add(&c.totals));
        }
        Ok(totals)
    }

    /// The model's outputs for every example of `data` (rows in order), into `out`.
    pub(crate) fn predict(&mut self, layers: &[Dense], data: &dyn Examples, out: &mut [f32]) -> Result<()> {
        self.load(layers)?;
        match self.pool() {
            Some(pool) => pool.install(|| self.predict_here(layers, data, out)),
            None => self.predict_here(layers, data, out),
        }
    }

    fn predict_here(&mut self, layers: &[Dense], data: &dyn Examples, out: &mut [f32]) -> Result<()> {
        let width = layers.last().map(|l| l.units()).unwrap_or(0);
        let n = data.len();
        if out.len() != n * width {
            return Err(Error::Shape(format!("predict: {} output slots for {n} x {width}", out.len())));
        }
        let (slots, params) = (&self.slots, &self.params);
        let last = layers.len() - 1;
        let run = |(chunk, (block, dst)): (&mut Chunk, (usize, &mut [f32]))| -> Result<()> {
            let start = block * EVAL_ROWS;
            let rows = dst.len() / width.max(1);
            let indices: &mut [u32] = &mut chunk.classes[..rows];
            for (k, i) in indices.iter_mut().enumerate() {
                *i = (start + k) as u32;
            }
            let indices = std::mem::take(&mut chunk.classes);
            let result = chunk.forward(layers, slots, params, None, data, &indices[..rows]);
            chunk.classes = indices;
            result?;
            dst.copy_from_slice(&chunk.acts[last][..rows * width]);
            Ok(())
        };
        let per_group = EVAL_ROWS * width.max(1) * self.eval_chunks.len();
        for (g, group) in out.chunks_mut(per_group).enumerate() {
            let first_block = g * self.eval_chunks.len();
            self.eval_chunks
                .par_iter_mut()
                .zip(group.par_chunks_mut(EVAL_ROWS * width.max(1)).enumerate().map(|(i, d)| (first_block + i, d)))
                .map(run)
                .collect::<Result<()>>()?;
        }
        Ok(())
    }
}

fn copy_into(dst: &mut [f32], t: &crate::tensor::Tensor) -> Result<()> {
    // Read in place when possible: a copy of the handle would allocate at every step.
    let copied;
    let src = match t.as_slice() {
        Some(s) => s,
        None => {
            copied = t.to_vec();
            &copied
        }
    };
    if src.len() != dst.len() {
        return Err(Error::Shape(format!(
            "a parameter holds {} values where the layer needs {}",
            src.len(),
            dst.len()
        )));
    }
    dst.copy_from_slice(src);
    Ok(())
}

/// Cuts `0..total` into `threads` contiguous ranges of about equal size, each cut on a
/// weight-row boundary (or a layer boundary), so that every thread's share of phase B is a
/// set of whole weight rows.
fn parameter_bounds(slots: &[Slot], total: usize, threads: usize) -> Vec<usize> {
    let mut bounds = vec![0];
    for k in 1..threads {
        let target = total * k / threads;
        let snapped = slots
            .iter()
            .find_map(|s| {
                let (w, b) = (s.weight_range(), s.bias_range());
                if w.contains(&target) {
                    Some(w.start + (target - w.start + s.units / 2) / s.units.max(1) * s.units)
                } else if b.contains(&target) {
                    Some(b.end)
                } else {
                    None
                }
            })
            .unwrap_or(total);
        bounds.push(snapped.max(*bounds.last().unwrap_or(&0)).min(total));
    }
    bounds.push(total);
    bounds
}
