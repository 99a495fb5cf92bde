//! The fast training path: forward and backward passes of a stack of dense layers on
//! buffers allocated once, each step split across threads in three parts.
//!
//! * A1, the first layer by input features: thread `t` gathers features `P_t` of every
//!   example of the batch straight from the data set and computes the partial product
//!   `x[:, P_t] W1[P_t, :]`.
//! * A2, the rest by examples: each thread takes a contiguous part of the batch's rows, sums
//!   the first layer's partial products (plus bias, activation), runs the other layers, the
//!   loss gradient, and the backward pass down to every layer's `dL/dz` (never the input's
//!   gradient, which nobody needs).
//! * B, by parameters: all parameters live end to end in one flat buffer. Thread `t`
//!   computes the gradient of the first layer's rows `P_t` from its own A1 inputs (one GEMM
//!   over the whole batch) and of its share of the other parameters from every part of the
//!   batch, then applies the optimiser to those ranges in one pass while they are in cache.
//!
//! So the first layer's weight rows, their optimiser moments and the pixels that multiply
//! them stay in one core's cache from step to step, and no gradient reduction is needed.
//! A given thread count always cuts the same way, so results are bit-identical run to run.
//! Once the buffers exist a step allocates nothing. The arithmetic is the layers' own
//! ([`Dense::forward_rows_with`], [`Dense::input_gradient_rows`],
//! [`Dense::weight_gradient_rows`], [`Loss::output_gradient_rows`]) on the same kernels that
//! the autograd path runs.

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use super::examples::{Examples, TargetKind};
use crate::error::{Error, Result};
use crate::kernels::{gemm, reduce, MatLayout};
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
    fn weight_range(&self) -> Range<usize> {
        self.weight..self.weight + self.inputs * self.units
    }

    fn bias_range(&self) -> Range<usize> {
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

/// One thread's share of the first layer's inputs (A1).
#[derive(Default)]
struct InputPart {
    /// The features `first..first + count` of the first layer.
    first: usize,
    count: usize,
    /// Those features of every example of the batch (batch x count).
    x: Vec<f32>,
    /// `x W1[first..first + count, :]` (batch x units of the first layer).
    partial: Vec<f32>,
}

impl InputPart {
    /// A1 for this part: gathers its features of the examples `indices` and multiplies them
    /// by `w`, its rows of the first layer's weight (`count` x `units`).
    fn forward(&mut self, data: &dyn Examples, indices: &[u32], w: &[f32], units: usize) -> Result<()> {
        let (rows, n) = (indices.len(), self.count);
        data.gather_feature_range(indices, self.first, n, &mut self.x[..rows * n])?;
        gemm(
            1.0,
            &self.x[..rows * n],
            MatLayout::row_major(rows, n),
            w,
            MatLayout::row_major(n, units),
            0.0,
            &mut self.partial[..rows * units],
            MatLayout::row_major(rows, units),
        )
    }
}

/// One thread's part of a batch's examples (A2), with every buffer it writes.
#[derive(Default)]
struct Chunk {
    rows: usize,
    /// Full input rows, for evaluation and prediction (training uses the input parts).
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
            x: if training { vec![] } else { vec![0.0; rows * features] },
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

    /// Gathers the targets of the rows in the form the loss wants.
    fn gather_targets(&mut self, loss: Loss, out: usize, data: &dyn Examples, indices: &[u32]) -> Result<()> {
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

    /// Runs layers `from..` on the rows (layer `from` reads `x`, or the layer below's output).
    /// The output layer's activation is left out when the loss is fused with it.
    fn forward_from(
        &mut self,
        layers: &[Dense],
        slots: &[Slot],
        params: &[f32],
        from: usize,
        fused: bool,
    ) -> Result<()> {
        let rows = self.rows;
        let last = layers.len() - 1;
        for l in from..layers.len() {
            let slot = &slots[l];
            let (below, this) = self.acts.split_at_mut(l);
            let input: &[f32] =
                if l == 0 { &self.x[..rows * slot.inputs] } else { &below[l - 1][..rows * slot.inputs] };
            let bias = slot.has_bias.then(|| &params[slot.bias_range()]);
            let out = &mut this[0][..rows * slot.units];
            layers[l].forward_rows_with(&params[slot.weight_range()], bias, input, rows, out, !(l == last && fused))?;
        }
        Ok(())
    }

    /// Evaluation and prediction: full input rows through every layer.
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
        let last = layers.len() - 1;
        data.gather_inputs(indices, &mut self.x[..rows * data.features()])?;
        if let Some(loss) = loss {
            self.gather_targets(loss, layers[last].units(), data, indices)?;
        }
        let fused = loss.is_some_and(|l| l.fuses_with(layers[last].activation_fn()));
        self.forward_from(layers, slots, params, 0, fused)
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

    /// A2 for the rows `start..start + indices.len()` of the batch.
    #[allow(clippy::too_many_arguments)]
    fn train(
        &mut self,
        layers: &[Dense],
        slots: &[Slot],
        params: &[f32],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        start: usize,
        parts: &[InputPart],
        batch_rows: usize,
    ) -> Result<()> {
        let rows = indices.len();
        self.rows = rows;
        let last = layers.len() - 1;
        let fused = loss.fuses_with(layers[last].activation_fn());
        self.gather_targets(loss, layers[last].units(), data, indices)?;
        // First layer: the sum of the input parts' products, then bias and activation.
        let first = &slots[0];
        let z = &mut self.acts[0][..rows * first.units];
        let span = start * first.units..(start + rows) * first.units;
        match parts.split_first() {
            Some((p0, rest)) => {
                z.copy_from_slice(&p0.partial[span.clone()]);
                for p in rest {
                    reduce::add_assign(z, &p.partial[span.clone()]);
                }
            }
            None => z.fill(0.0),
        }
        let bias = first.has_bias.then(|| &params[first.bias_range()]);
        let activation = layers[0].activation_fn();
        for row in z.chunks_exact_mut(first.units) {
            if let Some(b) = bias {
                reduce::add_row_vector(row, b);
            }
            if !(last == 0 && fused) {
                activation.forward_rows(row, first.units);
            }
        }
        self.forward_from(layers, slots, params, 1, fused)?;
        self.loss(layers, loss, data.target_kind(), batch_rows)?;
        // dL/dz of each hidden layer, from the top down: (dL/dz above) W^T, then through
        // this layer's activation, using its output.
        for l in (1..layers.len()).rev() {
            let slot = &slots[l];
            let hidden = self.deltas.len();
            let (below, upper) = self.deltas.split_at_mut(l.min(hidden));
            let delta_above: &[f32] =
                if l == last { &self.acts[l][..rows * slot.units] } else { &upper[0][..rows * slot.units] };
            let grad_x = &mut below[l - 1][..rows * slot.inputs];
            layers[l].input_gradient_rows(&params[slot.weight_range()], delta_above, rows, grad_x)?;
            layers[l - 1].activation_fn().backward_rows(&self.acts[l - 1][..rows * slot.inputs], grad_x, slot.inputs);
        }
        Ok(())
    }
}

/// What part B reads: the model, the finished A2 chunks, the optimiser's settings, and the
/// next step's examples, whose A1 each thread runs right after updating its rows of the
/// first layer's weight (the same rows A1 reads, so no other thread has to be waited for).
struct PartB<'a> {
    layers: &'a [Dense],
    slots: &'a [Slot],
    chunks: &'a [Chunk],
    /// `dL/dz` of the first layer for the whole batch, rows in order.
    first_delta: &'a [f32],
    batch: usize,
    optimizer: Optimizer,
    step: u64,
    data: &'a dyn Examples,
    next: &'a [u32],
}

/// One thread's ranges of the flat buffers: parameters, gradients, optimiser state.
struct Ranges<'a> {
    start: usize,
    params: &'a mut [f32],
    grads: &'a mut [f32],
    s0: &'a mut [f32],
    s1: &'a mut [f32],
}

impl<'a> Ranges<'a> {
    /// Cuts off the first `n` values: (the first `n`, the rest).
    fn split(self, n: usize) -> (Ranges<'a>, Ranges<'a>) {
        let (p0, p1) = self.params.split_at_mut(n);
        let (g0, g1) = self.grads.split_at_mut(n);
        let (a0, a1) = if self.s0.is_empty() { (&mut [][..], &mut [][..]) } else { self.s0.split_at_mut(n) };
        let (b0, b1) = if self.s1.is_empty() { (&mut [][..], &mut [][..]) } else { self.s1.split_at_mut(n) };
        (
            Ranges { start: self.start, params: p0, grads: g0, s0: a0, s1: b0 },
            Ranges { start: self.start + n, params: p1, grads: g1, s0: a1, s1: b1 },
        )
    }
}

impl PartB<'_> {
    /// Thread `t`'s share: the first layer's weight rows of input part `t` (in `first`),
    /// a range of the other parameters (in `rest`), then A1 of the next step for part `t`.
    fn run(&self, part: Option<&mut InputPart>, first: Ranges<'_>, rest: Ranges<'_>) -> Result<()> {
        if let Some(part) = part.filter(|p| p.count > 0) {
            let units = self.slots[0].units;
            let b = self.batch;
            // The next batch's pixels of this part arrive while the gradient is computed.
            self.data.prefetch_feature_range(self.next, part.first, part.count);
            let xt = MatLayout::row_major(b, part.count).t();
            gemm(
                1.0,
                &part.x[..b * part.count],
                xt,
                &self.first_delta[..b * units],
                MatLayout::row_major(b, units),
                0.0,
                first.grads,
                MatLayout::row_major(part.count, units),
            )?;
            self.optimizer.apply(self.step, first.params, first.grads, first.s0, first.s1);
            self.run_rest(rest)?;
            if !self.next.is_empty() {
                part.forward(self.data, self.next, first.params, units)?;
            }
            return Ok(());
        }
        self.run_rest(rest)
    }

    /// Gradients of a range of the parameters after the first layer's weight, from every
    /// part of the batch, then the optimiser's update of the range.
    fn run_rest(&self, r: Ranges<'_>) -> Result<()> {
        if r.params.is_empty() {
            return Ok(());
        }
        let (start, end) = (r.start, r.start + r.params.len());
        for (l, (layer, slot)) in self.layers.iter().zip(self.slots).enumerate() {
            let w = slot.weight_range();
            let (lo, hi) = (w.start.max(start), w.end.min(end));
            if l > 0 && lo < hi {
                let first_input = (lo - w.start) / slot.units;
                let dst = &mut r.grads[lo - start..hi - start];
                let mut accumulate = false;
                for c in self.chunks.iter().filter(|c| c.rows > 0) {
                    let rows = c.rows;
                    let (input, delta) = (&c.acts[l - 1][..rows * slot.inputs], &c.delta(l)[..rows * slot.units]);
                    layer.weight_gradient_rows(input, delta, rows, first_input, dst, accumulate)?;
                    accumulate = true;
                }
            }
            let b = slot.bias_range();
            let (lo, hi) = (b.start.max(start), b.end.min(end));
            if lo < hi {
                let dst = &mut r.grads[lo - start..hi - start];
                dst.fill(0.0);
                let cols = lo - b.start..hi - b.start;
                for c in self.chunks.iter().filter(|c| c.rows > 0) {
                    for row in c.delta(l)[..c.rows * slot.units].chunks_exact(slot.units) {
                        reduce::add_assign(dst, &row[cols.clone()]);
                    }
                }
            }
        }
        self.optimizer.apply(self.step, r.params, r.grads, r.s0, r.s1);
        Ok(())
    }

    /// Splits both regions at the threads' bounds and runs the threads' shares in parallel
    /// (recursively halving, so any thread count needs no allocation).
    fn split_run(
        &self,
        parts: &mut [InputPart],
        first_bounds: &[usize],
        rest_bounds: &[usize],
        first: Ranges<'_>,
        rest: Ranges<'_>,
    ) -> Result<()> {
        let threads = rest_bounds.len().saturating_sub(1);
        if threads <= 1 {
            return self.run(parts.first_mut(), first, rest);
        }
        let mid = threads / 2;
        let (fa, fb) = first.split(first_bounds[mid] - first_bounds[0]);
        let (ra, rb) = rest.split(rest_bounds[mid] - rest_bounds[0]);
        let (pa, pb) = parts.split_at_mut(mid.min(parts.len()));
        let (left, right) = rayon::join(
            || self.split_run(pa, &first_bounds[..=mid], &rest_bounds[..=mid], fa, ra),
            || self.split_run(pb, &first_bounds[mid..], &rest_bounds[mid..], fb, rb),
        );
        left.and(right)
    }
}

/// Buffers and threads for training and evaluating one model.
pub(crate) struct Engine {
    pool: Option<Arc<rayon::ThreadPool>>,
    threads: usize,
    shape_key: Vec<usize>,
    slots: Vec<Slot>,
    params: Vec<f32>,
    grads: Vec<f32>,
    /// Where each thread's share of the first layer's weight starts (flat), plus the end.
    first_bounds: Vec<usize>,
    /// Where each thread's share of the other parameters starts (flat), plus the end.
    rest_bounds: Vec<usize>,
    parts: Vec<InputPart>,
    /// The examples whose A1 the last step already ran (with the parameters it left), and
    /// the address of their data; empty when nothing was run ahead.
    ahead: Vec<u32>,
    ahead_data: usize,
    first_delta: Vec<f32>,
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
            first_bounds: vec![],
            rest_bounds: vec![],
            parts: vec![],
            ahead: vec![],
            ahead_data: 0,
            first_delta: vec![],
            chunks: vec![],
            rows_per_chunk: 0,
            eval_chunks: vec![],
        })
    }

    /// Number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// The largest batch the training buffers were prepared for.
    fn batch_capacity(&self) -> usize {
        if self.chunks.is_empty() {
            0
        } else {
            self.shape_key.last().copied().unwrap_or(0)
        }
    }

    /// The engine's thread pool (None for one thread). Training steps should run on it, so
    /// that each step's parallel parts do not enter the pool anew.
    pub(crate) fn pool(&self) -> Option<Arc<rayon::ThreadPool>> {
        self.pool.clone()
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

    /// Makes sure the buffers fit `layers` and batches of `batch` rows (0: evaluation only),
    /// and copies the layers' parameters into the flat buffer.
    pub(crate) fn prepare(&mut self, layers: &[Dense], batch: usize) -> Result<()> {
        if layers.is_empty() {
            return Err(Error::Value("the model has no layers".into()));
        }
        if !(self.fits(layers) && self.shape_key.last() == Some(&batch)) {
            let mut key: Vec<usize> = layers.iter().flat_map(|l| [l.input_dim().unwrap_or(0), l.units()]).collect();
            key.push(batch);
            self.slots = slots(layers);
            let total = self.slots.last().map(|s| s.bias_range().end).unwrap_or(0);
            self.params = vec![0.0; total];
            self.grads = vec![0.0; total];
            let first = self.slots[0];
            // The first layer's weight rows, split evenly; the rest, split evenly by size.
            let t = self.threads;
            self.first_bounds = (0..=t).map(|k| first.weight + first.inputs * k / t * first.units).collect();
            self.rest_bounds = split_evenly(&self.slots, first.weight_range().end, total, t);
            self.parts = (0..t)
                .map(|k| {
                    let (a, b) = (first.inputs * k / t, first.inputs * (k + 1) / t);
                    InputPart {
                        first: a,
                        count: b - a,
                        x: vec![0.0; batch * (b - a)],
                        partial: vec![0.0; batch * first.units],
                    }
                })
                .collect();
            self.ahead = Vec::with_capacity(batch);
            self.first_delta = vec![0.0; batch * first.units];
            let parts = t.min(batch.max(1));
            self.rows_per_chunk = batch.div_ceil(parts);
            self.chunks = if batch > 0 {
                (0..parts).map(|_| Chunk::new(layers, self.rows_per_chunk, true)).collect()
            } else {
                vec![]
            };
            self.eval_chunks = (0..t).map(|_| Chunk::new(layers, EVAL_ROWS, false)).collect();
            self.shape_key = key;
        }
        self.load(layers)
    }

    /// Copies the layers' parameters into the flat buffer.
    pub(crate) fn load(&mut self, layers: &[Dense]) -> Result<()> {
        // What was run ahead used the parameters this replaces.
        self.ahead.clear();
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
    /// on the flat parameters (call [`Engine::store`] to see them in the layers). `next`
    /// names the examples of the following step, to prefetch (may be empty).
    pub(crate) fn train_step(
        &mut self,
        layers: &[Dense],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        next: &[u32],
        state: &mut OptimizerState,
    ) -> Result<Totals> {
        let batch = indices.len();
        let capacity = self.batch_capacity();
        if batch == 0 || batch > capacity {
            return Err(Error::Value(format!(
                "train_step: a batch of {batch} examples for buffers prepared for {capacity}"
            )));
        }
        if state.total() != self.params.len() {
            return Err(Error::Value(format!(
                "train_step: optimiser state for {} values, model with {}",
                state.total(),
                self.params.len()
            )));
        }
        state.validate()?;
        let (slots, params) = (&self.slots, &self.params);
        let first = slots[0];

        // A1: each thread's features of every example, times its rows of the first weight;
        // already done by the last step's part B when it knew these examples as its `next`.
        let data_address = data as *const dyn Examples as *const () as usize;
        let ran_ahead = self.ahead == indices && self.ahead_data == data_address;
        self.ahead.clear();
        if !ran_ahead {
            let a1 = |part: &mut InputPart| -> Result<()> {
                let (n, units) = (part.count, first.units);
                let w = &params[first.weight + part.first * units..first.weight + (part.first + n) * units];
                part.forward(data, indices, w, units)
            };
            if self.parts.len() == 1 {
                a1(&mut self.parts[0])?;
            } else {
                self.parts.par_iter_mut().map(a1).collect::<Result<()>>()?;
            }
        }

        // A2: the rest of the forward and backward passes, by examples.
        let per = self.rows_per_chunk;
        let parts = &self.parts;
        for c in &mut self.chunks {
            c.rows = 0;
            c.totals = Totals::default();
        }
        let a2 = |(c, (chunk, dst)): (usize, (&mut Chunk, &mut [f32]))| -> Result<()> {
            let (start, end) = (c * per, ((c + 1) * per).min(batch));
            chunk.train(layers, slots, params, loss, data, &indices[start..end], start, parts, batch)?;
            dst.copy_from_slice(&chunk.delta(0)[..dst.len()]);
            Ok(())
        };
        let deltas = self.first_delta[..batch * first.units].chunks_mut(per * first.units);
        if self.chunks.len() == 1 {
            for item in self.chunks.iter_mut().zip(deltas).enumerate() {
                a2(item)?;
            }
        } else {
            let deltas = self.first_delta[..batch * first.units].par_chunks_mut(per * first.units);
            self.chunks.par_iter_mut().zip(deltas).enumerate().map(a2).collect::<Result<()>>()?;
        }
        let mut totals = Totals::default();
        self.chunks.iter().for_each(|c| totals.add(&c.totals));

        // B: gradients and the optimiser, by parameter ranges; then A1 of the next step.
        state.begin_step();
        let part_b = PartB {
            layers,
            slots: &self.slots,
            chunks: &self.chunks,
            first_delta: &self.first_delta,
            batch,
            optimizer: state.optimizer,
            step: state.step_number(),
            data,
            // A next batch larger than the buffers is not run ahead (it will fail on its own).
            next: if next.len() <= capacity { next } else { &[] },
        };
        let (s0, s1) = state.slots_mut();
        let all = Ranges { start: 0, params: &mut self.params, grads: &mut self.grads, s0, s1 };
        // The flat buffer is [first layer's weight | everything after it].
        let (first_w, rest) = all.split(first.weight_range().end);
        part_b.split_run(&mut self.parts, &self.first_bounds, &self.rest_bounds, first_w, rest)?;
        // Within the capacity reserved by `prepare`: no allocation.
        self.ahead.extend_from_slice(part_b.next);
        self.ahead_data = data_address;
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
            let used = group.len().div_ceil(EVAL_ROWS);
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
            let rows = dst.len() / width.max(1);
            let start = block * EVAL_ROWS;
            chunk.rows = rows;
            match data.input_rows(start, rows) {
                // f32 rows in memory: the first layer reads them where they are.
                Some(x) => {
                    let slot = &slots[0];
                    let bias = slot.has_bias.then(|| &params[slot.bias_range()]);
                    let out0 = &mut chunk.acts[0][..rows * slot.units];
                    layers[0].forward_rows_with(&params[slot.weight_range()], bias, x, rows, out0, true)?;
                    chunk.forward_from(layers, slots, params, 1, false)?;
                }
                None => {
                    // The example numbers of this block, written into the chunk's label
                    // buffer so that prediction allocates nothing per block.
                    let mut indices = std::mem::take(&mut chunk.classes);
                    for (k, i) in indices[..rows].iter_mut().enumerate() {
                        *i = (start + k) as u32;
                    }
                    let result = chunk.forward(layers, slots, params, None, data, &indices[..rows]);
                    chunk.classes = indices;
                    result?;
                }
            }
            dst.copy_from_slice(&chunk.acts[last][..rows * width]);
            Ok(())
        };
        // Each thread takes one contiguous span of whole blocks: one fork-join per call.
        let block = EVAL_ROWS * width.max(1);
        let blocks = out.len().div_ceil(block);
        let per_thread = blocks.div_ceil(self.eval_chunks.len()).max(1);
        let span = |(t, (chunk, dst)): (usize, (&mut Chunk, &mut [f32]))| -> Result<()> {
            for (i, d) in dst.chunks_mut(block).enumerate() {
                run((&mut *chunk, (t * per_thread + i, d)))?;
            }
            Ok(())
        };
        if blocks <= 1 || self.eval_chunks.len() == 1 {
            return span((0, (&mut self.eval_chunks[0], out)));
        }
        self.eval_chunks.par_iter_mut().zip(out.par_chunks_mut(per_thread * block)).enumerate().map(span).collect()
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

/// Cuts the flat range `start..total` into `threads` contiguous ranges of about equal size,
/// each cut on a weight-row boundary (or a layer boundary), so that every thread's share is
/// a set of whole weight rows.
fn split_evenly(slots: &[Slot], start: usize, total: usize, threads: usize) -> Vec<usize> {
    let mut bounds = vec![start];
    for k in 1..threads {
        let target = start + (total - start) * k / threads;
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
        bounds.push(snapped.clamp(*bounds.last().unwrap_or(&start), total));
    }
    bounds.push(total);
    bounds
}
