//! # neurite
//!
//! Neural networks from the tensor up, in the order a learner meets them and the order the
//! code depends on them:
//!
//! | module | job |
//! | --- | --- |
//! | [`kernels`] | the arithmetic on slices: GEMM, each activation's value and derivative, softmax, sums |
//! | [`tensor`] | n-dimensional f32 arrays with NumPy/PyTorch semantics |
//! | [`autograd`] | reverse-mode differentiation, `gradcheck`, and the [`ParamStore`] whose named tensors are a model's parameters |
//! | [`nn`] | the dense layer, losses, initialisers, each written once on row buffers |
//! | [`optim`] | SGD, momentum, AdaGrad, RMSprop, Adam, and their state by name |
//! | [`data`] | IDX files, MNIST, the bundled digits, batches of bytes, pictures into model inputs |
//! | [`train`] | `Sequential`, the fit loop, callbacks, the engine that schedules the layers' arithmetic on threads |
//! | [`io`] | models that outlive the process: neurite's safetensors file and checkpoints, NumPy, PyTorch and ONNX, both ways |
//! | [`teach`] | the notes' small models: the perceptron, logic gates, logistic regression on MNIST, their scores |
//! | `plot` | pictures (PNG, SVG): activations, history curves, weight images, layer activations, errors (feature `plot`) |
//!
//! Each module uses only those above it. The `neurite` command is a separate crate (`cli/`)
//! over this library. Without default features (`threads`, `download`, `plot`) the library
//! builds for WebAssembly.
//!
//! ```
//! use neurite::Tensor;
//! let x = Tensor::vector(&[-1.0, 1.0, 2.0]);
//! let y = x.sigmoid();
//! assert!(y.allclose(&Tensor::vector(&[0.26894142, 0.73105858, 0.88079708]), 1e-6, 0.0));
//! ```

pub mod autograd;
pub mod data;
pub mod error;
pub(crate) mod fs;
pub mod io;
pub mod kernels;
pub mod nn;
pub mod optim;
#[cfg(feature = "plot")]
pub mod plot;
pub mod rng;
pub mod teach;
pub mod tensor;
pub mod train;

pub use autograd::{ParamStore, Var};
pub use error::{Error, Result};
pub use rng::Rng;
pub use tensor::Tensor;

// The README's examples are compiled and run as doctests, so the tour cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
