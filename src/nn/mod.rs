//! Neurons, layers, activations, losses and initialisers.
//!
//! Each layer and each loss writes its arithmetic once, on row-major buffers. The autograd
//! path runs it as one operation per layer or loss (a PyTorch-style hand-written loop over
//! [`Var`]s), and the training engine of [`crate::train`] schedules the same functions across
//! threads. Each activation is defined once, in [`crate::kernels::activation`].
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

use serde::{Deserialize, Serialize};

pub use activation::Activation;
pub(crate) use dense::{Activate, InputRows};
pub use dense::{Dense, DenseConfig, Linear};
pub use init::Initializer;
pub use loss::{accuracy, zero_one_loss, Loss};
pub(crate) use loss::{count_correct, Targets};

use crate::autograd::Var;
use crate::error::Result;

/// Anything with parameters that maps a batch to a batch: the PyTorch `nn.Module` idea.
pub trait Module {
    /// The output for input `x` (recorded in the graph when `x` or a parameter needs grad).
    fn forward(&self, x: &Var) -> Result<Var>;
    /// The trainable parameters, in a fixed order.
    fn parameters(&self) -> Vec<Var>;
}

/// One layer of a model as data, tagged as Keras tags its layer configurations
/// (`{"class_name": "Dense", "config": {...}}`): what model files, checkpoints, import and
/// export read and write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class_name", content = "config")]
pub enum LayerConfig {
    /// A fully connected layer.
    Dense(DenseConfig),
}
