//! The dense (fully connected) layer, `y = h(x W + b)` with `W` of shape (inputs, outputs),
//! in the notes' notation: `W[l]` belongs to the later layer `l`.
//!
//! Its arithmetic is written once, here, on row-major buffers: the product over a range of
//! input features, bias plus activation, and the three gradients (input, weight rows from
//! strided inputs, bias columns). The autograd path runs those functions as one operation
//! per layer ([`Module::forward`]); the training engine of [`crate::train`] only decides
//! which rows, features and parameters each thread gives them.

use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::layer::{BackwardRows, ForwardRows, Layer, Mode, ParamSpec};
use super::{Activation, Initializer, LayerConfig, Module};
use crate::autograd::{is_grad_enabled, ParamStore, Var};
use crate::error::{shape_str, Error, Result};
use crate::kernels::sparse::ByteTable;
use crate::kernels::{gemm, reduce, sparse, MatLayout};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Values per run of rows that [`Dense::bias_and_activation`] finishes at once (16 KB).
const RUN_VALUES: usize = 4096;

/// A fully connected layer (Keras `Dense`). Built with a builder, then given its weights by
/// [`Dense::build`] (or by [`crate::train::Sequential::add`], which knows the input size and
/// keeps the weights in the model's [`ParamStore`]).
///
/// ```
/// use neurite::{nn::{Activation, Dense}, Rng};
/// let layer = Dense::new(50).activation(Activation::Sigmoid).input_shape(784).build(&mut Rng::new(0))?;
/// assert_eq!(layer.param_count(), 784 * 50 + 50);
/// assert_eq!(layer.weight().unwrap().shape(), vec![784, 50]);
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dense {
    config: DenseConfig,
    /// `[input_dim]` once known (what [`Layer::input_shape`] returns).
    input: Vec<usize>,
    weight: Option<Var>,
    bias: Option<Var>,
}

/// Everything that defines a dense layer except its parameter values: what a model file
/// stores as the architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenseConfig {
    /// Number of outputs.
    pub units: usize,
    /// Number of inputs, once known.
    pub input_dim: Option<usize>,
    /// The activation `h`.
    pub activation: Activation,
    /// Whether the layer adds a bias.
    pub use_bias: bool,
    /// How `W` is initialised.
    pub kernel_initializer: Initializer,
    /// How `b` is initialised.
    pub bias_initializer: Initializer,
    /// The layer's name (`dense`, `dense_1`, ... when added to a model without one).
    pub name: Option<String>,
}

/// Some input features of a batch's rows, as the layer's arithmetic reads them: feature
/// `first + j` of row `r` is `data[r * stride + j]`. A thread's share of the first layer's
/// inputs (its own compact copy), or a column range of a layer's full input rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputRows<'a> {
    /// The values; `data[0]` is feature `first` of row 0.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Distance between two rows in `data`.
    pub stride: usize,
    /// The first feature.
    pub first: usize,
    /// Number of features.
    pub count: usize,
}

impl<'a> InputRows<'a> {
    /// All `features` features of `rows` contiguous rows.
    pub(crate) fn all(data: &'a [f32], rows: usize, features: usize) -> InputRows<'a> {
        InputRows { data, rows, stride: features, first: 0, count: features }
    }

    /// Features `first..first + count` of contiguous rows of `features` values.
    pub(crate) fn columns(data: &'a [f32], rows: usize, features: usize, first: usize, count: usize) -> InputRows<'a> {
        InputRows { data: data.get(first..).unwrap_or(&[]), rows, stride: features, first, count }
    }

    /// The view as a GEMM operand (rows x count), checked against the slice.
    fn layout(&self) -> MatLayout {
        MatLayout { rows: self.rows, cols: self.count, row_stride: self.stride, col_stride: 1, offset: 0 }
    }
}

/// [`InputRows`] held as bytes that stand for floats (a data set's pixels, [`ByteTable`]).
#[derive(Clone, Copy)]
pub(crate) struct ByteRows<'a> {
    /// The bytes; `data[0]` is feature `first` of row 0.
    pub data: &'a [u8],
    /// What they stand for.
    pub table: &'a ByteTable,
    /// Number of rows.
    pub rows: usize,
    /// Distance between two rows in `data`.
    pub stride: usize,
    /// The first feature.
    pub first: usize,
    /// Number of features.
    pub count: usize,
}

impl ByteRows<'_> {
    /// The floats, written to `floats` (the same positions), as [`InputRows`].
    fn converted<'f>(&self, floats: &'f mut [f32]) -> Result<InputRows<'f>> {
        let len = if self.rows == 0 { 0 } else { (self.rows - 1) * self.stride + self.count };
        let room = floats.len();
        let (Some(src), Some(dst)) = (self.data.get(..len), floats.get_mut(..len)) else {
            return Err(Error::Shape(format!(
                "{} rows of {} features {} apart need {len} values, got {} bytes and room for {room} floats",
                self.rows,
                self.count,
                self.stride,
                self.data.len(),
            )));
        };
        self.table.convert(src, dst);
        Ok(InputRows { data: dst, rows: self.rows, stride: self.stride, first: self.first, count: self.count })
    }
}

/// What [`Dense::bias_and_activation`] does after adding the bias.
pub(crate) enum Activate<'a> {
    /// Applies the activation.
    Yes,
    /// Applies it and keeps what its backward pass needs (`h'(z)`) in the buffer given.
    KeepingDerivative(&'a mut [f32]),
    /// Leaves the pre-activation (the logits of a loss fused with the activation).
    No,
}

impl Dense {
    /// A layer with `units` outputs, identity activation, Glorot-uniform weights and zero
    /// bias (Keras' defaults).
    pub fn new(units: usize) -> Dense {
        Dense {
            config: DenseConfig {
                units,
                input_dim: None,
                activation: Activation::Identity,
                use_bias: true,
                kernel_initializer: Initializer::GlorotUniform,
                bias_initializer: Initializer::Zeros,
                name: None,
            },
            input: vec![],
            weight: None,
            bias: None,
        }
    }

    /// A layer from its configuration (weights not yet built).
    pub fn from_config(config: DenseConfig) -> Dense {
        let input = config.input_dim.into_iter().collect();
        Dense { config, input, weight: None, bias: None }
    }

    /// A built layer with given parameters: `weight` of shape (inputs, outputs), `bias` of
    /// shape (outputs,), kept in a store of its own.
    pub fn from_weights(weight: Tensor, bias: Option<Tensor>, activation: Activation) -> Result<Dense> {
        if weight.ndim() != 2 {
            return Err(Error::Shape(format!(
                "Dense: weight must be 2-D (inputs, outputs), got {}",
                shape_str(weight.shape())
            )));
        }
        let (inputs, units) = (weight.shape()[0], weight.shape()[1]);
        if inputs == 0 || units == 0 {
            return Err(Error::Shape(format!(
                "Dense: a weight of shape {} has no inputs or no units",
                shape_str(weight.shape())
            )));
        }
        if let Some(b) = &bias {
            if b.shape() != [units] {
                return Err(Error::Shape(format!(
                    "Dense: bias of shape {} does not match a weight of shape {}",
                    shape_str(b.shape()),
                    shape_str(weight.shape())
                )));
            }
        }
        activation.validate()?;
        let mut layer = Dense::new(units).activation(activation).input_shape(inputs).use_bias(bias.is_some());
        layer.set_parameters(&ParamStore::new(), weight, bias)?;
        Ok(layer)
    }

    /// Sets the activation.
    pub fn activation(mut self, activation: Activation) -> Dense {
        self.config.activation = activation;
        self
    }

    /// Sets the number of inputs (Keras `input_shape=(784,)`).
    pub fn input_shape(mut self, inputs: usize) -> Dense {
        self.config.input_dim = Some(inputs);
        self.input = vec![inputs];
        self
    }

    /// Sets the weight initialiser.
    pub fn kernel_initializer(mut self, init: Initializer) -> Dense {
        self.config.kernel_initializer = init;
        self
    }

    /// Sets the bias initialiser.
    pub fn bias_initializer(mut self, init: Initializer) -> Dense {
        self.config.bias_initializer = init;
        self
    }

    /// With or without a bias.
    pub fn use_bias(mut self, use_bias: bool) -> Dense {
        self.config.use_bias = use_bias;
        self
    }

    /// Names the layer.
    pub fn name(mut self, name: &str) -> Dense {
        self.config.name = Some(name.to_string());
        self
    }

    /// Draws the parameters into a store of the layer's own; the number of inputs must be
    /// known.
    pub fn build(mut self, rng: &mut Rng) -> Result<Dense> {
        let inputs = self.config.input_dim.ok_or_else(|| {
            Error::Value(format!(
                "Dense({}): the number of inputs is unknown; call input_shape first",
                self.config.units
            ))
        })?;
        self.build_in(&ParamStore::new(), inputs, rng)?;
        Ok(self)
    }

    /// Draws the parameters for `inputs` inputs into `store`, as `<name>/kernel` and
    /// `<name>/bias`.
    pub fn build_in(&mut self, store: &ParamStore, inputs: usize, rng: &mut Rng) -> Result<()> {
        let c = &self.config;
        if c.units == 0 || inputs == 0 {
            return Err(Error::Value(format!(
                "Dense: needs at least one input and one unit, got {inputs} -> {}",
                c.units
            )));
        }
        if let Some(declared) = c.input_dim {
            if declared != inputs {
                return Err(Error::Shape(format!(
                    "Dense({}): declared {declared} inputs but the previous layer gives {inputs}",
                    c.units
                )));
            }
        }
        c.activation.validate()?;
        let w = c.kernel_initializer.init(&[inputs, c.units], inputs, c.units, rng);
        let b = c.use_bias.then(|| c.bias_initializer.init(&[c.units], inputs, c.units, rng));
        self.config.input_dim = Some(inputs);
        self.input = vec![inputs];
        self.set_parameters(store, w, b)
    }

    /// Puts the parameter values into `store` under the layer's name and makes them the
    /// layer's parameters.
    fn set_parameters(&mut self, store: &ParamStore, weight: Tensor, bias: Option<Tensor>) -> Result<()> {
        let name = self.config.name.clone().unwrap_or_else(|| "dense".to_string());
        self.weight = Some(store.add(&format!("{name}/kernel"), &weight)?);
        self.bias = match bias {
            Some(b) => Some(store.add(&format!("{name}/bias"), &b)?),
            None => None,
        };
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &DenseConfig {
        &self.config
    }

    /// Renames the layer (Sequential names unnamed layers `dense`, `dense_1`, ...). Its
    /// parameters keep the names they were stored under.
    pub fn set_name(&mut self, name: String) {
        self.config.name = Some(name);
    }

    /// Number of outputs.
    pub fn units(&self) -> usize {
        self.config.units
    }

    /// Number of inputs, once known.
    pub fn input_dim(&self) -> Option<usize> {
        self.config.input_dim
    }

    /// The activation.
    pub fn activation_fn(&self) -> Activation {
        self.config.activation
    }

    /// The weight `W`, of shape (inputs, outputs), once built.
    pub fn weight(&self) -> Option<&Var> {
        self.weight.as_ref()
    }

    /// The bias `b`, of shape (outputs,), once built (None without bias).
    pub fn bias(&self) -> Option<&Var> {
        self.bias.as_ref()
    }

    /// Whether the parameters exist.
    pub fn is_built(&self) -> bool {
        self.weight.is_some()
    }

    /// Number of trainable values: `inputs * units + units`.
    pub fn param_count(&self) -> usize {
        let inputs = self.config.input_dim.unwrap_or(0);
        inputs * self.config.units + if self.config.use_bias { self.config.units } else { 0 }
    }

    fn not_built(&self) -> Error {
        Error::Value(format!("{}: not built yet", self.display_name()))
    }

    fn display_name(&self) -> String {
        match &self.config.name {
            Some(n) => n.clone(),
            None => format!("Dense({})", self.config.units),
        }
    }

    // ---------------------------------------------------------------------------------
    // The arithmetic, on row buffers: the one copy that both paths run.
    // ---------------------------------------------------------------------------------

    /// `out (=, or += with accumulate) x[:, features] W[features, :]` for `rows` rows: the
    /// product over a range of input features, with `w_rows` the weight's rows for those
    /// features (`x.count` x units). The whole forward product is the range of all features.
    pub(crate) fn product(&self, x: InputRows<'_>, w_rows: &[f32], out: &mut [f32], accumulate: bool) -> Result<()> {
        let units = self.config.units;
        if w_rows.len() != x.count * units || out.len() != x.rows * units {
            return Err(Error::Shape(format!(
                "{}: features {}..{} of {} rows need {} weight values and {} outputs, got {} and {}",
                self.display_name(),
                x.first,
                x.first + x.count,
                x.rows,
                x.count * units,
                x.rows * units,
                w_rows.len(),
                out.len()
            )));
        }
        // Inputs that are mostly zeros (pixels, ReLU's outputs) skip them where that is
        // faster; the kernel declines (false) where it is not, or this machine has none.
        if sparse::product_if_faster(x.data, x.rows, x.stride, x.count, w_rows, units, out, accumulate) {
            return Ok(());
        }
        let beta = if accumulate { 1.0 } else { 0.0 };
        gemm(
            1.0,
            x.data,
            x.layout(),
            w_rows,
            MatLayout::row_major(x.count, units),
            beta,
            out,
            MatLayout::row_major(x.rows, units),
        )
    }

    /// [`Dense::product`] of the floats that the bytes `x` stand for: read from the bytes where
    /// the zero-skipping kernels take them (the same sums), else converted into `floats`
    /// first (room for `x`'s rows).
    pub(crate) fn product_of_bytes(
        &self,
        x: ByteRows<'_>,
        w_rows: &[f32],
        out: &mut [f32],
        accumulate: bool,
        floats: &mut [f32],
    ) -> Result<()> {
        let units = self.config.units;
        if w_rows.len() == x.count * units
            && out.len() == x.rows * units
            && sparse::product_of_bytes(x.data, x.table, x.rows, x.stride, x.count, w_rows, units, out, accumulate)
        {
            return Ok(());
        }
        self.product(x.converted(floats)?, w_rows, out, accumulate)
    }

    /// [`Dense::weight_gradient`] from the floats that the bytes `x` stand for, as
    /// [`Dense::product_of_bytes`] computes the product.
    pub(crate) fn weight_gradient_of_bytes(
        &self,
        x: ByteRows<'_>,
        delta: &[f32],
        grad_w: &mut [f32],
        accumulate: bool,
        floats: &mut [f32],
    ) -> Result<()> {
        let units = self.config.units;
        if delta.len() == x.rows * units
            && grad_w.len() == x.count * units
            && sparse::transposed_product_of_bytes(
                x.data, x.table, x.rows, x.stride, x.count, delta, units, grad_w, accumulate,
            )
        {
            return Ok(());
        }
        self.weight_gradient(x.converted(floats)?, delta, grad_w, accumulate)
    }

    /// `z + b`, then the activation, in place on `rows x units` pre-activations, a run of
    /// rows at a time while it is still in cache.
    pub(crate) fn bias_and_activation(
        &self,
        bias: Option<&[f32]>,
        z: &mut [f32],
        activate: Activate<'_>,
    ) -> Result<()> {
        let units = self.config.units;
        if !z.len().is_multiple_of(units.max(1))
            || bias.is_some_and(|b| b.len() != units)
            || self.config.use_bias != bias.is_some()
        {
            return Err(Error::Shape(format!(
                "{}: {} pre-activations and a bias of {:?} values for {units} units (use_bias: {})",
                self.display_name(),
                z.len(),
                bias.map(<[f32]>::len),
                self.config.use_bias
            )));
        }
        let act = self.config.activation;
        // Runs of whole rows of about 16 KB: still in the first-level cache when the
        // activation reads them, and long enough for its vectors whatever `units` is (a row
        // of 10 or 50 alone leaves a scalar tail in every row).
        let run_len = units.max(1) * (RUN_VALUES / units.max(1)).max(1);
        let add_bias = |run: &mut [f32]| {
            if let Some(b) = bias {
                reduce::add_to_rows(run, b);
            }
        };
        match activate {
            Activate::KeepingDerivative(d) => {
                if d.len() != z.len() {
                    return Err(Error::Shape(format!(
                        "{}: a derivative buffer of {} for {} values",
                        self.display_name(),
                        d.len(),
                        z.len()
                    )));
                }
                for (run, d_run) in z.chunks_mut(run_len).zip(d.chunks_mut(run_len)) {
                    add_bias(run);
                    act.forward_rows_keeping_derivative(run, d_run, units);
                }
            }
            Activate::Yes | Activate::No => {
                let apply = matches!(activate, Activate::Yes);
                for run in z.chunks_mut(run_len) {
                    add_bias(run);
                    if apply {
                        act.forward_rows(run, units);
                    }
                }
            }
        }
        Ok(())
    }

    /// The whole forward pass of `rows` contiguous input rows: `out = h(x W + b)`.
    pub(crate) fn product_bias_activation(
        &self,
        weight: &[f32],
        bias: Option<&[f32]>,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
        activate: Activate<'_>,
    ) -> Result<()> {
        let inputs = self.config.input_dim.unwrap_or(0);
        if x.len() != rows * inputs {
            return Err(Error::Shape(format!(
                "{}: {rows} rows of {inputs} inputs need {} values, got {}",
                self.display_name(),
                rows * inputs,
                x.len()
            )));
        }
        self.product(InputRows::all(x, rows, inputs), weight, out, false)?;
        self.bias_and_activation(bias, out, activate)
    }

    /// `dL/dz` from `g = dL/dy` in place, through the activation: from the output `y` and the
    /// derivative `d` that the forward pass kept.
    pub(crate) fn activation_backward(&self, y: &[f32], d: &[f32], g: &mut [f32]) {
        self.config.activation.backward_rows(y, d, g, self.config.units);
    }

    /// `grad_x = delta W^T` for `delta = dL/dz` of `rows` rows.
    pub(crate) fn input_gradient(&self, weight: &[f32], delta: &[f32], rows: usize, grad_x: &mut [f32]) -> Result<()> {
        let (inputs, units) = (self.config.input_dim.unwrap_or(0), self.config.units);
        if delta.len() != rows * units || grad_x.len() != rows * inputs || weight.len() != inputs * units {
            return Err(Error::Shape(format!(
                "{}: input gradient of {rows} rows from {} deltas into {} values (weight {})",
                self.display_name(),
                delta.len(),
                grad_x.len(),
                weight.len()
            )));
        }
        gemm(
            1.0,
            delta,
            MatLayout::row_major(rows, units),
            weight,
            MatLayout::row_major(inputs, units).t(),
            0.0,
            grad_x,
            MatLayout::row_major(rows, inputs),
        )
    }

    /// The weight gradient's rows for the features of `x`: `grad_w = x^T delta`
    /// (`x.count` x units), written, or with `accumulate` added. Splitting by weight rows lets
    /// threads share the work with no reduction afterwards.
    pub(crate) fn weight_gradient(
        &self,
        x: InputRows<'_>,
        delta: &[f32],
        grad_w: &mut [f32],
        accumulate: bool,
    ) -> Result<()> {
        let units = self.config.units;
        if delta.len() != x.rows * units || grad_w.len() != x.count * units {
            return Err(Error::Shape(format!(
                "{}: weight rows {}..{} from {} rows into a buffer of {} (deltas {})",
                self.display_name(),
                x.first,
                x.first + x.count,
                x.rows,
                grad_w.len(),
                delta.len()
            )));
        }
        if sparse::transposed_product_if_faster(x.data, x.rows, x.stride, x.count, delta, units, grad_w, accumulate) {
            return Ok(());
        }
        let beta = if accumulate { 1.0 } else { 0.0 };
        gemm(
            1.0,
            x.data,
            x.layout().t(),
            delta,
            MatLayout::row_major(x.rows, units),
            beta,
            grad_w,
            MatLayout::row_major(x.count, units),
        )
    }

    /// The bias gradient's entries `columns`: the column sums of `delta` (`rows x units`),
    /// written, or with `accumulate` added.
    pub(crate) fn bias_gradient(
        &self,
        delta: &[f32],
        columns: Range<usize>,
        grad_b: &mut [f32],
        accumulate: bool,
    ) -> Result<()> {
        let units = self.config.units;
        if !delta.len().is_multiple_of(units.max(1)) || columns.end > units || grad_b.len() != columns.len() {
            return Err(Error::Shape(format!(
                "{}: bias entries {columns:?} of {units} into a buffer of {} from {} deltas",
                self.display_name(),
                grad_b.len(),
                delta.len()
            )));
        }
        reduce::column_sums(delta, units, columns.start, grad_b, accumulate);
        Ok(())
    }
}

impl Module for Dense {
    /// `h(x W + b)` on autograd variables, as one operation whose forward and backward
    /// passes are the layer's row functions; `x` is (batch, inputs) or (inputs,).
    fn forward(&self, x: &Var) -> Result<Var> {
        let weight = self.weight.as_ref().ok_or_else(|| self.not_built())?;
        let shape = x.shape();
        let inputs = self.config.input_dim.unwrap_or(0);
        if shape.last() != Some(&inputs) || shape.len() > 2 {
            return Err(Error::Shape(format!(
                "{}: expected inputs with {inputs} features, of shape (batch, {inputs}) or ({inputs},), got shape {}",
                self.display_name(),
                shape_str(&shape)
            )));
        }
        let units = self.config.units;
        let rows = if shape.len() == 2 { shape[0] } else { 1 };
        let out_shape: Vec<usize> = if shape.len() == 2 { vec![rows, units] } else { vec![units] };
        let x_value = x.value().contiguous();
        let x_data = x_value.as_slice().unwrap_or(&[]);
        let (store, w_index) = weight.store_slot().ok_or_else(|| self.not_built())?;
        let b_index = self.bias.as_ref().and_then(|b| b.store_slot()).map(|(_, i)| i);
        let (w_range, b_range) =
            (store.info(w_index)?.range(), b_index.map(|i| store.info(i)).transpose()?.map(|i| i.range()));
        let recording = is_grad_enabled() && (x.requires_grad() || weight.requires_grad());
        let mut y = vec![0.0; rows * units];
        let mut d = if recording && self.config.activation.is_elementwise() { vec![0.0; rows * units] } else { vec![] };
        let version = {
            let params = store.read()?;
            let values = params.values();
            let bias = b_range.clone().map(|r| &values[r]);
            let activate = if d.is_empty() { Activate::Yes } else { Activate::KeepingDerivative(&mut d) };
            self.product_bias_activation(&values[w_range.clone()], bias, x_data, rows, &mut y, activate)?;
            params.version()
        };
        let value = Tensor::from_vec(y, &out_shape)?;
        if !recording {
            return Ok(Var::constant(value));
        }
        let layer = self.clone();
        let store = store.clone();
        let x_needs_grad = x.requires_grad();
        let backward = move |g: &Tensor, out: &Tensor| -> Result<Vec<Option<Tensor>>> {
            let params = store.read()?;
            if params.version() != version {
                return Err(Error::Autograd(format!(
                    "{}: its parameters were changed in place after the forward pass (an optimiser step before backward?); run the forward pass again",
                    layer.display_name()
                )));
            }
            let values = params.values();
            let y = out.contiguous();
            let mut delta = g.contiguous().to_vec();
            layer.activation_backward(y.as_slice().unwrap_or(&[]), &d, &mut delta);
            let x_data = x_value.as_slice().unwrap_or(&[]);
            let grad_x = if x_needs_grad {
                let mut gx = vec![0.0; rows * inputs];
                layer.input_gradient(&values[w_range.clone()], &delta, rows, &mut gx)?;
                Some(Tensor::from_vec(gx, &shape)?)
            } else {
                None
            };
            let mut gw = vec![0.0; inputs * units];
            layer.weight_gradient(InputRows::all(x_data, rows, inputs), &delta, &mut gw, false)?;
            let mut grads = vec![grad_x, Some(Tensor::from_vec(gw, &[inputs, units])?)];
            if b_range.is_some() {
                let mut gb = vec![0.0; units];
                layer.bias_gradient(&delta, 0..units, &mut gb, false)?;
                grads.push(Some(Tensor::from_vec(gb, &[units])?));
            }
            Ok(grads)
        };
        let mut inputs_vars = vec![x.clone(), weight.clone()];
        inputs_vars.extend(self.bias.iter().cloned());
        Ok(Var::custom("dense", inputs_vars, value, Arc::new(backward)))
    }

    fn parameters(&self) -> Vec<Var> {
        self.weight.iter().chain(self.bias.iter()).cloned().collect()
    }
}

impl DenseConfig {
    /// The layer (weights not yet created).
    pub fn into_layer(self) -> Dense {
        Dense::from_config(self)
    }
}

impl Layer for Dense {
    fn class_name(&self) -> &'static str {
        "Dense"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dense(self.config.clone())
    }

    fn name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }

    fn set_name(&mut self, name: String) {
        self.config.name = Some(name);
    }

    fn declared_input(&self) -> Option<Vec<usize>> {
        self.config.input_dim.map(|n| vec![n])
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let c = &self.config;
        match input {
            [n] if *n > 0 && c.units > 0 => match c.input_dim {
                Some(declared) if declared != *n => Err(Error::Shape(format!(
                    "{}: declared {declared} inputs but the previous layer gives {n}",
                    self.display_name()
                ))),
                _ => Ok(vec![c.units]),
            },
            [_] => Err(Error::Value(format!(
                "{}: needs at least one input and one unit, got {} -> {}",
                self.display_name(),
                shape_str(input),
                c.units
            ))),
            _ => Err(Error::Shape(format!(
                "{}: takes flat rows, (None, n), but its input is {}; put a Flatten layer before it",
                self.display_name(),
                super::layer::batch_shape_str(input)
            ))),
        }
    }

    fn build(&mut self, input: &[usize]) -> Result<()> {
        self.output_shape(input)?;
        self.config.activation.validate()?;
        self.config.input_dim = Some(input[0]);
        self.input = input.to_vec();
        Ok(())
    }

    fn input_shape(&self) -> &[usize] {
        &self.input
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        let c = &self.config;
        let (inputs, units) = (c.input_dim.unwrap_or(0), c.units);
        let mut specs = vec![ParamSpec {
            name: "kernel",
            shape: vec![inputs, units],
            init: c.kernel_initializer,
            fans: (inputs, units),
            trainable: true,
        }];
        if c.use_bias {
            specs.push(ParamSpec {
                name: "bias",
                shape: vec![units],
                init: c.bias_initializer,
                fans: (inputs, units),
                trainable: true,
            });
        }
        specs
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.config.activation)
    }

    fn cache_per_row(&self, mode: Mode) -> usize {
        let keeps = mode == Mode::Training && self.config.activation.is_elementwise();
        if keeps {
            self.config.units
        } else {
            0
        }
    }

    /// `h(x W + b)`; keeps `h'(z)` in the cache when it has room for it.
    fn forward_rows(&self, f: ForwardRows<'_>) -> Result<()> {
        let (weight, bias) = self.split_params(f.params)?;
        let n = f.rows * self.config.units;
        let activate = if f.logits {
            Activate::No
        } else if f.cache.len() >= n && n > 0 && self.config.activation.is_elementwise() {
            Activate::KeepingDerivative(&mut f.cache[..n])
        } else {
            Activate::Yes
        };
        self.product_bias_activation(weight, bias, f.x, f.rows, &mut f.y[..n], activate)
    }

    /// `dL/dz` in `dy`, then `dL/dx = dL/dz W^T`, and the parameters' gradients when asked.
    fn backward_rows(&self, b: BackwardRows<'_>) -> Result<()> {
        let (weight, bias) = self.split_params(b.params)?;
        let (rows, units) = (b.rows, self.config.units);
        let inputs = self.config.input_dim.unwrap_or(0);
        if !b.dy_is_dz {
            self.activation_backward(&b.y[..rows * units], b.cache.get(..rows * units).unwrap_or(&[]), b.dy);
        }
        if let Some(dx) = b.dx {
            self.input_gradient(weight, b.dy, rows, dx)?;
        }
        if let Some(dp) = b.dparams {
            let (gw, gb) = dp.split_at_mut(inputs * units);
            self.weight_gradient(InputRows::all(b.x, rows, inputs), b.dy, gw, false)?;
            if bias.is_some() {
                self.bias_gradient(b.dy, 0..units, gb, false)?;
            }
        }
        Ok(())
    }

    fn built_values(&self) -> Option<Vec<Tensor>> {
        let weight = self.weight.as_ref()?.value();
        Some(std::iter::once(weight).chain(self.bias.as_ref().map(Var::value)).collect())
    }

    fn attach(&mut self, params: &[Var]) {
        self.weight = params.first().cloned();
        self.bias = if self.config.use_bias { params.get(1).cloned() } else { None };
    }

    fn as_dense(&self) -> Option<&Dense> {
        Some(self)
    }

    fn clone_layer(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

impl Dense {
    /// The weight and the bias in a run of parameters laid out as [`Layer::param_specs`] says.
    fn split_params<'p>(&self, params: &'p [f32]) -> Result<(&'p [f32], Option<&'p [f32]>)> {
        let (inputs, units) = (self.config.input_dim.unwrap_or(0), self.config.units);
        let expected = inputs * units + if self.config.use_bias { units } else { 0 };
        if params.len() != expected {
            return Err(Error::Shape(format!(
                "{}: {} parameter values for {inputs} x {units} (use_bias: {})",
                self.display_name(),
                params.len(),
                self.config.use_bias
            )));
        }
        let (w, b) = params.split_at(inputs * units);
        Ok((w, self.config.use_bias.then_some(b)))
    }
}

/// PyTorch's `nn.Linear(in, out)`: a built dense layer without activation.
pub struct Linear;

impl Linear {
    /// A dense layer `inputs -> outputs` with Glorot-uniform weights and zero bias.
    ///
    /// ```
    /// use neurite::{autograd::Var, nn::{Linear, Module}, Rng, Tensor};
    /// let fc = Linear::new(784, 10, &mut Rng::new(0))?;
    /// let logits = fc.forward(&Var::constant(Tensor::zeros(&[32, 784])))?;
    /// assert_eq!(logits.shape(), vec![32, 10]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new(inputs: usize, outputs: usize, rng: &mut Rng) -> Result<Dense> {
        Dense::new(outputs).input_shape(inputs).build(rng)
    }
}
