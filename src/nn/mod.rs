//! Neurons, layers, activations, losses and initialisers.
//!
//! Every layer kind is one file on one contract ([`Layer`], in `layer.rs`), registered by one
//! line in `registry.rs` ([`LayerConfig`]): Dense, Dropout, BatchNormalization, Flatten,
//! Reshape, Conv2D, MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D (the last four
//! share the window geometry of `window.rs`). Each layer and each loss writes its arithmetic once, on row-major buffers. The autograd
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
mod average_pooling;
mod batch_norm;
mod conv2d;
pub mod dense;
mod dropout;
mod flatten;
mod global_average_pooling;
mod init;
pub mod layer;
mod loss;
mod max_pooling;
mod registry;
mod reshape;
mod window;

pub use activation::Activation;
pub use average_pooling::AveragePooling2D;
pub use batch_norm::{BatchNormalization, BatchNormalizationConfig};
pub use conv2d::{Conv2D, Conv2DConfig};
pub(crate) use dense::{Activate, ByteRows, InputRows};
pub use dense::{Dense, DenseConfig, Linear};
pub use dropout::{Dropout, DropoutConfig};
pub use flatten::{Flatten, FlattenConfig};
pub use global_average_pooling::{GlobalAveragePooling2D, GlobalAveragePooling2DConfig};
pub use init::Initializer;
pub use layer::{forward_var, Layer, Mode, Noise, ParamSpec};
pub use loss::{accuracy, zero_one_loss, Loss};
pub(crate) use loss::{count_correct, Targets};
pub use max_pooling::MaxPooling2D;
pub use registry::LayerConfig;
pub use reshape::{Reshape, ReshapeConfig};
pub(crate) use window::pair as window_pair;
pub(crate) use window::plan as window_plan;
pub use window::{Padding, PoolingConfig};

use crate::autograd::Var;
use crate::error::Result;

/// Anything with parameters that maps a batch to a batch: the PyTorch `nn.Module` idea.
pub trait Module {
    /// The output for input `x` (recorded in the graph when `x` or a parameter needs grad).
    fn forward(&self, x: &Var) -> Result<Var>;
    /// The trainable parameters, in a fixed order.
    fn parameters(&self) -> Vec<Var>;
}
