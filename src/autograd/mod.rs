//! Reverse-mode automatic differentiation over tensor operations, and the [`ParamStore`] that
//! holds a model's parameters.
//!
//! A [`Var`] is a tensor that remembers how it was computed. Operations on `Var`s run the
//! [`Tensor`] operation (and so the same kernels) and record an edge in a graph; calling
//! [`Var::backward`] walks that graph from the output back to the leaves, applying the chain
//! rule, and *adds* each gradient into the leaf's `.grad()` as PyTorch does (call
//! [`Var::zero_grad`] between steps). Broadcasting is undone in the backward pass by summing
//! over the broadcast axes. A layer or a loss is one operation whose backward rule is its own
//! row function ([`Var::custom`]); a parameter of a model is a `Var` that reads and writes the
//! model's [`ParamStore`].
//!
//! ```
//! use neurite::{autograd::Var, Tensor};
//! // y = sum(w * x + b); dy/dw = x, dy/db = number of elements b was broadcast over.
//! let w = Var::parameter(Tensor::vector(&[1.0, 2.0, 3.0]));
//! let b = Var::parameter(Tensor::scalar(0.5));
//! let x = Var::constant(Tensor::vector(&[4.0, 5.0, 6.0]));
//! let y = w.mul(&x)?.add(&b)?.sum()?;
//! y.backward()?;
//! assert_eq!(w.grad().unwrap().to_vec(), vec![4.0, 5.0, 6.0]);
//! assert_eq!(b.grad().unwrap().item()?, 3.0);
//! # Ok::<(), neurite::Error>(())
//! ```

mod gradcheck;
mod operators;
mod ops;
mod store;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub use gradcheck::{gradcheck, gradcheck_f32, GradcheckReport};
pub use ops::{BackwardFn, Op};
pub use store::{ParamInfo, ParamStore};

use crate::error::{shape_str, Error, Result};
use crate::tensor::Tensor;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether operations on this thread record the graph (false inside [`no_grad`]).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` without recording any graph, as `with torch.no_grad():` does: results are
/// constants, which saves memory and time in evaluation and in optimiser updates.
///
/// ```
/// use neurite::{autograd::{no_grad, Var}, Tensor};
/// let w = Var::parameter(Tensor::ones(&[2]));
/// let y = no_grad(|| w.mul_scalar(3.0))?;
/// assert!(!y.requires_grad());
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(false)));
    f()
}

/// Turns graph recording on this thread on or off, returning the previous setting: the
/// function behind `torch.set_grad_enabled` and a `with torch.no_grad():` block that a front
/// end enters and leaves in two calls (prefer [`no_grad`] in Rust, which restores it itself).
pub fn set_grad_enabled(enabled: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(enabled))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The guard of a lock of a `Var`. A lock is poisoned only when a thread panics while holding
/// it, and nothing that can panic runs under these locks: they are held to clone, assign or
/// add a tensor (which report their errors as values), and for neurite's own optimiser
/// updates ([`Var::update_in_place`] is not public). So there is no poisoned state to report.
fn unpoisoned<G>(result: std::sync::LockResult<G>) -> G {
    result.unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where a variable's value lives.
enum Value {
    /// In the node itself.
    Owned(RwLock<Tensor>),
    /// In a parameter store, as its tensor number `index`.
    Stored(ParamStore, usize),
}

struct Node {
    id: u64,
    value: Value,
    requires_grad: bool,
    grad: Mutex<Option<Tensor>>,
    op: Option<Op>,
}

/// A tensor in the autograd graph (see the [module documentation](self)).
///
/// Cloning a `Var` is cheap and gives another handle to the same node: parameters are
/// shared between a model and its optimiser this way.
#[derive(Clone)]
pub struct Var(Arc<Node>);

impl Var {
    fn from_node(value: Tensor, requires_grad: bool, op: Option<Op>) -> Var {
        Var(Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            value: Value::Owned(RwLock::new(value)),
            requires_grad,
            grad: Mutex::new(None),
            op,
        }))
    }

    /// A leaf that needs a gradient: a weight or a bias (`requires_grad=True`).
    pub fn parameter(value: Tensor) -> Var {
        Var::from_node(value, true, None)
    }

    /// A parameter whose value is tensor `index` of `store`.
    pub(crate) fn stored(store: ParamStore, index: usize) -> Var {
        Var(Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            value: Value::Stored(store, index),
            requires_grad: true,
            grad: Mutex::new(None),
            op: None,
        }))
    }

    /// The store and the tensor number, for a parameter that lives in a [`ParamStore`].
    pub fn store_slot(&self) -> Option<(&ParamStore, usize)> {
        match &self.0.value {
            Value::Stored(store, index) => Some((store, *index)),
            Value::Owned(_) => None,
        }
    }

    /// A leaf without gradient: inputs, targets, constants.
    pub fn constant(value: Tensor) -> Var {
        Var::from_node(value, false, None)
    }

    /// The result of an operation: recorded in the graph when grad mode is on and an input
    /// needs a gradient, else a constant.
    pub(crate) fn from_op(value: Tensor, op: Op) -> Var {
        if is_grad_enabled() && op.inputs().iter().any(|v| v.requires_grad()) {
            Var::from_node(value, true, Some(op))
        } else {
            Var::constant(value)
        }
    }

    /// A new operation defined by its value and a backward function, as
    /// `torch.autograd.Function`: `backward` receives the gradient of the output and
    /// returns one gradient per input (`None` where an input needs none).
    pub fn custom(name: &'static str, inputs: Vec<Var>, value: Tensor, backward: BackwardFn) -> Var {
        Var::from_op(value, Op::Custom { name, inputs, backward, described: None })
    }

    /// [`Var::custom`] with a description an exporter can read (a layer's configuration as
    /// JSON: the traced ONNX export writes a convolution or a pooling from it).
    pub fn custom_described(
        name: &'static str,
        inputs: Vec<Var>,
        value: Tensor,
        backward: BackwardFn,
        described: String,
    ) -> Var {
        Var::from_op(value, Op::Custom { name, inputs, backward, described: Some(described.into()) })
    }

    /// The current value (a cheap handle on shared storage; a copy for a parameter that
    /// lives in a [`ParamStore`]).
    pub fn value(&self) -> Tensor {
        match &self.0.value {
            Value::Owned(v) => unpoisoned(v.read()).clone(),
            Value::Stored(store, index) => store.tensor_unchecked(*index),
        }
    }

    /// Replaces the value in place, keeping the node's identity. The new value must have the
    /// same shape.
    pub fn set_value(&self, value: Tensor) -> Result<()> {
        match &self.0.value {
            Value::Owned(v) => {
                let mut slot = unpoisoned(v.write());
                if slot.shape() != value.shape() {
                    return Err(Error::Shape(format!(
                        "set_value: new value of shape {} for a variable of shape {}",
                        shape_str(value.shape()),
                        shape_str(slot.shape())
                    )));
                }
                *slot = value.contiguous();
                Ok(())
            }
            Value::Stored(store, index) => store.set_index(*index, &value),
        }
    }

    /// Runs `f` on the values, row-major, for an in-place update (an optimiser's step): no
    /// copy when nothing else shares them, and straight in the store for a stored parameter.
    /// Only neurite's own updates run here, and they cannot panic (see [`unpoisoned`]).
    pub(crate) fn update_in_place<R>(&self, f: impl FnOnce(&mut [f32]) -> R) -> Result<R> {
        match &self.0.value {
            Value::Owned(v) => Ok(f(unpoisoned(v.write()).data_mut())),
            Value::Stored(store, index) => store.update_index(*index, f),
        }
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        match &self.0.value {
            Value::Owned(v) => unpoisoned(v.read()).shape().to_vec(),
            Value::Stored(store, index) => store.shape_unchecked(*index),
        }
    }

    /// Whether gradients flow to or through this variable.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// True for variables made by `parameter` or `constant` rather than by an operation.
    pub fn is_leaf(&self) -> bool {
        self.0.op.is_none()
    }

    /// The operation that produced this variable, if any.
    pub fn op(&self) -> Option<&Op> {
        self.0.op.as_ref()
    }

    /// The accumulated gradient of a leaf after `backward` (None before, or after `zero_grad`).
    pub fn grad(&self) -> Option<Tensor> {
        unpoisoned(self.0.grad.lock()).clone()
    }

    /// Replaces the accumulated gradient (PyTorch's `p.grad = g`, `p.grad.zero_()`); `None`
    /// clears it. A gradient must have the variable's shape.
    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            let shape = self.shape();
            if g.shape() != shape.as_slice() {
                return Err(Error::Shape(format!(
                    "set_grad: a gradient of shape {} for a variable of shape {}",
                    shape_str(g.shape()),
                    shape_str(&shape)
                )));
            }
        }
        *unpoisoned(self.0.grad.lock()) = grad.map(|g| g.contiguous());
        Ok(())
    }

    /// Clears the accumulated gradient (PyTorch's `zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        *unpoisoned(self.0.grad.lock()) = None;
    }

    /// The same value, cut from the graph: no gradient flows through the result.
    pub fn detach(&self) -> Var {
        Var::constant(self.value())
    }

    /// A stable identity for this node (used to key optimiser state and gradients).
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// Backpropagates from a variable holding a single value (a loss).
    pub fn backward(&self) -> Result<()> {
        let value = self.value();
        if value.size() != 1 {
            return Err(Error::Autograd(format!(
                "backward: the output has shape {}; only a single value can seed the gradient \
                 implicitly, use backward_with(gradient)",
                shape_str(value.shape())
            )));
        }
        self.backward_with(&Tensor::ones(value.shape()))
    }

    /// Backpropagates `gradient` (of this variable's shape) through the graph.
    pub fn backward_with(&self, gradient: &Tensor) -> Result<()> {
        if !self.requires_grad() {
            return Err(Error::Autograd(
                "backward: this variable does not require grad (no parameter contributed to it, \
                 or it was computed under no_grad)"
                    .into(),
            ));
        }
        if gradient.shape() != self.shape().as_slice() {
            return Err(Error::Shape(format!(
                "backward_with: gradient of shape {} for a variable of shape {}",
                shape_str(gradient.shape()),
                shape_str(&self.shape())
            )));
        }
        let order = self.topological_order();
        let mut grads: HashMap<u64, Tensor> = HashMap::new();
        grads.insert(self.id(), gradient.clone());
        // The rules themselves run without recording: gradients are plain tensors.
        no_grad(|| {
            for var in order.iter().rev() {
                let Some(grad) = grads.remove(&var.id()) else { continue };
                match &var.0.op {
                    None => {
                        let mut slot = unpoisoned(var.0.grad.lock());
                        *slot = Some(match slot.take() {
                            Some(old) => old.add(&grad)?,
                            None => grad.contiguous(),
                        });
                    }
                    Some(op) => {
                        let input_grads = op.backward(&grad, &var.value())?;
                        for (input, g) in op.inputs().into_iter().zip(input_grads) {
                            let Some(g) = g else { continue };
                            if !input.requires_grad() {
                                continue;
                            }
                            if g.shape() != input.shape().as_slice() {
                                return Err(Error::Autograd(format!(
                                    "the backward rule of {} gave a gradient of shape {} for an input of shape {}",
                                    op.name(),
                                    shape_str(g.shape()),
                                    shape_str(&input.shape())
                                )));
                            }
                            let entry = grads.remove(&input.id());
                            grads.insert(
                                input.id(),
                                match entry {
                                    Some(old) => old.add(&g)?,
                                    None => g,
                                },
                            );
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// Nodes that need a gradient, each after all of its inputs (iterative DFS, so deep
    /// graphs cannot overflow the stack).
    fn topological_order(&self) -> Vec<Var> {
        let mut order = Vec::new();
        let mut visited = HashSet::new();
        let mut stack: Vec<(Var, bool)> = vec![(self.clone(), false)];
        while let Some((var, expanded)) = stack.pop() {
            if expanded {
                order.push(var);
                continue;
            }
            if !var.requires_grad() || !visited.insert(var.id()) {
                continue;
            }
            stack.push((var.clone(), true));
            if let Some(op) = &var.0.op {
                for input in op.inputs() {
                    if input.requires_grad() && !visited.contains(&input.id()) {
                        stack.push((input, false));
                    }
                }
            }
        }
        order
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op =
            self.0.op.as_ref().map(|o| o.name()).unwrap_or(if self.requires_grad() { "parameter" } else { "constant" });
        write!(f, "Var({}, {op})", self.value())
    }
}
