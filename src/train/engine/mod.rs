//! The training engine: a stack of layers trained in place on the model's
//! [`ParamStore`](crate::ParamStore), with every buffer allocated once and each step split
//! across threads.
//!
//! The engine holds no arithmetic of its own: the forward and backward passes, gradients and
//! losses are the layers' and the loss's row functions ([`crate::nn::Layer`],
//! [`crate::nn::Loss`]), the same ones the autograd path runs. What it adds is the schedule:
//!
//! * [`layout`]: where each layer's parameters sit in the store, and how a step's work is cut
//!   between threads;
//! * [`step`]: the three phases of a step (the first layer by input features, the rest by
//!   examples, the gradients and the optimiser by parameters); with two threads the last two
//!   run as one job per thread that meet once between them (`Engine::step_together`);
//! * [`infer`]: evaluation and prediction by blocks of rows;
//! * [`pool`]: the threads (or the calling thread alone, without the `threads` feature), and
//!   `team`, the threads themselves.
//!
//! When the model starts with a dense layer (after views such as Flatten), its weight rows,
//! their optimiser moments and the pixels that multiply them stay in one core's cache from
//! step to step, and no gradient reduction is needed; any other model is run from whole input
//! rows. A layer that couples a batch's rows while training (batch normalisation) gets the
//! whole batch as one part. A given
//! thread count always cuts the same way, so results are bit-identical run to run. Once the
//! buffers exist a step allocates nothing in neurite's own code (the GEMM crates allocate a
//! packing buffer per call; `tests/alloc.rs` counts both).

mod chunk;
mod infer;
mod layout;
pub(crate) mod pool;
mod step;
#[cfg(feature = "threads")]
mod team;

use chunk::Chunk;
use layout::Layout;
pub(crate) use pool::Pool;
use step::{ChunkRun, InputPart, PartB, Ranges};

use super::examples::Examples;
use crate::autograd::ParamStore;
use crate::error::{Error, Result};
use crate::nn::{Layer, Loss, Mode, Noise};
use crate::optim::OptimizerState;

/// Running totals of one batch or one pass over data.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Totals {
    /// Sum of the examples' losses.
    pub(crate) loss_sum: f64,
    /// Number of correct predictions.
    pub(crate) correct: usize,
    /// Number of examples.
    pub(crate) count: usize,
}

impl Totals {
    /// Mean loss.
    pub(crate) fn loss(&self) -> f64 {
        self.loss_sum / self.count.max(1) as f64
    }

    /// Fraction correct.
    pub(crate) fn accuracy(&self) -> f64 {
        self.correct as f64 / self.count.max(1) as f64
    }

    /// Adds another part's totals.
    pub(crate) fn add(&mut self, other: &Totals) {
        self.loss_sum += other.loss_sum;
        self.correct += other.correct;
        self.count += other.count;
    }
}

/// Rows evaluated per part at most: large enough for efficient GEMMs, small enough for the
/// cache.
const EVAL_ROWS: usize = 256;

/// The memory of one thread's evaluation buffers, which bounds its rows below [`EVAL_ROWS`]
/// for models with large activations (a convnet's rows take about 0.4 MB each).
const EVAL_BYTES: usize = 16 << 20;

/// Rows per part of a training step for models whose first layer reads whole input rows
/// (convolutional ones): a fixed number, so that every product, and every sum over parts,
/// is the same whatever the thread count (the same seed gives the same bits on 1 or 16
/// threads); threads take parts in turn.
const ROW_GROUP: usize = 16;

/// Buffers and threads for training and evaluating one model.
pub(crate) struct Engine {
    pool: Pool,
    /// The layout the buffers were made for, the store it was read from (`layout_key`), and
    /// the batch size (0: evaluation only).
    layout: Option<Layout>,
    layout_key: (usize, u64),
    batch: usize,
    grads: Vec<f32>,
    /// Where each thread's share of the first layer's weight starts (flat), plus the end.
    first_bounds: Vec<usize>,
    /// Where each thread's share of the other parameters starts (flat), plus the end.
    rest_bounds: Vec<usize>,
    parts: Vec<InputPart>,
    /// The examples whose A1 the last step already ran (with the parameters it left), and
    /// the address of their data and the store's version then; empty when nothing was run
    /// ahead.
    ahead: Vec<u32>,
    ahead_data: usize,
    ahead_version: u64,
    first_delta: Vec<f32>,
    chunks: Vec<Chunk>,
    rows_per_chunk: usize,
    eval_chunks: Vec<Chunk>,
    /// The random numbers' key of each layer for the step in progress.
    noise: Vec<Noise>,
}

/// A diverged update's error with the loss of the batch it followed; any other error as it is.
fn after_batch(e: Error, totals: &Totals) -> Error {
    match e {
        Error::Stopped(why) => Error::Stopped(format!(
            "{why} after a batch whose loss was {:.4e} (the gradient was not finite, or the step too large)",
            totals.loss()
        )),
        e => e,
    }
}

/// Raw pointers to one step's buffers, for the two threads of [`Engine::step_together`],
/// which borrow from them in turns that never overlap (see there).
#[cfg(feature = "threads")]
#[derive(Clone, Copy)]
struct StepViews {
    chunks: *mut Chunk,
    parts: *mut InputPart,
    first_delta: *mut f32,
    first_delta_len: usize,
    params: *mut f32,
    grads: *mut f32,
    /// The optimiser's state buffers (length 0 or `total`).
    state: [*mut f32; 3],
    state_len: [usize; 3],
    total: usize,
}

// SAFETY: the pointers are only followed under `Engine::step_together`'s protocol.
#[cfg(feature = "threads")]
unsafe impl Send for StepViews {}
#[cfg(feature = "threads")]
unsafe impl Sync for StepViews {}

#[cfg(feature = "threads")]
impl StepViews {
    /// The flat values `range` of the parameters, gradients and state.
    ///
    /// # Safety
    /// No other live borrow may overlap `range` of those buffers while the result lives.
    unsafe fn ranges<'a>(&self, range: std::ops::Range<usize>) -> Ranges<'a> {
        let end = range.end.min(self.total);
        let at = range.start.min(end);
        let n = end - at;
        let slot = |k: usize| -> &'a mut [f32] {
            if self.state_len[k] == 0 {
                &mut []
            } else {
                std::slice::from_raw_parts_mut(self.state[k].add(at), n)
            }
        };
        Ranges {
            start: at,
            params: std::slice::from_raw_parts_mut(self.params.add(at), n),
            grads: std::slice::from_raw_parts_mut(self.grads.add(at), n),
            s0: slot(0),
            s1: slot(1),
            s2: slot(2),
        }
    }
}

/// What a training step draws its random numbers from: the fit's seed and the step number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct StepSeed {
    pub seed: u64,
}

impl Engine {
    /// An engine for `threads` threads (1: everything on the calling thread).
    pub(crate) fn new(threads: usize) -> Result<Engine> {
        Ok(Engine {
            pool: Pool::new(threads)?,
            layout: None,
            layout_key: (0, u64::MAX),
            batch: 0,
            grads: vec![],
            first_bounds: vec![],
            rest_bounds: vec![],
            parts: vec![],
            ahead: vec![],
            ahead_data: 0,
            ahead_version: 0,
            first_delta: vec![],
            chunks: vec![],
            rows_per_chunk: 0,
            eval_chunks: vec![],
            noise: vec![],
        })
    }

    /// Number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// The engine's threads: a fit loop runs there whole (`Pool::install`), so that each
    /// step's parallel parts do not enter the pool anew.
    pub(crate) fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Makes sure the buffers fit `layers` (whose parameters are in `store`) and batches of
    /// up to `batch` rows (0: evaluation and prediction only).
    pub(crate) fn prepare(&mut self, layers: &[Box<dyn Layer>], store: &ParamStore, batch: usize) -> Result<()> {
        if layers.is_empty() {
            return Err(Error::Value("the model has no layers".into()));
        }
        chunk::output_of(layers)?;
        // The store's layout key changes whenever a tensor is added; a model's layers change
        // only with its store. Comparing keys keeps `train_on_batch` free of allocations.
        let key = store.layout_key();
        let fits = self.layout.is_some()
            && self.layout_key == key
            && self.layout.as_ref().is_some_and(|l| l.slots.len() == layers.len());
        if fits && (batch == 0 || batch <= self.batch) {
            return Ok(());
        }
        let layout = Layout::of(layers, store)?;
        let t = self.threads();
        self.grads = vec![0.0; layout.total];
        let features = layout.feature_bounds(t);
        match layout.first_dense() {
            Some(first) => {
                self.first_bounds = features.iter().map(|&f| first.weight.start + f * first.units).collect();
                self.parts = features
                    .windows(2)
                    .map(|w| InputPart {
                        first: w[0],
                        count: w[1] - w[0],
                        x: chunk::padded(batch * (w[1] - w[0]), 0.0),
                        bytes: chunk::padded(batch * (w[1] - w[0]), 0u8),
                        from_bytes: false,
                        partial: chunk::padded(batch * first.units, 0.0),
                    })
                    .collect();
                self.first_delta = chunk::padded(batch * first.units, 0.0);
            }
            None => {
                self.first_bounds = vec![0; t + 1];
                self.parts = vec![];
                self.first_delta = vec![];
            }
        }
        self.rest_bounds = layout.rest_bounds(t);
        self.ahead = Vec::with_capacity(batch);
        // A layer that couples the rows of a batch sees the whole batch in one part.
        let full_input = layout.first.is_none();
        let parts = if layout.couples_rows {
            1
        } else if full_input {
            batch.div_ceil(ROW_GROUP).max(1)
        } else {
            t.min(batch.max(1))
        };
        self.rows_per_chunk = batch.div_ceil(parts);
        self.chunks = if batch > 0 {
            (0..parts)
                .map(|_| Chunk::new(layers, &layout.slots, self.rows_per_chunk, Mode::Training, full_input))
                .collect()
        } else {
            vec![]
        };
        if !fits || self.eval_chunks.is_empty() {
            let per_row = Chunk::new(layers, &layout.slots, 1, Mode::Inference, true).values().max(1);
            let rows = (EVAL_BYTES / (per_row * 4)).clamp(ROW_GROUP, EVAL_ROWS);
            self.eval_chunks = (0..t).map(|_| Chunk::new(layers, &layout.slots, rows, Mode::Inference, true)).collect();
        }
        self.noise = vec![Noise::default(); layers.len()];
        self.batch = batch;
        self.layout = Some(layout);
        self.layout_key = key;
        Ok(())
    }

    /// Where each thread's share of part B's rest starts (flat), plus the end: for the tests.
    #[cfg(test)]
    pub(crate) fn rest_bounds(&self) -> &[usize] {
        &self.rest_bounds
    }

    /// Cuts the rest of part B evenly between the threads, however small: for the tests that
    /// check that the thread that computes a value does not change it.
    #[cfg(test)]
    pub(crate) fn cut_rest_evenly(&mut self) -> Result<()> {
        let layout = self.layout.as_ref().ok_or_else(|| Error::Value("the engine was not prepared".into()))?;
        self.rest_bounds = layout.even_rest_bounds(self.threads());
        Ok(())
    }

    /// One optimisation step on the examples `indices` (at most the prepared batch size),
    /// updating `params` (the store's values) in place. `next` names the examples of the
    /// following step, whose first-layer product is computed ahead (may be empty);
    /// `version` is the store's version, so that a change of the parameters between steps
    /// discards what was computed ahead.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn train_step(
        &mut self,
        layers: &[Box<dyn Layer>],
        seed: StepSeed,
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        next: &[u32],
        params: &mut [f32],
        version: u64,
        state: &mut OptimizerState,
    ) -> Result<Totals> {
        let batch = indices.len();
        let capacity = if self.chunks.is_empty() { 0 } else { self.batch };
        if batch == 0 || batch > capacity {
            return Err(Error::Value(format!(
                "train_step: a batch of {batch} examples for buffers prepared for {capacity}"
            )));
        }
        let layout = self.layout.take().ok_or_else(|| Error::Value("the engine was not prepared".into()))?;
        let result = self.train_step_with(&layout, layers, seed, loss, data, indices, next, params, version, state);
        self.layout = Some(layout);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn train_step_with(
        &mut self,
        layout: &Layout,
        layers: &[Box<dyn Layer>],
        seed: StepSeed,
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        next: &[u32],
        params: &mut [f32],
        version: u64,
        state: &mut OptimizerState,
    ) -> Result<Totals> {
        let batch = indices.len();
        if params.len() != layout.total || state.total() != layout.total {
            return Err(Error::Value(format!(
                "train_step: {} parameter values and optimiser state for {}, model with {}",
                params.len(),
                state.total(),
                layout.total
            )));
        }
        state.validate()?;
        // Masks and other random numbers: from the seed, this step and the layer's place.
        let step = state.iterations() + 1;
        for (l, n) in self.noise.iter_mut().enumerate() {
            *n = Noise::new(seed.seed, step, l);
        }

        // A1: each thread's features of every example, times its rows of the first weight;
        // already done by the last step's part B when it knew these examples as its `next`.
        let data_address = data as *const dyn Examples as *const () as usize;
        let ran_ahead = self.ahead == indices && self.ahead_data == data_address && self.ahead_version == version;
        self.ahead.clear();
        let first = layout.first_dense();
        if let (Some(first), Some(l), false) = (first, layout.first, ran_ahead) {
            data.stage(indices)?;
            let params = &*params;
            let layer = layers[l].as_dense().ok_or_else(|| Error::Value("the first layer is not dense".into()))?;
            pool::for_each(&mut self.parts, |_, part| {
                let rows = first.weight.start + part.first * first.units
                    ..first.weight.start + (part.first + part.count) * first.units;
                part.forward(layer, data, indices, &params[rows])
            })?;
        } else if first.is_none() {
            data.stage(indices)?;
        }

        // A2 and B as one job per thread, where the step allows it (see `step_together`).
        #[cfg(feature = "threads")]
        if let Some(outcome) = self.step_together(layout, layers, loss, data, indices, next, params, state) {
            let totals = outcome?;
            self.ahead.extend_from_slice(next);
            self.ahead_data = data_address;
            self.ahead_version = version;
            return Ok(totals);
        }

        // A2: the rest of the forward and backward passes, by examples.
        let per = self.rows_per_chunk;
        // Each chunk is reset by the thread that runs it (its lines stay in that core's
        // cache); here only those past the end of a short batch, which no thread visits.
        for c in self.chunks.iter_mut().skip(batch.div_ceil(per.max(1))) {
            c.rows = 0;
            c.totals = Totals::default();
        }
        {
            let (params, parts, noise) = (&*params, &self.parts, &self.noise);
            let units = first.map_or(0, |f| f.units);
            let first_layer = layout.first.unwrap_or(0);
            let a2 = ChunkRun { layers, layout, params, loss, data, indices, per, parts, noise };
            if units > 0 {
                let deltas = &mut self.first_delta[..batch * units];
                pool::for_each_with_parts_mut(&mut self.chunks, deltas, per * units, |c, chunk, dst| {
                    a2.run(c, chunk)?;
                    dst.copy_from_slice(&chunk.delta(first_layer, units)[..dst.len()]);
                    Ok(())
                })?;
            } else {
                pool::for_each(&mut self.chunks, |c, chunk| a2.run(c, chunk).map(|_| ()))?;
            }
        }
        let mut totals = Totals::default();
        self.chunks.iter().for_each(|c| totals.add(&c.totals));

        // B: gradients and the optimiser, by parameter ranges; then A1 of the next step.
        state.begin_step();
        let capacity = self.batch;
        let part_b = PartB {
            layers,
            layout,
            chunks: &self.chunks,
            first_delta: &self.first_delta,
            batch,
            optimizer: state.optimizer(),
            step: state.step_number(),
            data,
            // A next batch larger than the buffers is not run ahead (it will fail on its own);
            // nor is anything when the first layer is not shared by features.
            next: if next.len() <= capacity && first.is_some() { next } else { &[] },
        };
        // A source on disk reads the next batch now, so that part B's threads copy it.
        if !part_b.next.is_empty() {
            data.stage(part_b.next)?;
        }
        let (s0, s1, s2) = state.slots_mut();
        let all = Ranges { start: 0, params, grads: &mut self.grads, s0, s1, s2 };
        // The flat buffer is [first layer's weight | everything after it].
        let (first_w, rest) = all.split(layout.rest_start());
        part_b
            .split_run(&mut self.parts, &self.first_bounds, &self.rest_bounds, first_w, rest)
            .map_err(|e| after_batch(e, &totals))?;
        // Within the capacity reserved by `prepare`: no allocation.
        self.ahead.extend_from_slice(part_b.next);
        self.ahead_data = data_address;
        self.ahead_version = version;
        Ok(totals)
    }

    /// A2 and part B of a two-thread step as one job per thread, which meet once in between
    /// instead of joining twice: each thread runs its chunk (A2), and the calling thread,
    /// where the rest is its alone, its chunk's share of the rest's gradients; then both
    /// wait for the other's `dL/dz` rows and go on with part B. That saves a hand-off (the
    /// helper went idle 2,500-2,800 cycles between the two in a step of the notes' model)
    /// and fills the calling thread's wait for the helper's slower chunk with work of part
    /// B. The same calls run on the same values in the same order as in two joins, so the
    /// numbers are the same (a test compares both, bit for bit).
    ///
    /// `None` where it does not apply (not two threads and two chunks with rows, a first
    /// layer not shared by features, a source that stages batches, no idle helper): the
    /// caller then runs the two joins.
    #[cfg(feature = "threads")]
    #[allow(clippy::too_many_arguments)]
    fn step_together(
        &mut self,
        layout: &Layout,
        layers: &[Box<dyn Layer>],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
        next: &[u32],
        params: &mut [f32],
        state: &mut OptimizerState,
    ) -> Option<Result<Totals>> {
        #[cfg(test)]
        if tests::TWO_JOINS.get() {
            return None;
        }
        let batch = indices.len();
        let per = self.rows_per_chunk;
        let (first, first_layer) = (layout.first_dense()?, layout.first?);
        let units = first.units;
        let two = self.chunks.len() == 2
            && self.parts.len() == 2
            && self.first_bounds.len() == 3
            && self.rest_bounds.len() == 3;
        if !two || units == 0 || batch <= per || next.len() > self.batch || data.stages() {
            return None;
        }
        let optimizer = state.optimizer();
        // The step number part B uses: `begin_step` is called once both threads have met.
        let step = state.iterations() + 1;
        let (s0, s1, s2) = state.slots_mut();
        let views = StepViews {
            chunks: self.chunks.as_mut_ptr(),
            parts: self.parts.as_mut_ptr(),
            first_delta: self.first_delta.as_mut_ptr(),
            first_delta_len: batch * units,
            params: params.as_mut_ptr(),
            grads: self.grads.as_mut_ptr(),
            state: [s0.as_mut_ptr(), s1.as_mut_ptr(), s2.as_mut_ptr()],
            state_len: [s0.len(), s1.len(), s2.len()],
            total: params.len().min(self.grads.len()),
        };
        if views.state_len.iter().any(|&n| n != 0 && n != views.total) || self.first_delta.len() < batch * units {
            return None;
        }
        let (first_bounds, rest_bounds, noise) = (&self.first_bounds, &self.rest_bounds, &self.noise);
        // A rest small enough to be the calling thread's alone (the helper's share of part B
        // is longer by about as much): its first chunk's share fills the calling thread's
        // wait for the helper's chunk. A rest cut between the threads is not started early,
        // or the calling thread would arrive late (the wide model: 9% slower).
        let early_rest = rest_bounds[1] == rest_bounds[2];
        let meeting = pool::Meeting::new();
        let met = std::sync::atomic::AtomicBool::new(false);
        let side = |t: usize| -> Result<()> {
            let mut arrival = meeting.set_out(t);
            {
                // SAFETY (this block): until this thread arrives, chunk `t` and the rows
                // `start..end` of `first_delta` are its alone, the parameters and the input
                // parts are only read (by both threads), and the calling thread alone
                // writes the gradients of its rest range. Every borrow ends with the block.
                let chunk = unsafe { &mut *views.chunks.add(t) };
                let parts = unsafe { std::slice::from_raw_parts(views.parts, 2) };
                let params = unsafe { std::slice::from_raw_parts(views.params, views.total) };
                let (start, end) = {
                    let a2 = ChunkRun { layers, layout, params, loss, data, indices, per, parts, noise };
                    let rows = a2.run(t, chunk)?;
                    (rows.start, rows.end)
                };
                let rows = unsafe {
                    std::slice::from_raw_parts_mut(views.first_delta.add(start * units), (end - start) * units)
                };
                rows.copy_from_slice(&chunk.delta(first_layer, units)[..rows.len()]);
                if early_rest && t == 0 {
                    let rest = rest_bounds[0]..rest_bounds[1];
                    let grads = unsafe { std::slice::from_raw_parts_mut(views.grads.add(rest.start), rest.len()) };
                    step::rest_gradients(layers, layout, rest.start, grads, std::slice::from_ref(&*chunk), 0)?;
                }
            }
            if !arrival.arrive() {
                // The other thread failed before meeting: its error is the step's.
                return Ok(());
            }
            if t == 0 {
                met.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            // SAFETY (from here): both threads arrived, so nothing above is borrowed any more;
            // the chunks and `first_delta` are only read, input part `t` and this thread's
            // ranges of the parameters, gradients and state (disjoint from the other's) are
            // its alone, as in part B of the two joins.
            let chunks = unsafe { std::slice::from_raw_parts(views.chunks, 2) };
            let first_delta = unsafe { std::slice::from_raw_parts(views.first_delta, views.first_delta_len) };
            let part = unsafe { &mut *views.parts.add(t) };
            let part_b = PartB { layers, layout, chunks, first_delta, batch, optimizer, step, data, next };
            let first_w = unsafe { views.ranges(first_bounds[t]..first_bounds[t + 1]) };
            let rest = unsafe { views.ranges(rest_bounds[t]..rest_bounds[t + 1]) };
            part_b.run(Some(part), first_w, rest, usize::from(early_rest && t == 0))
        };
        let (a, b) = pool::join_at_once(|| side(0), || side(1))?;
        #[cfg(test)]
        tests::TOGETHER.set(tests::TOGETHER.get() + 1);
        if met.load(std::sync::atomic::Ordering::Relaxed) {
            state.begin_step();
        }
        let mut totals = Totals::default();
        self.chunks.iter().for_each(|c| totals.add(&c.totals));
        Some(a.and(b).map(|()| totals).map_err(|e| after_batch(e, &totals)))
    }

    /// Forgets the first-layer products computed ahead (the parameters changed).
    pub(crate) fn forget_ahead(&mut self) {
        self.ahead.clear();
    }

    /// Loss and accuracy over the examples `indices`, with the parameters `params`.
    pub(crate) fn evaluate(
        &mut self,
        layers: &[Box<dyn Layer>],
        params: &[f32],
        loss: Loss,
        data: &dyn Examples,
        indices: &[u32],
    ) -> Result<Totals> {
        let layout =
            self.layout.as_ref().ok_or_else(|| Error::Value("the engine was not prepared for this model".into()))?;
        if params.len() != layout.total {
            return Err(Error::Value(format!(
                "evaluate: {} parameter values for a model with {}",
                params.len(),
                layout.total
            )));
        }
        let (pool, chunks, slots) = (&self.pool, &mut self.eval_chunks, &layout.slots);
        pool.install(|| infer::evaluate(chunks, layers, slots, params, loss, data, indices))
    }

    /// The model's outputs for every example of `data` (rows in order), into `out`.
    pub(crate) fn predict(
        &mut self,
        layers: &[Box<dyn Layer>],
        params: &[f32],
        data: &dyn Examples,
        out: &mut [f32],
    ) -> Result<()> {
        let layout =
            self.layout.as_ref().ok_or_else(|| Error::Value("the engine was not prepared for this model".into()))?;
        if params.len() != layout.total {
            return Err(Error::Value(format!(
                "predict: {} parameter values for a model with {}",
                params.len(),
                layout.total
            )));
        }
        let (pool, chunks, slots) = (&self.pool, &mut self.eval_chunks, &layout.slots);
        pool.install(|| infer::predict(chunks, layers, slots, params, data, out))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// Runs every training step of this thread with two joins (see `step_together`).
        pub(crate) static TWO_JOINS: Cell<bool> = const { Cell::new(false) };
        /// How many steps this thread ran as one job per thread.
        pub(crate) static TOGETHER: Cell<usize> = const { Cell::new(0) };
    }
}
