//! # neurite
//!
//! Neural networks from the tensor up, in the order a learner meets them and the order the
//! code depends on them:
//!
//! | module | job |
//! | --- | --- |
//! | [`tensor`] | n-dimensional f32 arrays with NumPy/PyTorch semantics |
//! | [`kernels`] | the arithmetic on slices: GEMM, activations, softmax, sums |
//! | [`autograd`] | reverse-mode differentiation over tensor operations, and `gradcheck` |
//! | [`nn`] | activations, the dense layer, losses, initialisers |
//! | [`optim`] | SGD, momentum, AdaGrad, RMSprop, Adam |
//! | [`data`] | IDX files, MNIST, the bundled digits, batches of bytes |
//! | [`train`] | `Sequential`, the fit loop, callbacks, the fast training engine |
//! | [`io`] | model files (safetensors with the architecture as metadata) |
//! | [`cli`] | the `neurite` command, a thin layer over the rest |
//!
//! ```
//! use neurite::Tensor;
//! let x = Tensor::vector(&[-1.0, 1.0, 2.0]);
//! let y = x.sigmoid();
//! assert!(y.allclose(&Tensor::vector(&[0.26894142, 0.73105858, 0.88079708]), 1e-6, 0.0));
//! ```

pub mod autograd;
pub mod cli;
pub mod data;
pub mod error;
pub mod fs;
pub mod io;
pub mod kernels;
pub mod nn;
pub mod optim;
pub mod rng;
pub mod tensor;
pub mod train;

pub use autograd::Var;
pub use error::{Error, Result};
pub use rng::Rng;
pub use tensor::Tensor;

// The README's examples are compiled and run as doctests, so the tour cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
