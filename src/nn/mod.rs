//! Neurons, layers, activations, losses and initialisers.
//!
//! Each piece works two ways over the same kernels: on [`Var`]s, recording the
//! graph for a PyTorch-style hand-written loop, and on preallocated row-major buffers for the
//! fast training path of [`crate::train`], which does the backward pass itself.
//!
//! ```
//! use neurite::{autograd::Var, nn::{Activation, Dense, Module}, Rng, Tensor};
//! let mut rng = Rng::new(0);
//! let layer = Dense::new(3).activation(Activation::Sigmoid).input_shape(2).build(&mut rng)?;
//! let y = layer.forward(&Var::constant(Tensor::matrix([[1.0, 0.5]])))?;
//! assert_eq!(y.shape(), vec![1, 3]);
//! # Ok::<(), neurite::Error>(())
//! ```

mod activation;
pub mod dense;
mod init;
mod loss;

pub use activation::Activation;
pub use dense::{Dense, Linear};
pub use init::Initializer;
pub(crate) use loss::count_correct;
pub use loss::{accuracy, zero_one_loss, Loss, Targets};

use crate::autograd::Var;
use crate::error::Result;

/// Anything with parameters that maps a batch to a batch: the PyTorch `nn.Module` idea.
pub trait Module {
    /// The output for input `x` (recorded in the graph when `x` or a parameter needs grad).
    fn forward(&self, x: &Var) -> Result<Var>;
    /// The trainable parameters, in a fixed order.
    fn parameters(&self) -> Vec<Var>;
}
