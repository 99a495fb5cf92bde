//! The fast training path: forward and backward passes of a stack of dense layers on
//! preallocated buffers, each batch split by rows across threads.
//!
//! Every thread owns a [`Chunk`]: its rows' inputs, activations, deltas and its own weight
//! gradients. After the parallel part the gradients are summed in a fixed order (so a given
//! thread count always gives the same bits) and the optimiser updates each parameter in one
//! pass. Once the buffers exist, a step allocates nothing. The maths is the layers' own
//! ([`Dense::forward_rows`], [`Dense::backward_rows`], [`Loss::output_gradient_rows`]), the
//! same kernels that the autograd path runs.

use std::sync::Arc;

use rayon::prelude::*;

use super::examples::{Examples, TargetKind};
use crate::error::{Error, Result};
use crate::nn::{Dense, Loss, Targets};
use crate::optim::OptimizerState;

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

    fn add(&mut self, other: &Totals) {
        self.loss_sum += other.loss_sum;
        self.correct += other.correct;
        self.count += other.count;
    }
}

/// The targets of a chunk's rows in the form the loss wants.
fn targets_of<'a>(
    classes: &'a [u32],
    target_rows: &'a [f32],
    loss: Loss,
    kind: TargetKind,
    rows: usize,
    out: usize,
) -> Targets<'a> {
    match kind {
        TargetKind::Classes { .. } if loss.takes_class_indices() => Targets::Classes(&classes[..rows]),
        _ => Targets::Dense(&target_rows[..rows * out]),
    }
}

/// One thread's share of a batch, with all the buffers it writes.
#[derive(Default)]
struct Chunk {
    x: Vec<f32>,
    classes: Vec<u32>,
    target_rows: Vec<f32>,
    acts: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
    grads: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    argmax: Vec<usize>,
    totals: Totals,
}

impl Chunk {
    fn new(layers: &[Dense], rows: usize, with_grads: bool) -> Chunk {
        let features = layers.first().and_then(|l| l.input_dim()).unwrap_or(0);
        let out = layers.last().map(|l| l.units()).unwrap_or(0);
        Chunk {
            x: vec![0.0; rows * features],
            classes: vec![0; rows],
            target_rows: vec![0.0; rows * out],
            acts: layers.iter().map(|l| vec![0.0; rows * l.units()]).collect(),
            deltas: if with_grads { layers.iter().map(|l| vec![0.0; rows * l.units()]).collect() } else { vec![] },
            grads: if with_grads {
                layers
                    .iter()
                    .flat_map(|l| {
                        let w = vec![0.0; l.input_dim().unwrap_or(0) * l.units()];
                        let b = vec![0.0; if l.config().use_bias { l.units() } else { 0 }];
                        [w, b]
                    })
                    .collect()
            } else {
                vec![]
            },
            scratch: Vec::with_capacity(rows * out),
            argmax: vec![0; rows],
            totals: Totals::default(),
        }
    }

    /// Gathers the rows and their targets, and runs the forward pass; returns the targets.
    fn forward(
        &mut self,
        layers: &[Dense],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        fused: bool,
    ) -> Result<()> {
        let rows = indices.len();
        let features = data.features();
        data.gather_inputs(indices, &mut self.x[..rows * features])?;
        let out = layers.last().map(|l| l.units()).unwrap_or(0);
        match data.target_kind() {
            TargetKind::Classes { .. } if loss.takes_class_indices() => {
                data.gather_classes(indices, &mut self.classes[..rows])?
            }
            TargetKind::Classes { .. } => {
                // Class labels for a loss that wants rows: one-hot them (MSE, categorical CE).
                data.gather_classes(indices, &mut self.classes[..rows])?;
                let t = &mut self.target_rows[..rows * out];
                t.fill(0.0);
                for (row, &c) in t.chunks_exact_mut(out).zip(&self.classes[..rows]) {
                    let slot = row.get_mut(c as usize).ok_or_else(|| {
                        Error::Value(format!("label {c} is out of range for a model with {out} outputs"))
                    })?;
                    *slot = 1.0;
                }
            }
            TargetKind::Dense { .. } => data.gather_rows(indices, &mut self.target_rows[..rows * out])?,
        }
        let last = layers.len() - 1;
        for (l, layer) in layers.iter().enumerate() {
            let n = rows * layer.units();
            let (done, rest) = self.acts.split_at_mut(l);
            let input: &[f32] =
                if l == 0 { &self.x[..rows * features] } else { &done[l - 1][..rows * layers[l - 1].units()] };
            layer.forward_rows(input, rows, &mut rest[0][..n], !(l == last && fused))?;
        }
        Ok(())
    }

    /// Forward, loss and metrics only (evaluation).
    fn evaluate(&mut self, layers: &[Dense], loss: Loss, data: &dyn Examples, indices: &[u32]) -> Result<()> {
        let rows = indices.len();
        let last = layers.len() - 1;
        let act = layers[last].activation_fn();
        let fused = loss.fuses_with(act);
        self.forward(layers, loss, data, indices, fused)?;
        let out = layers[last].units();
        let mut output = std::mem::take(&mut self.acts[last]);
        let result = (|| {
            let targets = targets_of(&self.classes, &self.target_rows, loss, data.target_kind(), rows, out);
            let correct = crate::nn::count_correct(&output[..rows * out], rows, targets, &mut self.argmax);
            let mut scratch = std::mem::take(&mut self.scratch);
            let loss_sum = loss.output_gradient_rows(act, &mut output[..rows * out], rows, targets, rows, &mut scratch);
            self.scratch = scratch;
            Ok::<_, Error>(Totals { loss_sum: loss_sum?, correct, count: rows })
        })();
        self.acts[last] = output;
        self.totals = result?;
        Ok(())
    }

    /// Forward and backward for this chunk's rows; `batch_rows` is the whole batch's size
    /// (the loss is the batch mean).
    fn train(
        &mut self,
        layers: &[Dense],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        batch_rows: usize,
    ) -> Result<()> {
        let rows = indices.len();
        if rows == 0 {
            self.totals = Totals::default();
            self.grads.iter_mut().for_each(|g| g.fill(0.0));
            return Ok(());
        }
        let last = layers.len() - 1;
        let act = layers[last].activation_fn();
        let fused = loss.fuses_with(act);
        self.forward(layers, loss, data, indices, fused)?;
        let out = layers[last].units();
        let kind = data.target_kind();

        // Output layer: metrics on the output, then dL/dz in place in its buffer.
        let mut output = std::mem::take(&mut self.acts[last]);
        let targets = targets_of(&self.classes, &self.target_rows, loss, kind, rows, out);
        let correct = crate::nn::count_correct(&output[..rows * out], rows, targets, &mut self.argmax);
        let loss_sum =
            loss.output_gradient_rows(act, &mut output[..rows * out], rows, targets, batch_rows, &mut self.scratch);
        self.acts[last] = output;
        self.totals = Totals { loss_sum: loss_sum?, correct, count: rows };

        // Backward, from the top down. dL/dz of the output layer is in acts[last], of the
        // others in deltas[l]; each is taken out while in use so that the borrows stay simple,
        // and put back before any error is returned.
        let features = data.features();
        for l in (0..=last).rev() {
            let mut delta =
                if l == last { std::mem::take(&mut self.acts[last]) } else { std::mem::take(&mut self.deltas[l]) };
            let result = self.backward_layer(layers, l, rows, features, &delta);
            if l == last {
                self.acts[last] = std::mem::take(&mut delta);
            } else {
                self.deltas[l] = std::mem::take(&mut delta);
            }
            result?;
        }
        Ok(())
    }
}

impl Chunk {
    /// Weight and bias gradients of layer `l` from its `delta = dL/dz`, and `dL/dz` of the
    /// layer below (into `deltas[l - 1]`), through that layer's activation.
    fn backward_layer(
        &mut self,
        layers: &[Dense],
        l: usize,
        rows: usize,
        features: usize,
        delta: &[f32],
    ) -> Result<()> {
        let layer = &layers[l];
        let delta = &delta[..rows * layer.units()];
        let (gw, rest) =
            self.grads[2 * l..].split_first_mut().ok_or_else(|| Error::Value("missing gradient buffer".into()))?;
        let gb = &mut rest[0];
        if l == 0 {
            return layer.backward_rows(&self.x[..rows * features], rows, delta, gw, gb, None, false);
        }
        let below = layers[l - 1].units();
        let input = &self.acts[l - 1][..rows * below];
        let grad_x = &mut self.deltas[l - 1][..rows * below];
        layer.backward_rows(input, rows, delta, gw, gb, Some(&mut *grad_x), false)?;
        layers[l - 1].activation_fn().backward_rows(input, grad_x, below);
        Ok(())
    }
}

/// Buffers and threads for training and evaluating one model.
pub(crate) struct Engine {
    chunks: Vec<Chunk>,
    eval_chunks: Vec<Chunk>,
    rows_per_chunk: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
    shape_key: Vec<usize>,
}

/// Sizes of the parameters in the order the engine updates them: for each layer, the
/// weight then the bias (0 for a layer without bias).
pub(crate) fn parameter_sizes(layers: &[Dense]) -> Vec<usize> {
    layers
        .iter()
        .flat_map(|l| [l.input_dim().unwrap_or(0) * l.units(), if l.config().use_bias { l.units() } else { 0 }])
        .collect()
}

/// Rows evaluated per chunk: large enough for efficient GEMMs, small enough for the cache.
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
        Ok(Engine { chunks: Vec::new(), eval_chunks: Vec::new(), rows_per_chunk: 0, pool, shape_key: vec![] })
    }

    /// Number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.pool.as_ref().map(|p| p.current_num_threads()).unwrap_or(1)
    }

    /// The engine's thread pool (None for one thread). `train_step` should be called on it,
    /// so that a step's parallel part runs on these threads without entering the pool anew.
    pub(crate) fn pool(&self) -> Option<Arc<rayon::ThreadPool>> {
        self.pool.clone()
    }

    /// Makes sure the buffers fit `layers` and batches of `batch` rows.
    pub(crate) fn prepare(&mut self, layers: &[Dense], batch: usize) {
        let mut key: Vec<usize> = layers.iter().flat_map(|l| [l.input_dim().unwrap_or(0), l.units()]).collect();
        key.push(batch);
        if key == self.shape_key {
            return;
        }
        let threads = self.threads().min(batch.max(1));
        self.rows_per_chunk = batch.div_ceil(threads);
        self.chunks = (0..threads).map(|_| Chunk::new(layers, self.rows_per_chunk, true)).collect();
        self.eval_chunks = (0..self.threads()).map(|_| Chunk::new(layers, EVAL_ROWS, false)).collect();
        self.shape_key = key;
    }

    /// One optimisation step on the examples `indices` (at most the prepared batch size).
    pub(crate) fn train_step(
        &mut self,
        layers: &[Dense],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        optimizer: &mut OptimizerState,
    ) -> Result<Totals> {
        let batch = indices.len();
        if batch == 0 || batch > self.rows_per_chunk * self.chunks.len() {
            return Err(Error::Value(format!(
                "train_step: a batch of {batch} examples for buffers prepared for {}",
                self.rows_per_chunk * self.chunks.len()
            )));
        }
        let per = self.rows_per_chunk;
        let run = |(c, chunk): (usize, &mut Chunk)| {
            let start = (c * per).min(batch);
            let end = ((c + 1) * per).min(batch);
            chunk.train(layers, loss, data, &indices[start..end], batch)
        };
        if self.chunks.len() == 1 {
            run((0, &mut self.chunks[0]))?;
        } else {
            self.chunks.par_iter_mut().enumerate().map(run).collect::<Result<()>>()?;
        }
        // Sum the other chunks' gradients into the first, in chunk order.
        let (first, others) = self.chunks.split_at_mut(1);
        let mut totals = first[0].totals;
        for chunk in others.iter() {
            totals.add(&chunk.totals);
            for (dst, src) in first[0].grads.iter_mut().zip(&chunk.grads) {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
        optimizer.begin_step();
        // Parameter 2l is layer l's weight, 2l + 1 its bias (see `parameter_sizes`).
        let grads = &first[0].grads;
        for (l, layer) in layers.iter().enumerate() {
            for (slot, param) in [layer.weight(), layer.bias()].into_iter().enumerate() {
                if let Some(p) = param {
                    let i = 2 * l + slot;
                    p.with_value_mut(|value| optimizer.update(i, value.data_mut(), &grads[i]))?;
                }
            }
        }
        Ok(totals)
    }

    /// Loss and accuracy over the examples `indices`, without changing the model.
    pub(crate) fn evaluate(
        &mut self,
        layers: &[Dense],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
    ) -> Result<Totals> {
        match self.pool() {
            Some(pool) => pool.install(|| self.evaluate_here(layers, loss, data, indices)),
            None => self.evaluate_here(layers, loss, data, indices),
        }
    }

    fn evaluate_here(&mut self, layers: &[Dense], loss: Loss, data: &dyn Examples, indices: &[u32]) -> Result<Totals> {
        let blocks: Vec<&[u32]> = indices.chunks(EVAL_ROWS).collect();
        let mut totals = Totals::default();
        for group in blocks.chunks(self.eval_chunks.len().max(1)) {
            let run = |(chunk, idx): (&mut Chunk, &&[u32])| chunk.evaluate(layers, loss, data, idx);
            if group.len() == 1 {
                run((&mut self.eval_chunks[0], &group[0]))?;
            } else {
                self.eval_chunks.par_iter_mut().zip(group.par_iter()).map(run).collect::<Result<()>>()?;
            }
            for chunk in &self.eval_chunks[..group.len()] {
                totals.add(&chunk.totals);
            }
        }
        Ok(totals)
    }

    /// The model's outputs for every example of `data` (rows in order).
    pub(crate) fn predict(&mut self, layers: &[Dense], data: &dyn Examples) -> Result<Vec<f32>> {
        match self.pool() {
            Some(pool) => pool.install(|| self.predict_here(layers, data)),
            None => self.predict_here(layers, data),
        }
    }

    fn predict_here(&mut self, layers: &[Dense], data: &dyn Examples) -> Result<Vec<f32>> {
        let out = layers.last().map(|l| l.units()).unwrap_or(0);
        let n = data.len();
        let indices: Vec<u32> = (0..n as u32).collect();
        let mut result = vec![0.0; n * out];
        let blocks: Vec<(&[u32], &mut [f32])> =
            indices.chunks(EVAL_ROWS).zip(result.chunks_mut(EVAL_ROWS * out.max(1))).collect();
        let mut blocks = blocks;
        let width = self.eval_chunks.len().max(1);
        for group in blocks.chunks_mut(width) {
            let run = |(chunk, (idx, dst)): (&mut Chunk, &mut (&[u32], &mut [f32]))| -> Result<()> {
                chunk.forward(layers, Loss::MeanSquaredError, &NoTargets(data), idx, false)?;
                let rows = idx.len();
                dst.copy_from_slice(&chunk.acts[layers.len() - 1][..rows * out]);
                Ok(())
            };
            if group.len() == 1 {
                run((&mut self.eval_chunks[0], &mut group[0]))?;
            } else {
                self.eval_chunks.par_iter_mut().zip(group.par_iter_mut()).map(run).collect::<Result<()>>()?;
            }
        }
        Ok(result)
    }
}

/// Inputs without targets, for prediction: target gathering is a no-op.
struct NoTargets<'a>(&'a dyn Examples);

impl Examples for NoTargets<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn features(&self) -> usize {
        self.0.features()
    }
    fn target_kind(&self) -> TargetKind {
        TargetKind::Dense { width: 0 }
    }
    fn gather_inputs(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        self.0.gather_inputs(indices, x)
    }
    fn gather_classes(&self, _: &[u32], _: &mut [u32]) -> Result<()> {
        Ok(())
    }
    fn gather_rows(&self, _: &[u32], _: &mut [f32]) -> Result<()> {
        Ok(())
    }
}
