//! The arithmetic itself, on plain slices: matrix multiplication, activations and their
//! derivatives, softmax and the cross-entropy gradient, bias and column sums.
//!
//! This is the one copy of the maths. [`crate::Tensor`] operations, the autograd backward
//! rules and the fast training path of [`crate::train`] all call these functions, so a
//! kernel made faster here is faster everywhere.

pub mod activation;
pub mod matmul;
pub mod reduce;
pub mod softmax;

pub use matmul::{gemm, MatLayout};
