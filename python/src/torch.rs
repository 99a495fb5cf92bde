//! The crossing under `neurite.torch`: the library's autograd variable ([`Var`]), its random
//! generator, the PyTorch-style optimiser driver and the state_dict files, each call one
//! operation of the library. The Python package `neurite/torch/` holds dtypes, indexing,
//! printing and PyTorch's names; every number it computes is computed here.

#[allow(unused_imports)]
use super::*;

use neurite::autograd::{self, Var};
use neurite::optim::Optim;
use neurite::Rng;

/// One autograd variable of the library (`neurite._neurite.Var`): a float32 tensor that
/// remembers the operation that made it. `neurite.torch.Tensor` holds one.
#[pyclass(name = "Var", module = "neurite._neurite", frozen)]
pub(crate) struct PyVar {
    pub(crate) var: Var,
}

fn wrap(var: Var) -> PyVar {
    PyVar { var }
}

/// A library error as PyTorch raises it: `IndexError` for an index, `RuntimeError` for the
/// rest (shapes that do not fit, values out of range), with the library's message.
fn torch_err(e: neurite::Error) -> PyErr {
    match e {
        neurite::Error::Index(_) => PyIndexError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

fn ok(result: neurite::Result<Var>) -> PyResult<PyVar> {
    result.map(wrap).map_err(torch_err)
}

fn constant(result: neurite::Result<Tensor>) -> PyResult<PyVar> {
    result.map(|t| wrap(Var::constant(t))).map_err(torch_err)
}

#[pymethods]
impl PyVar {
    /// A variable from any array of numbers (copied as float32), a leaf that requires a
    /// gradient when `requires_grad`.
    #[staticmethod]
    #[pyo3(signature = (array, requires_grad = false))]
    fn from_numpy(array: &Bound<'_, PyAny>, requires_grad: bool) -> PyResult<PyVar> {
        let t = tensor_from_numpy("tensor", array)?;
        Ok(wrap(if requires_grad { Var::parameter(t) } else { Var::constant(t) }))
    }

    /// A constant filled with `value`.
    #[staticmethod]
    fn full(shape: Vec<usize>, value: f32) -> PyResult<PyVar> {
        check_size(&shape)?;
        Ok(wrap(Var::constant(Tensor::full(&shape, value))))
    }

    /// `arange(start, end, step)` as the library computes it.
    #[staticmethod]
    fn arange(start: f32, end: f32, step: f32) -> PyResult<PyVar> {
        constant(Tensor::arange_step(start, end, step))
    }

    /// `linspace(start, end, steps)`.
    #[staticmethod]
    fn linspace(start: f32, end: f32, steps: usize) -> PyResult<PyVar> {
        check_size(&[steps])?;
        Ok(wrap(Var::constant(Tensor::linspace(start, end, steps))))
    }

    /// The values as a new float32 NumPy array.
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        tensor_to_numpy(py, &self.var.value())
    }

    /// The shape.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.var.shape()
    }

    /// The single value of a one-element variable.
    fn item(&self) -> PyResult<f32> {
        self.var.value().item().map_err(torch_err)
    }

    #[getter]
    fn requires_grad(&self) -> bool {
        self.var.requires_grad()
    }

    #[getter]
    fn is_leaf(&self) -> bool {
        self.var.is_leaf()
    }

    /// The operation that made this variable (`None` for a leaf).
    #[getter]
    fn op_name(&self) -> Option<&'static str> {
        self.var.op().map(|op| op.name())
    }

    /// A stable identity of the node.
    #[getter]
    fn id(&self) -> u64 {
        self.var.id()
    }

    /// The accumulated gradient, a constant (`None` before `backward`).
    fn grad(&self) -> Option<PyVar> {
        self.var.grad().map(|g| wrap(Var::constant(g)))
    }

    /// Replaces the accumulated gradient with `grad`'s value (`None` clears it).
    #[pyo3(signature = (grad))]
    fn set_grad(&self, grad: Option<&PyVar>) -> PyResult<()> {
        self.var.set_grad(grad.map(|g| g.var.value())).map_err(torch_err)
    }

    /// Backpropagates from this variable: a single value, or `gradient` of its shape.
    #[pyo3(signature = (gradient = None))]
    fn backward(&self, py: Python<'_>, gradient: Option<&PyVar>) -> PyResult<()> {
        let var = self.var.clone();
        let seed = gradient.map(|g| g.var.value());
        py.detach(|| match seed {
            None => var.backward(),
            Some(g) => var.backward_with(&g),
        })
        .map_err(torch_err)
    }

    /// The same values, cut from the graph.
    fn detach(&self) -> PyVar {
        wrap(self.var.detach())
    }

    /// A new leaf with these values that requires a gradient (`requires_grad_()`).
    fn as_parameter(&self) -> PyVar {
        wrap(Var::parameter(self.var.value().contiguous()))
    }

    /// Replaces the values in place with `other`'s (same shape), keeping the node: what
    /// PyTorch's in-place operations and `load_state_dict` do to a parameter.
    fn set_value(&self, other: &PyVar) -> PyResult<()> {
        self.var.set_value(other.var.value()).map_err(torch_err)
    }

    /// A contiguous copy of the values (`clone()`), recorded as a reshape to the same shape
    /// so that gradients flow through it.
    fn copy(&self) -> PyResult<PyVar> {
        let shape: Vec<isize> = self.var.shape().iter().map(|&d| d as isize).collect();
        ok(self.var.reshape(&shape))
    }

    fn add(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.add(&other.var))
    }
    fn sub(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.sub(&other.var))
    }
    fn mul(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.mul(&other.var))
    }
    fn div(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.div(&other.var))
    }
    fn pow(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.pow(&other.var))
    }
    fn maximum(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.maximum(&other.var))
    }
    fn minimum(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.minimum(&other.var))
    }
    fn add_scalar(&self, s: f32) -> PyResult<PyVar> {
        ok(self.var.add_scalar(s))
    }
    fn mul_scalar(&self, s: f32) -> PyResult<PyVar> {
        ok(self.var.mul_scalar(s))
    }
    fn powf(&self, p: f32) -> PyResult<PyVar> {
        ok(self.var.powf(p))
    }
    fn neg(&self) -> PyResult<PyVar> {
        ok(self.var.neg())
    }
    fn exp(&self) -> PyResult<PyVar> {
        ok(self.var.exp())
    }
    fn log(&self) -> PyResult<PyVar> {
        ok(self.var.log())
    }
    fn sqrt(&self) -> PyResult<PyVar> {
        ok(self.var.sqrt())
    }
    fn abs(&self) -> PyResult<PyVar> {
        ok(self.var.abs())
    }
    fn clamp(&self, min: f32, max: f32) -> PyResult<PyVar> {
        ok(self.var.clamp(min, max))
    }
    fn sigmoid(&self) -> PyResult<PyVar> {
        ok(self.var.sigmoid())
    }
    fn tanh(&self) -> PyResult<PyVar> {
        ok(self.var.tanh())
    }
    fn relu(&self) -> PyResult<PyVar> {
        ok(self.var.relu())
    }
    fn softplus(&self) -> PyResult<PyVar> {
        ok(self.var.softplus())
    }
    fn leaky_relu(&self, alpha: f32) -> PyResult<PyVar> {
        ok(self.var.leaky_relu(alpha))
    }
    fn elu(&self, alpha: f32) -> PyResult<PyVar> {
        ok(self.var.elu(alpha))
    }
    fn softmax(&self, axis: isize) -> PyResult<PyVar> {
        ok(self.var.softmax(axis))
    }
    fn log_softmax(&self, axis: isize) -> PyResult<PyVar> {
        ok(self.var.log_softmax(axis))
    }
    fn matmul(&self, other: &PyVar) -> PyResult<PyVar> {
        ok(self.var.matmul(&other.var))
    }
    /// PyTorch's `linear`: `self W^T + b`, `W` of shape (out, in); one operation.
    #[pyo3(signature = (weight, bias = None))]
    fn linear(&self, weight: &PyVar, bias: Option<&PyVar>) -> PyResult<PyVar> {
        ok(self.var.linear(&weight.var, bias.map(|b| &b.var)))
    }
    /// Runs a layer of the library (its configuration as Keras' JSON, `{"class_name":
    /// "Conv2D", "config": {...}}`, built for examples of `input_shape`) on `self`, a batch,
    /// with `params` in the layer's order: one autograd operation whose forward and backward
    /// passes are the layer's own row functions (`nn::forward_var`).
    #[pyo3(signature = (config_json, input_shape, params, training))]
    fn layer(
        &self,
        config_json: &str,
        input_shape: Vec<usize>,
        params: Vec<PyRef<'_, PyVar>>,
        training: bool,
    ) -> PyResult<PyVar> {
        let config: neurite::nn::LayerConfig =
            serde_json::from_str(config_json).map_err(|e| value_err(format!("layer {config_json}: {e}")))?;
        let mut layer = config.into_layer();
        layer.build(&input_shape).map_err(torch_err)?;
        let params: Vec<Var> = params.iter().map(|p| p.var.clone()).collect();
        let mode = if training { neurite::nn::Mode::Training } else { neurite::nn::Mode::Inference };
        let noise = neurite::nn::Noise::new(0, 0, 0);
        ok(neurite::nn::forward_var(layer.as_ref(), &self.var, &params, mode, noise))
    }
    fn sum(&self) -> PyResult<PyVar> {
        ok(self.var.sum())
    }
    fn sum_axis(&self, axis: isize, keepdim: bool) -> PyResult<PyVar> {
        ok(self.var.sum_axis(axis, keepdim))
    }
    fn mean(&self) -> PyResult<PyVar> {
        ok(self.var.mean())
    }
    fn mean_axis(&self, axis: isize, keepdim: bool) -> PyResult<PyVar> {
        ok(self.var.mean_axis(axis, keepdim))
    }
    fn max(&self) -> PyResult<PyVar> {
        ok(self.var.max())
    }
    fn max_axis(&self, axis: isize, keepdim: bool) -> PyResult<PyVar> {
        ok(self.var.max_axis(axis, keepdim))
    }
    fn reshape(&self, shape: Vec<isize>) -> PyResult<PyVar> {
        ok(self.var.reshape(&shape))
    }
    fn squeeze_axis(&self, axis: isize) -> PyResult<PyVar> {
        ok(self.var.squeeze_axis(axis))
    }
    fn unsqueeze(&self, axis: isize) -> PyResult<PyVar> {
        ok(self.var.unsqueeze(axis))
    }
    fn transpose(&self, axis0: isize, axis1: isize) -> PyResult<PyVar> {
        ok(self.var.transpose(axis0, axis1))
    }
    fn permute(&self, order: Vec<usize>) -> PyResult<PyVar> {
        ok(self.var.permute(&order))
    }
    fn broadcast_to(&self, shape: Vec<usize>) -> PyResult<PyVar> {
        ok(self.var.broadcast_to(&shape))
    }
    fn narrow(&self, axis: isize, start: usize, len: usize) -> PyResult<PyVar> {
        ok(self.var.narrow(axis, start, len))
    }
    fn index_select(&self, axis: isize, indices: Vec<usize>) -> PyResult<PyVar> {
        ok(self.var.index_select(axis, &indices))
    }
    #[staticmethod]
    fn cat(vars: Vec<PyRef<'_, PyVar>>, axis: isize) -> PyResult<PyVar> {
        let vars: Vec<&Var> = vars.iter().map(|v| &v.var).collect();
        ok(Var::cat(&vars, axis))
    }
    #[staticmethod]
    fn stack(vars: Vec<PyRef<'_, PyVar>>, axis: isize) -> PyResult<PyVar> {
        let vars: Vec<&Var> = vars.iter().map(|v| &v.var).collect();
        ok(Var::stack(&vars, axis))
    }
    /// `where(cond, a, b)`, `cond`'s values read as true where not 0.
    #[staticmethod]
    fn where_cond(cond: &PyVar, a: &PyVar, b: &PyVar) -> PyResult<PyVar> {
        ok(Var::where_cond(&cond.var.value(), &a.var, &b.var))
    }

    /// An element-wise comparison (`gt`, `ge`, `lt`, `le`, `eq`, `ne`) as a constant of 0s
    /// and 1s: no gradient flows through a comparison.
    fn compare(&self, op: &str, other: &PyVar) -> PyResult<PyVar> {
        let (a, b) = (self.var.value(), other.var.value());
        constant(match op {
            "gt" => a.gt(&b),
            "ge" => a.ge(&b),
            "lt" => a.lt(&b),
            "le" => a.le(&b),
            "eq" => a.eq_elem(&b),
            "ne" => a.ne_elem(&b),
            _ => return Err(value_err(format!("compare: unknown comparison {op:?}"))),
        })
    }

    /// A value-only element-wise function with no gradient (`floor`, `ceil`, `round`,
    /// `sign`, `trunc`).
    fn value_map(&self, name: &str) -> PyResult<PyVar> {
        let v = self.var.value();
        Ok(wrap(Var::constant(match name {
            "floor" => v.map(f32::floor),
            "ceil" => v.map(f32::ceil),
            "trunc" => v.map(f32::trunc),
            "round" => v.round(),
            "sign" => v.sign(),
            _ => return Err(value_err(format!("value_map: unknown function {name:?}"))),
        })))
    }

    /// The flat index of the largest (or smallest) value, or the indices along `axis`
    /// (first of equal values, as NumPy and PyTorch).
    #[pyo3(signature = (axis = None, smallest = false))]
    fn arg_extreme(&self, axis: Option<isize>, smallest: bool) -> PyResult<Vec<usize>> {
        let v = self.var.value();
        match (axis, smallest) {
            (None, false) => v.argmax().map(|i| vec![i]),
            (None, true) => v.argmin().map(|i| vec![i]),
            (Some(a), false) => v.argmax_axis(a),
            (Some(a), true) => v.argmin_axis(a),
        }
        .map_err(torch_err)
    }

    /// The batch-mean cross-entropy of logits against class indices (PyTorch's
    /// `CrossEntropyLoss`): the library's fused softmax and cross-entropy.
    fn cross_entropy(&self, classes: &PyVar) -> PyResult<PyVar> {
        ok(Loss::SparseCategoricalCrossentropy.forward_logits(&self.var, Activation::Softmax, &classes.var.value()))
    }

    /// The batch-mean binary cross-entropy of logits against targets of the same shape
    /// (`BCEWithLogitsLoss`): the library's fused sigmoid and cross-entropy.
    fn binary_cross_entropy_logits(&self, targets: &PyVar) -> PyResult<PyVar> {
        ok(Loss::BinaryCrossentropy.forward_logits(&self.var, Activation::Sigmoid, &targets.var.value()))
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.var)
    }
}

/// A shape a user typed, checked before anything is allocated.
fn check_size(shape: &[usize]) -> PyResult<()> {
    const MAX_VALUES: usize = 1 << 34;
    let total = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match total {
        Some(n) if n <= MAX_VALUES => Ok(()),
        _ => Err(value_err(format!(
            "a tensor of shape {} is too large (more than {MAX_VALUES} values)",
            shape_of(shape)
        ))),
    }
}

/// Turns graph recording on this thread on or off; returns the previous setting.
#[pyfunction]
pub(crate) fn set_grad_enabled(enabled: bool) -> bool {
    autograd::set_grad_enabled(enabled)
}

/// Whether graph recording is on in this thread.
#[pyfunction]
pub(crate) fn is_grad_enabled() -> bool {
    autograd::is_grad_enabled()
}

/// The library's random generator (`torch.Generator`, `torch.manual_seed`).
#[pyclass(name = "Generator", module = "neurite._neurite")]
pub(crate) struct PyGenerator {
    rng: Rng,
}

#[pymethods]
impl PyGenerator {
    #[new]
    fn new(seed: u64) -> PyGenerator {
        PyGenerator { rng: Rng::new(seed) }
    }

    /// Starts the sequence again from `seed`.
    fn manual_seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// The generator's state, to restore later.
    fn get_state(&self) -> [u64; 4] {
        self.rng.state()
    }

    fn set_state(&mut self, state: [u64; 4]) -> PyResult<()> {
        self.rng = Rng::from_state(state).map_err(py_err)?;
        Ok(())
    }

    /// Uniform values in [low, high).
    fn uniform(&mut self, shape: Vec<usize>, low: f32, high: f32) -> PyResult<PyVar> {
        check_size(&shape)?;
        Ok(wrap(Var::constant(Tensor::uniform(&shape, low, high, &mut self.rng))))
    }

    /// Standard normal values.
    fn randn(&mut self, shape: Vec<usize>) -> PyResult<PyVar> {
        check_size(&shape)?;
        Ok(wrap(Var::constant(Tensor::randn(&shape, &mut self.rng))))
    }

    /// Whole numbers drawn uniformly from [low, high).
    fn randint(&mut self, shape: Vec<usize>, low: i64, high: i64) -> PyResult<PyVar> {
        check_size(&shape)?;
        if high <= low {
            return Err(value_err(format!("randint: high ({high}) must be greater than low ({low})")));
        }
        let span = (high - low) as u64;
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| (low + self.rng.below(span) as i64) as f32).collect();
        constant(Tensor::from_vec(values, &shape))
    }

    /// A random order of 0..n.
    fn randperm(&mut self, n: usize) -> PyResult<Vec<usize>> {
        check_size(&[n])?;
        let mut order: Vec<usize> = (0..n).collect();
        self.rng.shuffle(&mut order);
        Ok(order)
    }

    /// Dropout's mask: `scale` where a uniform draw is below `keep`, else 0.
    fn keep_mask(&mut self, shape: Vec<usize>, keep: f32, scale: f32) -> PyResult<PyVar> {
        check_size(&shape)?;
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| if self.rng.next_f32() < keep { scale } else { 0.0 }).collect();
        constant(Tensor::from_vec(values, &shape))
    }
}

/// The optimiser driver over autograd parameters (`torch.optim.*`): the library's [`Optim`]
/// with an [`Optimizer`] given as its JSON form.
#[pyclass(name = "Optim", module = "neurite._neurite")]
pub(crate) struct PyOptim {
    optim: Optim,
}

#[pymethods]
impl PyOptim {
    #[new]
    fn new(optimizer_json: &str, params: Vec<PyRef<'_, PyVar>>) -> PyResult<PyOptim> {
        let optimizer: Optimizer =
            serde_json::from_str(optimizer_json).map_err(|e| value_err(format!("optimizer {optimizer_json}: {e}")))?;
        optimizer.validate().map_err(py_err)?;
        let params = params.iter().map(|p| p.var.clone()).collect();
        Ok(PyOptim { optim: Optim::new(optimizer, params).map_err(py_err)? })
    }

    /// One update of every parameter that has a gradient.
    fn step(&mut self, py: Python<'_>) -> PyResult<()> {
        let optim = &mut self.optim;
        py.detach(|| optim.step()).map_err(py_err)
    }

    /// Takes a group's new hyperparameters, keeping the state (a scheduler's learning rate).
    /// Only the learning rate may change while training; anything else is refused by name.
    fn set_optimizer(&mut self, optimizer_json: &str) -> PyResult<()> {
        let new: Optimizer =
            serde_json::from_str(optimizer_json).map_err(|e| value_err(format!("optimizer {optimizer_json}: {e}")))?;
        new.validate().map_err(py_err)?;
        let lr = new.lr();
        if self.optim.state().optimizer().learning_rate(lr) != new.learning_rate(lr) {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "changing an optimizer's hyperparameters other than lr after its first step is not supported in neurite.torch (now {optimizer_json})"
            )));
        }
        self.optim.set_learning_rate(lr);
        Ok(())
    }
}

/// Writes a state_dict as `torch.save` does (PyTorch's zip, which `torch.load(path,
/// weights_only=True)` reads), atomically: `entries` are (name, variable, "float32" | "int64").
#[pyfunction]
pub(crate) fn save_state_dict(
    py: Python<'_>,
    path: PathBuf,
    entries: Vec<(String, PyRef<'_, PyVar>, String)>,
) -> PyResult<()> {
    let mut tensors = Vec::with_capacity(entries.len());
    for (name, var, kind) in &entries {
        let value = var.var.value();
        let value = match kind.as_str() {
            "int64" => io::TorchValue::I64 {
                shape: value.shape().to_vec(),
                values: value.to_vec().iter().map(|&v| v as i64).collect(),
            },
            _ => io::TorchValue::F32(value),
        };
        tensors.push((name.clone(), value));
    }
    py.detach(|| io::save_state_dict_pt(&tensors, None, &path)).map_err(py_err)
}

/// The named tensors of a state_dict file (PyTorch's zip, or safetensors), in file order:
/// (name, array, "float32" | "int64"), integer tensors exact as int64 arrays.
#[pyfunction]
pub(crate) fn load_state_dict<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<Vec<(String, Bound<'py, PyAny>, &'static str)>> {
    let tensors = py.detach(|| io::load_state_dict_values(&path)).map_err(py_err)?;
    let mut out = Vec::with_capacity(tensors.len());
    for (name, value) in tensors {
        match value {
            io::TorchValue::F32(t) => out.push((name, tensor_to_numpy(py, &t)?, "float32")),
            io::TorchValue::I64 { shape, values } => {
                let array = PyArray1::from_vec(py, values).reshape(shape)?.into_any();
                out.push((name, array, "int64"));
            }
        }
    }
    Ok(out)
}

/// Writes the graph that computed `outputs` from `inputs` as an ONNX file, atomically: the
/// library's traced export ([`io::save_graph_onnx`]), parameters as initializers by name.
#[pyfunction]
pub(crate) fn export_onnx_graph(
    py: Python<'_>,
    path: PathBuf,
    inputs: Vec<(String, PyRef<'_, PyVar>)>,
    outputs: Vec<(String, PyRef<'_, PyVar>)>,
    parameters: Vec<(String, PyRef<'_, PyVar>)>,
    dynamic_batch: bool,
) -> PyResult<()> {
    let named = |list: &[(String, PyRef<'_, PyVar>)]| -> Vec<(String, Var)> {
        list.iter().map(|(n, v)| (n.clone(), v.var.clone())).collect()
    };
    let (inputs, outputs, parameters) = (named(&inputs), named(&outputs), named(&parameters));
    py.detach(|| io::save_graph_onnx(&inputs, &outputs, &parameters, dynamic_batch, &path)).map_err(py_err)
}
