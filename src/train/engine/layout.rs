//! Where each layer's parameters sit in the model's [`ParamStore`], and how a step's work is
//! cut between threads: the first layer's weight rows by input features, everything after
//! them into ranges of about equal size on weight-row boundaries.

use std::ops::Range;

use crate::autograd::{ParamStore, Var};
use crate::error::{Error, Result};
use crate::nn::Dense;

/// One layer's parameters in the flat buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    /// The weight, `inputs x units` values, row-major.
    pub weight: Range<usize>,
    /// The bias (empty for a layer without one).
    pub bias: Range<usize>,
    pub inputs: usize,
    pub units: usize,
}

impl Slot {
    pub(crate) fn has_bias(&self) -> bool {
        !self.bias.is_empty()
    }
}

/// The parameters of a stack of dense layers in their store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub slots: Vec<Slot>,
    /// Number of values in the store.
    pub total: usize,
}

impl Layout {
    /// Finds each layer's weight and bias in `store`. The engine needs them laid out as a
    /// model's store has them: the first layer's weight first, then everything else, every
    /// value belonging to a layer.
    pub(crate) fn of(layers: &[Dense], store: &ParamStore) -> Result<Layout> {
        let infos = store.infos();
        let range_of = |v: Option<&Var>, what: &str, layer: &Dense| -> Result<Option<Range<usize>>> {
            let Some(v) = v else { return Ok(None) };
            match v.store_slot() {
                Some((s, index)) if s.same_as(store) => Ok(infos.get(index).map(|i| i.range())),
                _ => Err(Error::Value(format!(
                    "layer {}: its {what} is not in the model's parameter store",
                    layer.config().name.as_deref().unwrap_or("dense")
                ))),
            }
        };
        let mut slots = Vec::with_capacity(layers.len());
        for layer in layers {
            let weight = range_of(layer.weight(), "weight", layer)?
                .ok_or_else(|| Error::Value("the model has a layer that is not built".into()))?;
            let bias = range_of(layer.bias(), "bias", layer)?.unwrap_or(weight.end..weight.end);
            let (inputs, units) = (layer.input_dim().unwrap_or(0), layer.units());
            if weight.len() != inputs * units || (layer.config().use_bias && bias.len() != units) {
                return Err(Error::Shape(format!(
                    "layer {}: {} weight and {} bias values in the store for {inputs} x {units}",
                    layer.config().name.as_deref().unwrap_or("dense"),
                    weight.len(),
                    bias.len()
                )));
            }
            slots.push(Slot { weight, bias, inputs, units });
        }
        let total: usize = infos.iter().map(|i| i.range().len()).sum();
        let owned: usize = slots.iter().map(|s| s.weight.len() + s.bias.len()).sum();
        if slots.first().is_some_and(|s| s.weight.start != 0) || owned != total {
            return Err(Error::Value(
                "the parameter store holds values that are not the model's layers, or not in their order".into(),
            ));
        }
        Ok(Layout { slots, total })
    }

    /// The first layer's slot.
    pub(crate) fn first(&self) -> &Slot {
        &self.slots[0]
    }

    /// Where thread `t`'s share of the first layer's inputs starts: features
    /// `bounds[t]..bounds[t + 1]`, split evenly.
    pub(crate) fn feature_bounds(&self, threads: usize) -> Vec<usize> {
        let inputs = self.first().inputs;
        (0..=threads).map(|k| inputs * k / threads).collect()
    }

    /// Cuts everything after the first layer's weight into `threads` contiguous ranges of
    /// about equal size (flat offsets, plus the end), each cut on a weight-row or layer
    /// boundary, so that every thread's share is a set of whole weight rows and biases.
    pub(crate) fn rest_bounds(&self, threads: usize) -> Vec<usize> {
        let (start, total) = (self.first().weight.end, self.total);
        let mut bounds = vec![start];
        for k in 1..threads {
            let target = start + (total - start) * k / threads;
            let snapped = self
                .slots
                .iter()
                .find_map(|s| {
                    if s.weight.contains(&target) {
                        let units = s.units.max(1);
                        Some(s.weight.start + (target - s.weight.start + units / 2) / units * units)
                    } else if s.bias.contains(&target) {
                        Some(s.bias.end)
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
}
