//! Evaluation and prediction: the forward pass (and for evaluation, the loss) over blocks
//! of rows, each thread taking whole blocks, with the layers' own row functions.

use super::chunk::{output_of, Chunk};
use super::layout::Slot;
use super::{pool, Totals};
use crate::error::{Error, Result};
use crate::nn::{Layer, Loss};
use crate::train::examples::Examples;

impl Chunk {
    /// Evaluation and prediction: full input rows through every layer.
    pub(crate) fn forward(
        &mut self,
        layers: &[Box<dyn Layer>],
        slots: &[Slot],
        params: &[f32],
        loss: Option<Loss>,
        data: &dyn Examples,
        indices: &[u32],
    ) -> Result<()> {
        let rows = indices.len();
        self.rows = rows;
        let (out, act) = output_of(layers)?;
        data.gather_inputs(indices, &mut self.x[..rows * data.features()])?;
        if let Some(loss) = loss {
            self.gather_targets(loss, out, data, indices)?;
        }
        let fused = loss.is_some_and(|l| l.fuses_with(act));
        self.forward_from(layers, slots, params, 0, None, fused)
    }
}

/// Loss and accuracy over the examples `indices`, in groups of one block per chunk. The
/// blocks are the same whatever the thread count, so the sums are too.
pub(crate) fn evaluate(
    chunks: &mut [Chunk],
    layers: &[Box<dyn Layer>],
    slots: &[Slot],
    params: &[f32],
    loss: Loss,
    data: &dyn Examples,
    indices: &[u32],
) -> Result<Totals> {
    let mut totals = Totals::default();
    let block = chunks.first().map_or(1, |c| c.capacity.max(1));
    for group in indices.chunks(block * chunks.len()) {
        let used = group.len().div_ceil(block);
        pool::for_each_with_parts(&mut chunks[..used], group, block, |_, chunk, idx| {
            chunk.forward(layers, slots, params, Some(loss), data, idx)?;
            chunk.loss(layers, loss, data.target_kind(), idx.len())
        })?;
        chunks[..used].iter().for_each(|c| totals.add(&c.totals));
    }
    Ok(totals)
}

/// The model's outputs for every example of `data` (rows in order) into `out`: each thread
/// takes one contiguous span of whole blocks, so one fork-join per call.
pub(crate) fn predict(
    chunks: &mut [Chunk],
    layers: &[Box<dyn Layer>],
    slots: &[Slot],
    params: &[f32],
    data: &dyn Examples,
    out: &mut [f32],
) -> Result<()> {
    let (width, _) = output_of(layers)?;
    let n = data.len();
    if out.len() != n * width {
        return Err(Error::Shape(format!("predict: {} output slots for {n} x {width}", out.len())));
    }
    let block_rows = chunks.first().map_or(1, |c| c.capacity.max(1));
    let block = block_rows * width.max(1);
    let blocks = out.len().div_ceil(block);
    let per_thread = blocks.div_ceil(chunks.len()).max(1);
    let run = |chunk: &mut Chunk, block_index: usize, dst: &mut [f32]| -> Result<()> {
        let rows = dst.len() / width.max(1);
        let start = block_index * block_rows;
        chunk.rows = rows;
        match data.input_rows(start, rows) {
            // f32 rows in memory: the first layer reads them where they are.
            Some(x) => chunk.forward_from(layers, slots, params, 0, Some(x), false)?,
            None => {
                // The example numbers of this block, written into the chunk's label buffer
                // so that prediction allocates nothing per block.
                let mut indices = std::mem::take(&mut chunk.classes);
                for (k, i) in indices[..rows].iter_mut().enumerate() {
                    *i = (start + k) as u32;
                }
                let result = chunk.forward(layers, slots, params, None, data, &indices[..rows]);
                chunk.classes = indices;
                result?;
            }
        }
        dst.copy_from_slice(chunk.output(width));
        Ok(())
    };
    pool::for_each_with_parts_mut(chunks, out, per_thread * block, |t, chunk, span| {
        for (i, dst) in span.chunks_mut(block).enumerate() {
            run(chunk, t * per_thread + i, dst)?;
        }
        Ok(())
    })
}
