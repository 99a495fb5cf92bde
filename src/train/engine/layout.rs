//! Where each layer's parameters sit in the model's [`ParamStore`], which buffer each layer
//! reads and writes in a [`Mode`], and how a step's work is cut between threads: the first
//! dense layer's weight rows by input features (when nothing but views comes before it),
//! everything after them into ranges of about equal size on weight-row and layer boundaries.

use std::ops::Range;

use crate::autograd::ParamStore;
use crate::error::{Error, Result};
use crate::nn::{Layer, Mode};

/// A dense layer's weight and bias in the flat buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DenseSlot {
    /// The weight, `inputs x units` values, row-major.
    pub weight: Range<usize>,
    /// The bias (empty for a layer without one).
    pub bias: Range<usize>,
    pub inputs: usize,
    pub units: usize,
}

impl DenseSlot {
    pub(crate) fn has_bias(&self) -> bool {
        !self.bias.is_empty()
    }
}

/// One layer's parameters in the flat buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    /// All of them, end to end (empty for a layer without parameters).
    pub params: Range<usize>,
    /// Each parameter tensor's name and range, and whether the optimiser trains it.
    pub tensors: Vec<(String, Range<usize>, bool)>,
    /// A dense layer's weight and bias.
    pub dense: Option<DenseSlot>,
    /// Values a row of its input and of its output.
    pub input_len: usize,
    pub output_len: usize,
    /// Whether some of its parameters are updated by the layer itself (moving statistics).
    pub has_state: bool,
}

/// The parameters of a stack of layers in their store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub slots: Vec<Slot>,
    /// Number of values in the store.
    pub total: usize,
    /// The dense layer whose weight rows the threads share by input features while training
    /// (every layer before it is a view then, and its weight starts the buffer).
    pub first: Option<usize>,
    /// Whether some layer couples the rows of a batch while training: the batch is then one
    /// part, not one per thread.
    pub couples_rows: bool,
}

impl Layout {
    /// Finds each layer's parameters in `store`. The engine needs them laid out as a model's
    /// store has them: layer by layer, in the order of each layer's parameter specs, every
    /// value belonging to a layer.
    pub(crate) fn of(layers: &[Box<dyn Layer>], store: &ParamStore) -> Result<Layout> {
        let infos = store.infos();
        let mut slots = Vec::with_capacity(layers.len());
        let mut next = 0;
        for layer in layers {
            let layer_name = layer.name().unwrap_or(layer.class_name());
            let start = next;
            let mut tensors = vec![];
            for spec in layer.param_specs() {
                let name = format!("{layer_name}/{}", spec.name);
                let info = infos.iter().find(|i| i.name == name).ok_or_else(|| {
                    Error::Value(format!("layer {layer_name}: its {} is not in the model's parameter store", spec.name))
                })?;
                if info.offset != next || info.shape != spec.shape {
                    return Err(Error::Value(format!(
                        "layer {layer_name}: {name} is not where the model's layers put it, or has another shape ({:?} at {}, expected {:?} at {next})",
                        info.shape, info.offset, spec.shape
                    )));
                }
                next = info.range().end;
                tensors.push((name, info.range(), spec.trainable));
            }
            let dense = layer.as_dense().map(|d| {
                let (inputs, units) = (d.input_dim().unwrap_or(0), d.units());
                let weight = start..start + inputs * units;
                DenseSlot { bias: weight.end..next, weight, inputs, units }
            });
            let input_len = layer.input_shape().iter().product();
            let output_len = layer.output_shape(layer.input_shape())?.iter().product();
            let has_state = tensors.iter().any(|t| !t.2);
            slots.push(Slot { params: start..next, tensors, dense, input_len, output_len, has_state });
        }
        let total: usize = infos.iter().map(|i| i.range().len()).sum();
        if next != total {
            return Err(Error::Value(
                "the parameter store holds values that are not the model's layers, or not in their order".into(),
            ));
        }
        let compute = layers.iter().position(|l| !l.is_view(Mode::Training));
        let first = compute.filter(|&l| slots[l].dense.as_ref().is_some_and(|d| d.weight.start == 0));
        let couples_rows = layers.iter().any(|l| l.couples_rows(Mode::Training));
        Ok(Layout { slots, total, first, couples_rows })
    }

    /// The first dense layer's weight and size, when the threads share it by input features.
    pub(crate) fn first_dense(&self) -> Option<&DenseSlot> {
        self.first.and_then(|l| self.slots[l].dense.as_ref())
    }

    /// Where the values the threads share by parameter ranges start: after the first dense
    /// layer's weight, or at 0.
    pub(crate) fn rest_start(&self) -> usize {
        self.first_dense().map_or(0, |d| d.weight.end)
    }

    /// Where thread `t`'s share of the first layer's inputs starts: features
    /// `bounds[t]..bounds[t + 1]`, split evenly.
    pub(crate) fn feature_bounds(&self, threads: usize) -> Vec<usize> {
        let inputs = self.first_dense().map_or(0, |d| d.inputs);
        (0..=threads).map(|k| inputs * k / threads).collect()
    }

    /// Cuts everything after the first layer's weight into `threads` contiguous ranges of
    /// about equal size (flat offsets, plus the end), each cut on a dense weight row, after a
    /// bias, or around a whole layer of another kind, so that every thread's share is a set
    /// of whole weight rows, biases and layers. A rest of at most [`WHOLE_REST`] values after
    /// a first layer shared by features is not cut: the first thread takes it all.
    pub(crate) fn rest_bounds(&self, threads: usize) -> Vec<usize> {
        let (start, total) = (self.rest_start(), self.total);
        if self.first.is_some() && total - start <= WHOLE_REST {
            return std::iter::once(start).chain(std::iter::repeat_n(total, threads.max(1))).collect();
        }
        self.even_rest_bounds(threads)
    }

    /// [`Layout::rest_bounds`] without the whole small rest: every rest cut evenly.
    pub(crate) fn even_rest_bounds(&self, threads: usize) -> Vec<usize> {
        let (start, total) = (self.rest_start(), self.total);
        let mut bounds = vec![start];
        for k in 1..threads {
            let target = start + (total - start) * k / threads;
            let snapped = self
                .slots
                .iter()
                .find_map(|s| match &s.dense {
                    Some(d) if d.weight.contains(&target) => {
                        let units = d.units.max(1);
                        Some(d.weight.start + (target - d.weight.start + units / 2) / units * units)
                    }
                    Some(d) if d.bias.contains(&target) => Some(d.bias.end),
                    None if s.params.contains(&target) => Some(s.params.end),
                    _ => None,
                })
                .unwrap_or(total);
            bounds.push(snapped.clamp(*bounds.last().unwrap_or(&start), total));
        }
        bounds.push(total);
        bounds
    }
}

/// The largest rest (the parameters after a first dense layer's weight) that the first thread
/// of part B takes whole, the calling thread, which starts B as it hands the other share off
/// and so a fraction of a microsecond before its helper. Such a rest costs mostly per call
/// (each part's gradient product, the bias sums, Adam's step scalars: about 3,000 cycles a
/// thread for the seed model's 560 values, 6,400 for all of them on one), so cutting it takes
/// less off the one thread than it adds to the other. On MNIST the second half of the pixels
/// holds 11% more ink than the first, and the thread with it finished B 7,000 cycles later;
/// whole on the first thread, the two finish together (BENCHMARKS.md, issue 25, seventh
/// session). The numbers stay the same (gradients are summed over the parts in part order, the
/// optimiser works value by value; a test compares both cuts bit for bit, with sigmoid and
/// ReLU), unless a hidden layer's outputs are so often 0 that its halves' gradient products go
/// to the zero-skipping kernel and the whole's to the GEMM path, or the reverse: they round
/// the second part's sum differently, in the last bits, the same way every run.
pub(crate) const WHOLE_REST: usize = 1024;

/// Which buffer each layer reads and writes in one mode: a view's output is its input's
/// buffer, every other layer's output a buffer of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Buffers {
    /// Per layer: the buffer of its output (None: the input rows themselves).
    pub out: Vec<Option<usize>>,
    /// Per buffer: values a row.
    pub widths: Vec<usize>,
}

impl Buffers {
    pub(crate) fn plan(layers: &[Box<dyn Layer>], slots: &[Slot], mode: Mode) -> Buffers {
        let (mut out, mut widths) = (Vec::with_capacity(layers.len()), vec![]);
        let mut current = None;
        for (layer, slot) in layers.iter().zip(slots) {
            if !layer.is_view(mode) {
                widths.push(slot.output_len);
                current = Some(widths.len() - 1);
            }
            out.push(current);
        }
        Buffers { out, widths }
    }

    /// The buffer layer `l` reads (None: the input rows).
    pub(crate) fn input_of(&self, l: usize) -> Option<usize> {
        if l == 0 {
            None
        } else {
            self.out[l - 1]
        }
    }
}
