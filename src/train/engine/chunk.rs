//! One thread's rows of a batch and every buffer they need, allocated once: the layers'
//! outputs, the derivatives their activations kept, the `dL/dz` of each layer, the targets.
//! The forward pass and the loss are the same for training, evaluation and prediction.

use super::layout::Slot;
use super::Totals;
use crate::error::{Error, Result};
use crate::nn::{count_correct, Activate, Dense, Loss, Targets};
use crate::train::examples::{Examples, TargetKind};

pub(crate) struct Chunk {
    pub rows: usize,
    /// Full input rows, for evaluation and prediction (training uses the input parts).
    pub x: Vec<f32>,
    pub classes: Vec<u32>,
    pub target_rows: Vec<f32>,
    /// Per layer: its output; for the output layer, after the loss, `dL/dz`.
    pub acts: Vec<Vec<f32>>,
    /// Per layer: what its activation's backward pass needs, `h'(z)` (empty where nothing).
    pub derivs: Vec<Vec<f32>>,
    /// Per layer below the output: `dL/dz` (training only).
    pub deltas: Vec<Vec<f32>>,
    pub scratch: Vec<f32>,
    pub argmax: Vec<usize>,
    pub totals: Totals,
}

/// What a chunk is for: its buffers differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Training,
    Evaluation,
}

impl Chunk {
    pub(crate) fn new(layers: &[Dense], rows: usize, purpose: Purpose) -> Chunk {
        let features = layers.first().and_then(|l| l.input_dim()).unwrap_or(0);
        let out = layers.last().map(|l| l.units()).unwrap_or(0);
        let hidden = layers.len().saturating_sub(1);
        let training = purpose == Purpose::Training;
        Chunk {
            rows: 0,
            x: if training { vec![] } else { vec![0.0; rows * features] },
            classes: vec![0; rows],
            target_rows: vec![0.0; rows * out],
            acts: layers.iter().map(|l| vec![0.0; rows * l.units()]).collect(),
            // Every layer's derivative when training; evaluation needs only the output
            // layer's, for a loss that is not fused with its activation.
            derivs: layers
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let needed = l.activation_fn().is_elementwise() && (training || i == hidden);
                    if needed {
                        vec![0.0; rows * l.units()]
                    } else {
                        vec![]
                    }
                })
                .collect(),
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
    pub(crate) fn delta(&self, l: usize) -> &[f32] {
        if l + 1 == self.acts.len() {
            &self.acts[l]
        } else {
            &self.deltas[l]
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

    /// How layer `l` finishes its forward pass: leaving logits for a fused loss, keeping its
    /// activation's derivative when there is a buffer for it, else just activating.
    fn activate_mode(derivs: &mut [Vec<f32>], l: usize, rows: usize, units: usize, logits: bool) -> Activate<'_> {
        if logits {
            Activate::No
        } else if derivs[l].is_empty() {
            Activate::Yes
        } else {
            Activate::KeepingDerivative(&mut derivs[l][..rows * units])
        }
    }

    /// Finishes layer `l` (bias and activation) on the pre-activations already in its output
    /// buffer.
    pub(crate) fn finish_layer(
        &mut self,
        layers: &[Dense],
        slots: &[Slot],
        params: &[f32],
        l: usize,
        fused: bool,
    ) -> Result<()> {
        let (rows, slot) = (self.rows, &slots[l]);
        let bias = slot.has_bias().then(|| &params[slot.bias.clone()]);
        let logits = fused && l + 1 == layers.len();
        let activate = Chunk::activate_mode(&mut self.derivs, l, rows, slot.units, logits);
        layers[l].bias_and_activation(bias, &mut self.acts[l][..rows * slot.units], activate)
    }

    /// Runs layers `from..` on the rows (layer `from` reads `x`, or the layer below's output).
    /// With `fused`, the output layer leaves its logits for the loss.
    pub(crate) fn forward_from(
        &mut self,
        layers: &[Dense],
        slots: &[Slot],
        params: &[f32],
        from: usize,
        fused: bool,
    ) -> Result<()> {
        let rows = self.rows;
        for l in from..layers.len() {
            let slot = &slots[l];
            let (below, this) = self.acts.split_at_mut(l);
            let input: &[f32] =
                if l == 0 { &self.x[..rows * slot.inputs] } else { &below[l - 1][..rows * slot.inputs] };
            let bias = slot.has_bias().then(|| &params[slot.bias.clone()]);
            let logits = fused && l + 1 == layers.len();
            let activate = Chunk::activate_mode(&mut self.derivs, l, rows, slot.units, logits);
            layers[l].forward_rows(
                &params[slot.weight.clone()],
                bias,
                input,
                rows,
                &mut this[0][..rows * slot.units],
                activate,
            )?;
        }
        Ok(())
    }

    /// Metrics and the loss on the forward pass's output; leaves `dL/dz` of the output layer
    /// (of the mean loss over `batch_rows` examples) in its buffer.
    pub(crate) fn loss(&mut self, layers: &[Dense], loss: Loss, kind: TargetKind, batch_rows: usize) -> Result<()> {
        let rows = self.rows;
        let last = layers.len() - 1;
        let out = layers[last].units();
        let act = layers[last].activation_fn();
        let targets = match kind {
            TargetKind::Classes { .. } if loss.takes_class_indices() => Targets::Classes(&self.classes[..rows]),
            _ => Targets::Dense(&self.target_rows[..rows * out]),
        };
        let output = &mut self.acts[last][..rows * out];
        let fused = loss.fuses_with(act);
        // A fused sigmoid leaves logits: `z > 0` is `sigmoid(z) > 0.5`.
        let threshold = if fused && act == crate::nn::Activation::Sigmoid { 0.0 } else { 0.5 };
        let correct = count_correct(output, rows, targets, &mut self.argmax, threshold);
        let derivative = self.derivs[last].get(..rows * out).unwrap_or(&[]);
        let loss_sum =
            loss.output_gradient_rows(act, output, derivative, rows, targets, batch_rows, &mut self.scratch)?;
        self.totals = Totals { loss_sum, correct, count: rows };
        Ok(())
    }
}
