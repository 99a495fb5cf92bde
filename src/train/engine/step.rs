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

use super::chunk::Chunk;
use super::layout::Slot;
use super::pool;
use crate::error::{Error, Result};
use crate::nn::{Dense, InputRows, Loss};
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
        data.gather_feature_range(indices, self.first, self.count, &mut self.x[..rows * self.count])?;
        let units = layer.units();
        let InputPart { x, partial, first, count } = self;
        let inputs = InputRows { data: &x[..rows * *count], rows, stride: *count, first: *first, count: *count };
        layer.product(inputs, w_rows, &mut partial[..rows * units], false)
    }
}

impl Chunk {
    /// A2 for the rows `start..start + indices.len()` of the batch.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn train(
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
        // The first layer: the sum of the input parts' products, then bias and activation.
        let units = slots[0].units;
        let z = &mut self.acts[0][..rows * units];
        let span = start * units..(start + rows) * units;
        match parts.split_first() {
            Some((p0, rest)) => {
                z.copy_from_slice(&p0.partial[span.clone()]);
                for p in rest {
                    crate::kernels::reduce::add_assign(z, &p.partial[span.clone()]);
                }
            }
            None => z.fill(0.0),
        }
        self.finish_layer(layers, slots, params, 0, fused)?;
        self.forward_from(layers, slots, params, 1, fused)?;
        self.loss(layers, loss, data.target_kind(), batch_rows)?;
        // dL/dz of each hidden layer, from the top down: (dL/dz above) W^T, then through
        // this layer's activation.
        for l in (1..layers.len()).rev() {
            let slot = &slots[l];
            let hidden = self.deltas.len();
            let (below, upper) = self.deltas.split_at_mut(l.min(hidden));
            let delta_above: &[f32] =
                if l == last { &self.acts[l][..rows * slot.units] } else { &upper[0][..rows * slot.units] };
            let grad_x = &mut below[l - 1][..rows * slot.inputs];
            layers[l].input_gradient(&params[slot.weight.clone()], delta_above, rows, grad_x)?;
            let derivative = self.derivs[l - 1].get(..rows * slot.inputs).unwrap_or(&[]);
            layers[l - 1].activation_backward(&self.acts[l - 1][..rows * slot.inputs], derivative, grad_x);
        }
        Ok(())
    }
}

/// What part B reads: the model, the finished A2 chunks, the optimiser's settings, and the
/// next step's examples, whose A1 each thread runs right after updating its rows of the
/// first layer's weight (the same rows A1 reads, so no other thread has to be waited for).
pub(crate) struct PartB<'a> {
    pub layers: &'a [Dense],
    pub slots: &'a [Slot],
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
}

impl<'a> Ranges<'a> {
    /// Cuts off the first `n` values: (the first `n`, the rest).
    pub(crate) fn split(self, n: usize) -> (Ranges<'a>, Ranges<'a>) {
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
        let Some(part) = part.filter(|p| p.count > 0) else {
            return self.run_rest(rest);
        };
        let layer = &self.layers[0];
        // The next batch's pixels of this part arrive while the gradient is computed.
        self.data.prefetch_feature_range(self.next, part.first, part.count);
        let delta = &self.first_delta[..self.batch * layer.units()];
        layer.weight_gradient(part.inputs(self.batch), delta, first.grads, false)?;
        if !self.optimizer.apply(self.step, first.params, first.grads, first.s0, first.s1)? {
            return Err(self.diverged(first.start, first.params));
        }
        self.run_rest(rest)?;
        if !self.next.is_empty() {
            part.forward(layer, self.data, self.next, first.params)?;
        }
        Ok(())
    }

    /// Gradients of a range of the parameters after the first layer's weight, from every
    /// part of the batch, then the optimiser's update of the range.
    fn run_rest(&self, r: Ranges<'_>) -> Result<()> {
        if r.params.is_empty() {
            return Ok(());
        }
        let (start, end) = (r.start, r.start + r.params.len());
        let chunks = || self.chunks.iter().filter(|c| c.rows > 0);
        for (l, (layer, slot)) in self.layers.iter().zip(self.slots).enumerate() {
            let w = &slot.weight;
            let (lo, hi) = (w.start.max(start), w.end.min(end));
            if l > 0 && lo < hi {
                // The cuts fall on weight rows (see `Layout::rest_bounds`).
                let (first_input, count) = ((lo - w.start) / slot.units, (hi - lo) / slot.units);
                let dst = &mut r.grads[lo - start..hi - start];
                for (k, c) in chunks().enumerate() {
                    let x = InputRows::columns(
                        &c.acts[l - 1][..c.rows * slot.inputs],
                        c.rows,
                        slot.inputs,
                        first_input,
                        count,
                    );
                    layer.weight_gradient(x, &c.delta(l)[..c.rows * slot.units], dst, k > 0)?;
                }
            }
            let b = &slot.bias;
            let (lo, hi) = (b.start.max(start), b.end.min(end));
            if lo < hi {
                let dst = &mut r.grads[lo - start..hi - start];
                dst.fill(0.0);
                for c in chunks() {
                    layer.bias_gradient(&c.delta(l)[..c.rows * slot.units], lo - b.start..hi - b.start, dst, true)?;
                }
            }
        }
        if !self.optimizer.apply(self.step, r.params, r.grads, r.s0, r.s1)? {
            return Err(self.diverged(r.start, r.params));
        }
        Ok(())
    }

    /// The error for parameters (starting at flat index `start`) that an update made NaN or
    /// infinite: it names the layer and the tensor, and what became of them.
    fn diverged(&self, start: usize, params: &[f32]) -> Error {
        let end = start + params.len();
        let found = self.layers.iter().zip(self.slots).find_map(|(layer, slot)| {
            [("kernel", &slot.weight), ("bias", &slot.bias)].into_iter().find_map(|(what, range)| {
                let (lo, hi) = (range.start.max(start), range.end.min(end));
                let bad =
                    params.get(lo.checked_sub(start)?..hi.checked_sub(start)?)?.iter().find(|v| !v.is_finite())?;
                Some(format!("{}'s {what} became {bad}", layer.config().name.as_deref().unwrap_or("a layer")))
            })
        });
        Error::Stopped(format!(
            "the training diverged: {} (the gradient was not finite, or the step too large)",
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
            return self.run(parts.first_mut(), first, rest);
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
