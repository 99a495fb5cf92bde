//! The three phases of a training step. Each calls the layers' and the loss's own row
//! functions; what is here is only which thread runs which rows, features and parameters.
//!
//! * A1, by input features: thread `t` gathers features `P_t` of every example of the batch
//!   straight from the data set and computes its part of the first layer's product
//!   ([`Dense::product`] over those features).
//! * A2, by examples: each thread takes a contiguous part of the batch's rows, sums the
//!   first layer's parts, finishes that layer, runs the others, the loss and the backward
//!   pass down to every layer's `dL/dz` (never the input's gradient, which nobody needs).
//! * B, by parameters: thread `t` computes the first layer's weight-gradient rows `P_t` from
//!   its own A1 inputs, and its share of the other parameters' gradients from every part of
//!   the batch, then applies the optimiser to those ranges while they are in cache, then A1
//!   of the next step (whose inputs it already knows) for part `t`.
//!
//! A2 and B are two joins, or with two threads one job per thread that meet between them
//! (`Engine::step_together`): the same calls on the same values, in the same order.

use super::chunk::{output_of, Chunk};
use super::layout::Layout;
use super::pool;
use crate::error::{Error, Result};
use crate::kernels::reduce;
use crate::nn::{Activate, ByteRows, Dense, InputRows, Layer, Loss, Noise};
use crate::optim::Optimizer;
use crate::train::examples::Examples;

/// One thread's share of the first layer's inputs (A1).
#[derive(Default)]
pub(crate) struct InputPart {
    /// The features `first..first + count` of the first layer.
    pub first: usize,
    pub count: usize,
    /// Those features of every example of the batch (batch x count).
    pub x: Vec<f32>,
    /// `x W1[first..first + count, :]` (batch x units of the first layer).
    pub partial: Vec<f32>,
    /// The same features as bytes, where the examples hold them so (pixels): the products
    /// read these, and `x` holds floats only where a product has to have them.
    pub bytes: Vec<u8>,
    /// Whether the last gather went to `bytes`.
    pub from_bytes: bool,
}

impl InputPart {
    /// These features of `rows` examples, as the layer's arithmetic reads them.
    fn inputs(&self, rows: usize) -> InputRows<'_> {
        InputRows { data: &self.x[..rows * self.count], rows, stride: self.count, first: self.first, count: self.count }
    }

    /// A1 for this part: gathers its features of the examples `indices` and multiplies them
    /// by `w_rows`, its rows of the first layer's weight.
    pub(crate) fn forward(
        &mut self,
        layer: &Dense,
        data: &dyn Examples,
        indices: &[u32],
        w_rows: &[f32],
    ) -> Result<()> {
        let rows = indices.len();
        let units = layer.units();
        let InputPart { x, partial, first, count, bytes, from_bytes } = self;
        let partial = &mut partial[..rows * units];
        *from_bytes = false;
        if let Some(table) = data.byte_table().filter(|_| bytes.len() >= rows * *count) {
            data.gather_feature_bytes(indices, *first, *count, &mut bytes[..rows * *count])?;
            *from_bytes = true;
            let inputs =
                ByteRows { data: &bytes[..rows * *count], table, rows, stride: *count, first: *first, count: *count };
            return layer.product_of_bytes(inputs, w_rows, partial, false, x);
        }
        data.gather_feature_range(indices, *first, *count, &mut x[..rows * *count])?;
        let inputs = InputRows { data: &x[..rows * *count], rows, stride: *count, first: *first, count: *count };
        layer.product(inputs, w_rows, partial, false)
    }
}

/// What every chunk's A2 reads: the model, the batch (cut into chunks of `per` rows), the
/// first layer's input parts, the step's random numbers.
pub(crate) struct ChunkRun<'a> {
    pub layers: &'a [Box<dyn Layer>],
    pub layout: &'a Layout,
    pub params: &'a [f32],
    pub loss: Loss,
    pub data: &'a dyn Examples,
    pub indices: &'a [u32],
    pub per: usize,
    pub parts: &'a [InputPart],
    pub noise: &'a [Noise],
}

impl ChunkRun<'_> {
    /// A2 for chunk `c`: resets it and trains it on its rows of the batch (none past the
    /// batch's end); returns those rows.
    pub(crate) fn run(&self, c: usize, chunk: &mut Chunk) -> Result<std::ops::Range<usize>> {
        let batch = self.indices.len();
        let (start, end) = ((c * self.per).min(batch), ((c + 1) * self.per).min(batch));
        chunk.rows = 0;
        chunk.totals = super::Totals::default();
        if start < end {
            let Self { layers, layout, params, loss, data, indices, parts, noise, .. } = *self;
            chunk.train(layers, layout, params, loss, data, &indices[start..end], start, parts, batch, noise)?;
        }
        Ok(start..end)
    }
}

impl Chunk {
    /// A2 for the rows `start..start + indices.len()` of the batch: the forward pass (from
    /// the sum of the first layer's input parts when the threads share its weight by
    /// features, else from the whole input rows), the loss, and the backward pass down to the
    /// first layer's `dL/dz` (never the input's gradient, which nobody needs).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn train(
        &mut self,
        layers: &[Box<dyn Layer>],
        layout: &Layout,
        params: &[f32],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        start: usize,
        parts: &[InputPart],
        batch_rows: usize,
        noise: &[Noise],
    ) -> Result<()> {
        let rows = indices.len();
        self.rows = rows;
        let slots = &layout.slots;
        let (out, act) = output_of(layers)?;
        let fused = loss.fuses_with(act);
        self.gather_targets(loss, out, data, indices)?;
        for (mine, step) in self.noise.iter_mut().zip(noise) {
            *mine = step.from_row(start);
        }
        let first = match (layout.first, layout.first_dense()) {
            (Some(l), Some(dense)) => {
                // The first dense layer: the sum of the input parts' products, then bias and
                // activation.
                let units = dense.units;
                let b = self.buffers.out[l].unwrap_or(0);
                let z = &mut self.acts[b][..rows * units];
                let span = start * units..(start + rows) * units;
                match parts {
                    [] => z.fill(0.0),
                    [p0] => z.copy_from_slice(&p0.partial[span]),
                    [p0, p1, rest @ ..] => {
                        reduce::add(z, &p0.partial[span.clone()], &p1.partial[span.clone()]);
                        for p in rest {
                            reduce::add_assign(z, &p.partial[span.clone()]);
                        }
                    }
                }
                let layer = layers[l].as_dense().ok_or_else(|| Error::Value("the first layer is not dense".into()))?;
                let bias = dense.has_bias().then(|| &params[dense.bias.clone()]);
                let logits = fused && l + 1 == layers.len();
                let activate = if logits {
                    Activate::No
                } else if self.caches[l].len() >= rows * units {
                    Activate::KeepingDerivative(&mut self.caches[l][..rows * units])
                } else {
                    Activate::Yes
                };
                layer.bias_and_activation(bias, &mut self.acts[b][..rows * units], activate)?;
                self.forward_from(layers, slots, params, l + 1, None, fused)?;
                l
            }
            _ => {
                data.gather_inputs(indices, &mut self.x[..rows * data.features()])?;
                self.forward_from(layers, slots, params, 0, None, fused)?;
                0
            }
        };
        self.loss(layers, loss, data.target_kind(), batch_rows)?;
        self.backward_to(layers, slots, params, first)
    }
}

/// What part B reads: the model, the finished A2 chunks, the optimiser's settings, and the
/// next step's examples, whose A1 each thread runs right after updating its rows of the
/// first layer's weight (the same rows A1 reads, so no other thread has to be waited for).
pub(crate) struct PartB<'a> {
    pub layers: &'a [Box<dyn Layer>],
    pub layout: &'a Layout,
    pub chunks: &'a [Chunk],
    /// `dL/dz` of the first layer for the whole batch, rows in order.
    pub first_delta: &'a [f32],
    pub batch: usize,
    pub optimizer: Optimizer,
    pub step: u64,
    pub data: &'a dyn Examples,
    pub next: &'a [u32],
}

/// One thread's ranges of the flat buffers: parameters, gradients, optimiser state.
pub(crate) struct Ranges<'a> {
    pub start: usize,
    pub params: &'a mut [f32],
    pub grads: &'a mut [f32],
    pub s0: &'a mut [f32],
    pub s1: &'a mut [f32],
    pub s2: &'a mut [f32],
}

impl<'a> Ranges<'a> {
    /// Cuts off the first `n` values: (the first `n`, the rest).
    pub(crate) fn split(self, n: usize) -> (Ranges<'a>, Ranges<'a>) {
        let (p0, p1) = self.params.split_at_mut(n);
        let (g0, g1) = self.grads.split_at_mut(n);
        let (a0, a1) = if self.s0.is_empty() { (&mut [][..], &mut [][..]) } else { self.s0.split_at_mut(n) };
        let (b0, b1) = if self.s1.is_empty() { (&mut [][..], &mut [][..]) } else { self.s1.split_at_mut(n) };
        let (c0, c1) = if self.s2.is_empty() { (&mut [][..], &mut [][..]) } else { self.s2.split_at_mut(n) };
        (
            Ranges { start: self.start, params: p0, grads: g0, s0: a0, s1: b0, s2: c0 },
            Ranges { start: self.start + n, params: p1, grads: g1, s0: a1, s1: b1, s2: c1 },
        )
    }
}

impl PartB<'_> {
    /// Thread `t`'s share: the first layer's weight rows of input part `t` (in `first`),
    /// a range of the other parameters (in `rest`), then A1 of the next step for part `t`.
    /// The first `summed` chunks' shares of the rest's gradients are already in its
    /// gradient buffer (see [`rest_gradients`]).
    pub(crate) fn run(
        &self,
        part: Option<&mut InputPart>,
        first: Ranges<'_>,
        rest: Ranges<'_>,
        summed: usize,
    ) -> Result<()> {
        let (Some(part), Some(l)) = (part.filter(|p| p.count > 0), self.layout.first) else {
            return self.run_rest(rest, summed);
        };
        let layer = self.layers[l].as_dense().ok_or_else(|| Error::Value("the first layer is not dense".into()))?;
        // The next batch's pixels of this part arrive while the gradient is computed.
        self.data.prefetch_feature_range(self.next, part.first, part.count);
        let delta = &self.first_delta[..self.batch * layer.units()];
        match self.data.byte_table().filter(|_| part.from_bytes) {
            Some(table) => {
                let (rows, count) = (self.batch, part.count);
                let inputs = ByteRows {
                    data: &part.bytes[..rows * count],
                    table,
                    rows,
                    stride: count,
                    first: part.first,
                    count,
                };
                layer.weight_gradient_of_bytes(inputs, delta, first.grads, false, &mut part.x)?;
            }
            None => layer.weight_gradient(part.inputs(self.batch), delta, first.grads, false)?,
        }
        if !self.optimizer.apply(self.step, first.params, first.grads, first.s0, first.s1, first.s2)? {
            return Err(self.diverged(first.start, first.params));
        }
        self.run_rest(rest, summed)?;
        if !self.next.is_empty() {
            part.forward(layer, self.data, self.next, first.params)?;
        }
        Ok(())
    }

    /// Gradients of a range of the parameters after the first layer's weight, from every
    /// part of the batch (but the first `summed`, already added), then the optimiser's update
    /// of the trained ones and the layers' own update of the others (moving statistics, from
    /// the one part a batch-coupled layer has).
    fn run_rest(&self, r: Ranges<'_>, summed: usize) -> Result<()> {
        if r.params.is_empty() {
            return Ok(());
        }
        // The parts that ran: a prefix (a short batch leaves the last ones empty).
        let ran = self.chunks.iter().take_while(|c| c.rows > 0).count();
        let from = summed.min(ran);
        rest_gradients(self.layers, self.layout, r.start, r.grads, &self.chunks[from..ran], from)?;
        let (start, end) = (r.start, r.start + r.params.len());
        // The optimiser, on the trained parameters of the range (one run for a stack of
        // dense layers).
        let Ranges { params, grads, s0, s1, s2, .. } = r;
        let mut run = |lo: usize, hi: usize| -> Result<()> {
            let (a, b) = (lo - start, hi - start);
            let (s0r, s1r, s2r): (&mut [f32], &mut [f32], &mut [f32]) = (
                if s0.is_empty() { &mut [] } else { &mut s0[a..b] },
                if s1.is_empty() { &mut [] } else { &mut s1[a..b] },
                if s2.is_empty() { &mut [] } else { &mut s2[a..b] },
            );
            if !self.optimizer.apply(self.step, &mut params[a..b], &grads[a..b], s0r, s1r, s2r)? {
                return Err(self.diverged(lo, &params[a..b]));
            }
            Ok(())
        };
        let mut open: Option<usize> = None;
        for (_, range, trained) in self.layout.slots.iter().flat_map(|s| &s.tensors) {
            let (lo, hi) = (range.start.max(start), range.end.min(end));
            if lo >= hi {
                continue;
            }
            match (*trained, open) {
                (true, None) => open = Some(lo),
                (false, Some(o)) => {
                    run(o, lo)?;
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(o) = open {
            run(o, end)?;
        }
        // The layers' own parameters (whole layers: `rest_bounds` does not cut them).
        for (l, (layer, slot)) in self.layers.iter().zip(&self.layout.slots).enumerate() {
            if slot.has_state && slot.params.start >= start && slot.params.end <= end {
                if let Some(c) = self.chunks[..ran].first() {
                    layer.update_state(&mut params[slot.params.start - start..slot.params.end - start], &c.stats[l]);
                }
            }
        }
        Ok(())
    }

    /// The error for parameters (starting at flat index `start`) that an update made NaN or
    /// infinite: it names the tensor, and what became of it.
    fn diverged(&self, start: usize, params: &[f32]) -> Error {
        let end = start + params.len();
        let found = self.layout.slots.iter().flat_map(|s| &s.tensors).find_map(|(name, range, _)| {
            let (lo, hi) = (range.start.max(start), range.end.min(end));
            let bad = params.get(lo.checked_sub(start)?..hi.checked_sub(start)?)?.iter().find(|v| !v.is_finite())?;
            Some(format!("{} became {bad}", name.replacen('/', "'s ", 1)))
        });
        Error::Stopped(format!(
            "{}{}",
            crate::train::diverge::DIVERGED,
            found.unwrap_or_else(|| "a parameter became NaN or infinite".into())
        ))
    }

    /// Splits both regions at the threads' bounds and runs the threads' shares in parallel
    /// (recursively halving, so any thread count needs no allocation).
    pub(crate) fn split_run(
        &self,
        parts: &mut [InputPart],
        first_bounds: &[usize],
        rest_bounds: &[usize],
        first: Ranges<'_>,
        rest: Ranges<'_>,
    ) -> Result<()> {
        let threads = rest_bounds.len().saturating_sub(1);
        if threads <= 1 {
            return self.run(parts.first_mut(), first, rest, 0);
        }
        let mid = threads / 2;
        let (fa, fb) = first.split(first_bounds[mid] - first_bounds[0]);
        let (ra, rb) = rest.split(rest_bounds[mid] - rest_bounds[0]);
        let (pa, pb) = parts.split_at_mut(mid.min(parts.len()));
        let (left, right) = pool::join(
            || self.split_run(pa, &first_bounds[..=mid], &rest_bounds[..=mid], fa, ra),
            || self.split_run(pb, &first_bounds[mid..], &rest_bounds[mid..], fb, rb),
        );
        left.and(right)
    }
}

/// The parts' shares of the gradients of the rest's values `start..start + grads.len()`
/// (everything after the first layer's weight), added in part order: `chunks` are the parts
/// `first..first + chunks.len()` of the batch, all with rows, and part 0 writes where the
/// others add (so the parts can be summed in two calls with the same bits as in one).
pub(crate) fn rest_gradients(
    layers: &[Box<dyn Layer>],
    layout: &Layout,
    start: usize,
    grads: &mut [f32],
    chunks: &[Chunk],
    first: usize,
) -> Result<()> {
    let end = start + grads.len();
    let first_layer = layout.first;
    for (l, (layer, slot)) in layers.iter().zip(&layout.slots).enumerate() {
        let (lo, hi) = (slot.params.start.max(start), slot.params.end.min(end));
        if lo >= hi {
            continue;
        }
        let Some(d) = &slot.dense else {
            // Another kind: the sum of the parts' gradients, in part order.
            let dst = &mut grads[lo - start..hi - start];
            for (k, c) in chunks.iter().enumerate() {
                let src = &c.dparams[l][lo - slot.params.start..hi - slot.params.start];
                if first + k == 0 {
                    dst.copy_from_slice(src);
                } else {
                    crate::kernels::reduce::add_assign(dst, src);
                }
            }
            continue;
        };
        let dense = || layer.as_dense().ok_or_else(|| Error::Value("a dense slot without its layer".into()));
        let w = &d.weight;
        let (lo, hi) = (w.start.max(start), w.end.min(end));
        if Some(l) != first_layer && lo < hi {
            // The cuts fall on weight rows (see `Layout::rest_bounds`).
            let (first_input, count) = ((lo - w.start) / d.units, (hi - lo) / d.units);
            let dst = &mut grads[lo - start..hi - start];
            for (k, c) in chunks.iter().enumerate() {
                let x = InputRows::columns(c.input_of(l, d.inputs), c.rows, d.inputs, first_input, count);
                dense()?.weight_gradient(x, c.delta(l, d.units), dst, first + k > 0)?;
            }
        }
        let b = &d.bias;
        let (lo, hi) = (b.start.max(start), b.end.min(end));
        if lo < hi {
            let dst = &mut grads[lo - start..hi - start];
            if first == 0 {
                dst.fill(0.0);
            }
            for c in chunks {
                dense()?.bias_gradient(c.delta(l, d.units), lo - b.start..hi - b.start, dst, true)?;
            }
        }
    }
    Ok(())
}
