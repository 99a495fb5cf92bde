//! The arithmetic itself, on plain slices: matrix multiplication (through the GEMM crates, or
//! skipping the zeros of a mostly-zero left operand in [`sparse`]), each activation's value and
//! derivative (defined once, in [`activation`]), softmax and the cross-entropy losses fused
//! with their gradients, column sums.
//!
//! [`crate::Tensor`] operations, the autograd operations and the layers' and losses' row
//! functions of [`crate::nn`] (which the training engine schedules) all call these functions,
//! so a kernel made faster here is faster everywhere. Nothing here knows about tensors.

pub mod activation;
pub mod dispatch;
pub mod exp;
pub mod matmul;
pub mod reduce;
pub mod softmax;
pub mod sparse;
pub mod window;

pub use matmul::{gemm, MatLayout};
