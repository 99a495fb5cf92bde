//! The dense (fully connected) layer, `y = h(x W + b)` with `W` of shape (inputs, outputs),
//! in the notes' notation: `W[l]` belongs to the later layer `l`.

use serde::{Deserialize, Serialize};

use super::{Activation, Initializer, Module};
use crate::autograd::Var;
use crate::error::{shape_str, Error, Result};
use crate::kernels::{gemm, reduce, MatLayout};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A fully connected layer (Keras `Dense`). Built with a builder, then given its weights by
/// [`Dense::build`] (or by [`crate::train::Sequential::add`], which knows the input size).
///
/// ```
/// use neurite::{nn::{Activation, Dense}, Rng};
/// let layer = Dense::new(50).activation(Activation::Sigmoid).input_shape(784).build(&mut Rng::new(0))?;
/// assert_eq!(layer.param_count(), 784 * 50 + 50);
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dense {
    config: DenseConfig,
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
            weight: None,
            bias: None,
        }
    }

    /// A layer from its configuration (weights not yet built).
    pub fn from_config(config: DenseConfig) -> Dense {
        Dense { config, weight: None, bias: None }
    }

    /// A built layer with given parameters: `weight` of shape (inputs, outputs), `bias` of
    /// shape (outputs,).
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
        layer.weight = Some(Var::parameter(weight.contiguous()));
        layer.bias = bias.map(|b| Var::parameter(b.contiguous()));
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

    /// Draws the parameters; the number of inputs must be known.
    pub fn build(mut self, rng: &mut Rng) -> Result<Dense> {
        let inputs = self.config.input_dim.ok_or_else(|| {
            Error::Value(format!(
                "Dense({}): the number of inputs is unknown; call input_shape first",
                self.config.units
            ))
        })?;
        self.build_for(inputs, rng)?;
        Ok(self)
    }

    /// Draws the parameters for `inputs` inputs.
    pub fn build_for(&mut self, inputs: usize, rng: &mut Rng) -> Result<()> {
        let c = &mut self.config;
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
        c.input_dim = Some(inputs);
        let w = c.kernel_initializer.init(&[inputs, c.units], inputs, c.units, rng);
        self.weight = Some(Var::parameter(w));
        self.bias = c.use_bias.then(|| Var::parameter(c.bias_initializer.init(&[c.units], inputs, c.units, rng)));
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &DenseConfig {
        &self.config
    }

    /// Renames the layer (Sequential names unnamed layers `dense`, `dense_1`, ...).
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

    fn built_weight(&self) -> Result<&Var> {
        self.weight.as_ref().ok_or_else(|| Error::Value(format!("Dense({}): not built yet", self.config.units)))
    }

    fn check_rows(&self, op: &str, x_len: usize, rows: usize, out_len: usize) -> Result<usize> {
        let inputs = self.config.input_dim.unwrap_or(0);
        if x_len != rows * inputs || out_len != rows * self.config.units {
            return Err(Error::Shape(format!(
                "Dense.{op}: {rows} rows need an input of {rows} x {inputs} and an output of {rows} x {}, got buffers of {x_len} and {out_len}",
                self.config.units
            )));
        }
        Ok(inputs)
    }

    /// Fast path, forward: `out = h(x W + b)` for `rows` row-major inputs, written into a
    /// preallocated `out` (rows x units), with the layer's own parameters. With
    /// `activate == false` the activation is left out (for a fused softmax + cross-entropy).
    pub fn forward_rows(&self, x: &[f32], rows: usize, out: &mut [f32], activate: bool) -> Result<()> {
        let w = self.built_weight()?.value();
        let b = self.bias.as_ref().map(|b| b.value());
        self.forward_rows_with(
            w.contiguous().as_slice().unwrap_or(&[]),
            b.as_ref().and_then(|b| b.as_slice()),
            x,
            rows,
            out,
            activate,
        )
    }

    /// Fast path, forward, with the weight (inputs x units, row-major) and bias given as
    /// slices (the training engine keeps all parameters in one flat buffer). The GEMM writes
    /// `x W`; bias and activation then go over each row while it is still in cache.
    pub fn forward_rows_with(
        &self,
        weight: &[f32],
        bias: Option<&[f32]>,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
        activate: bool,
    ) -> Result<()> {
        let inputs = self.check_rows("forward_rows", x.len(), rows, out.len())?;
        let units = self.config.units;
        gemm(
            1.0,
            x,
            MatLayout::row_major(rows, inputs),
            weight,
            MatLayout::row_major(inputs, units),
            0.0,
            out,
            MatLayout::row_major(rows, units),
        )?;
        let act = self.config.activation;
        for row in out.chunks_exact_mut(units) {
            if let Some(b) = bias {
                reduce::add_row_vector(row, b);
            }
            if activate {
                act.forward_rows(row, units);
            }
        }
        Ok(())
    }

    /// Fast path, backward to the input: `grad_x = delta W^T` for `delta = dL/dz` of `rows`
    /// examples (the caller then applies the previous layer's activation derivative).
    pub fn input_gradient_rows(&self, weight: &[f32], delta: &[f32], rows: usize, grad_x: &mut [f32]) -> Result<()> {
        let inputs = self.check_rows("input_gradient_rows", grad_x.len(), rows, delta.len())?;
        let units = self.config.units;
        let wl = MatLayout::row_major(inputs, units);
        gemm(
            1.0,
            delta,
            MatLayout::row_major(rows, units),
            weight,
            wl.t(),
            0.0,
            grad_x,
            MatLayout::row_major(rows, inputs),
        )
    }

    /// Fast path, weight gradient for the weight rows `first_input..first_input + count`:
    /// `grad_w = x[:, those inputs]^T delta`, written (or with `accumulate`, added) into
    /// `grad_w` (count x units). Splitting by weight rows lets threads share the work with
    /// no reduction afterwards.
    #[allow(clippy::too_many_arguments)]
    pub fn weight_gradient_rows(
        &self,
        x: &[f32],
        delta: &[f32],
        rows: usize,
        first_input: usize,
        grad_w: &mut [f32],
        accumulate: bool,
    ) -> Result<()> {
        let inputs = self.check_rows("weight_gradient_rows", x.len(), rows, delta.len())?;
        let units = self.config.units;
        let count = grad_w.len() / units.max(1);
        if first_input + count > inputs || grad_w.len() != count * units {
            return Err(Error::Shape(format!(
                "Dense.weight_gradient_rows: rows {first_input}..{} of a {inputs} x {units} weight into a buffer of {}",
                first_input + count,
                grad_w.len()
            )));
        }
        // x^T restricted to the chosen inputs: element (i, r) is x[r, first_input + i].
        let xt = MatLayout { rows: count, cols: rows, row_stride: 1, col_stride: inputs, offset: first_input };
        let beta = if accumulate { 1.0 } else { 0.0 };
        gemm(1.0, x, xt, delta, MatLayout::row_major(rows, units), beta, grad_w, MatLayout::row_major(count, units))
    }

    /// Fast path, backward of the whole layer from `delta = dL/dz`, with its own parameters:
    /// `grad_w = x^T delta`, `grad_b` = column sums of `delta`, and `grad_x = delta W^T`
    /// when asked for.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_rows(
        &self,
        x: &[f32],
        rows: usize,
        delta: &[f32],
        grad_w: &mut [f32],
        grad_b: &mut [f32],
        grad_x: Option<&mut [f32]>,
    ) -> Result<()> {
        self.weight_gradient_rows(x, delta, rows, 0, grad_w, false)?;
        if self.config.use_bias {
            reduce::col_sums(delta, self.config.units, grad_b, 0.0);
        }
        if let Some(gx) = grad_x {
            let w = self.built_weight()?.value().contiguous();
            self.input_gradient_rows(w.as_slice().unwrap_or(&[]), delta, rows, gx)?;
        }
        Ok(())
    }
}

impl Module for Dense {
    /// `h(x W + b)` on autograd variables; `x` is (batch, inputs) or (inputs,).
    fn forward(&self, x: &Var) -> Result<Var> {
        let w = self.built_weight()?;
        let shape = x.shape();
        let inputs = self.config.input_dim.unwrap_or(0);
        if shape.last() != Some(&inputs) {
            return Err(Error::Shape(format!(
                "{}: expected inputs with {inputs} features, got shape {}",
                self.config.name.as_deref().unwrap_or("Dense"),
                shape_str(&shape)
            )));
        }
        let mut z = x.matmul(w)?;
        if let Some(b) = &self.bias {
            z = z.add(b)?;
        }
        self.config.activation.apply(&z)
    }

    fn parameters(&self) -> Vec<Var> {
        self.weight.iter().chain(self.bias.iter()).cloned().collect()
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
