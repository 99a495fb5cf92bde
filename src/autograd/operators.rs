//! Arithmetic operators on [`Var`], so that a model reads like its formula.
//!
//! Every operation on variables records the graph and can fail on shapes, so every operator
//! gives a [`Result<Var>`](crate::Result), numbers included; a `Result<Var>` is accepted on
//! either side, so that a chain needs one `?` at the end. `-&v` is `Result<Var>` too.
//!
//! A dense layer with a sigmoid, its backward pass and its gradients:
//!
//! ```
//! use neurite::{autograd::Var, Tensor};
//! let x = Var::constant(Tensor::matrix([[1.0, 2.0], [3.0, 4.0]])); // 2 samples, 2 features
//! let w = Var::parameter(Tensor::matrix([[0.5], [-0.25]])); // 2 inputs, 1 unit
//! let b = Var::parameter(Tensor::vector(&[0.1]));
//! let y = (&x.matmul(&w)? + &b)?.sigmoid()?;
//! assert_eq!(y.shape(), vec![2, 1]);
//! // Mean squared error against targets, written with operators too.
//! let target = Var::constant(Tensor::matrix([[1.0], [0.0]]));
//! let diff = (&y - &target)?;
//! let loss = (&diff * &diff)?.mean()?;
//! loss.backward()?;
//! assert_eq!(w.grad().unwrap().shape(), &[2, 1]);
//! assert_eq!(b.grad().unwrap().shape(), &[1]);
//! // d loss / d b = mean(2 (y - t) y (1 - y)), summed over the batch the bias was broadcast to.
//! let (yv, tv) = (y.value().to_vec(), [1.0, 0.0]);
//! let want: f32 = (0..2).map(|i| (yv[i] - tv[i]) * yv[i] * (1.0 - yv[i])).sum();
//! assert!((b.grad().unwrap().item()? - want).abs() < 1e-6);
//! # Ok::<(), neurite::Error>(())
//! ```
//!
//! Numbers work on either side, through the scalar operations of the graph:
//!
//! ```
//! use neurite::{autograd::Var, Tensor};
//! let p = Var::parameter(Tensor::vector(&[0.25, 0.5]));
//! let q = ((1.0 - &p)? * 2.0)?;
//! assert_eq!(q.value().to_vec(), vec![1.5, 1.0]);
//! q.sum()?.backward()?;
//! assert_eq!(p.grad().unwrap().to_vec(), vec![-2.0, -2.0]);
//! let err = (&p + &Var::constant(Tensor::zeros(&[3]))).unwrap_err();
//! assert!(err.to_string().contains("shapes (2,) (3,)"), "{err}");
//! # Ok::<(), neurite::Error>(())
//! ```
//!
//! As for tensors, Rust's orphan rule forbids `Result<Var> op Result<Var>` and
//! `Result<Var> op f32`: put a `?` on one side.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::Var;
use crate::error::Result;
use crate::tensor::Tensor;

/// `Var op Var` for the four ownership combinations, plus a `Result<Var>` on either side; all
/// of them call the method of the same name (`Var::add`, ...).
macro_rules! var_op {
    ($trait:ident, $method:ident) => {
        impl $trait<&Var> for &Var {
            type Output = Result<Var>;
            fn $method(self, rhs: &Var) -> Result<Var> {
                Var::$method(self, rhs)
            }
        }
        impl $trait<Var> for &Var {
            type Output = Result<Var>;
            fn $method(self, rhs: Var) -> Result<Var> {
                Var::$method(self, &rhs)
            }
        }
        impl $trait<&Var> for Var {
            type Output = Result<Var>;
            fn $method(self, rhs: &Var) -> Result<Var> {
                Var::$method(&self, rhs)
            }
        }
        impl $trait<Var> for Var {
            type Output = Result<Var>;
            fn $method(self, rhs: Var) -> Result<Var> {
                Var::$method(&self, &rhs)
            }
        }
        // A `Result` on the left: its error, if any, wins.
        impl $trait<&Var> for Result<Var> {
            type Output = Result<Var>;
            fn $method(self, rhs: &Var) -> Result<Var> {
                Var::$method(&self?, rhs)
            }
        }
        impl $trait<Var> for Result<Var> {
            type Output = Result<Var>;
            fn $method(self, rhs: Var) -> Result<Var> {
                Var::$method(&self?, &rhs)
            }
        }
        // A `Result` on the right.
        impl $trait<Result<Var>> for &Var {
            type Output = Result<Var>;
            fn $method(self, rhs: Result<Var>) -> Result<Var> {
                Var::$method(self, &rhs?)
            }
        }
        impl $trait<Result<Var>> for Var {
            type Output = Result<Var>;
            fn $method(self, rhs: Result<Var>) -> Result<Var> {
                Var::$method(&self, &rhs?)
            }
        }
    };
}
var_op!(Add, add);
var_op!(Sub, sub);
var_op!(Mul, mul);
var_op!(Div, div);

/// `v op s` and `s op v` for `v` a `Var` or `&Var` and `s` an `f32`; `$var_first` and
/// `$num_first` compute the two orders from `v: &Var` and `s: f32`.
macro_rules! var_scalar_op {
    ($trait:ident, $method:ident, |$v:ident, $s:ident| $var_first:expr, $num_first:expr) => {
        impl $trait<f32> for &Var {
            type Output = Result<Var>;
            fn $method(self, $s: f32) -> Result<Var> {
                let $v = self;
                $var_first
            }
        }
        impl $trait<f32> for Var {
            type Output = Result<Var>;
            fn $method(self, $s: f32) -> Result<Var> {
                let $v = &self;
                $var_first
            }
        }
        impl $trait<&Var> for f32 {
            type Output = Result<Var>;
            fn $method(self, $v: &Var) -> Result<Var> {
                let $s = self;
                $num_first
            }
        }
        impl $trait<Var> for f32 {
            type Output = Result<Var>;
            fn $method(self, $v: Var) -> Result<Var> {
                let ($s, $v) = (self, &$v);
                $num_first
            }
        }
    };
}
// Subtraction is addition of the negation and exact, as in IEEE arithmetic. Division by a
// number divides (rather than multiplying by `1 / s`, which rounds differently), through the
// tensor-by-tensor `div` with the number as a constant.
var_scalar_op!(Add, add, |v, s| v.add_scalar(s), v.add_scalar(s));
var_scalar_op!(Sub, sub, |v, s| v.add_scalar(-s), v.neg()?.add_scalar(s));
var_scalar_op!(Mul, mul, |v, s| v.mul_scalar(s), v.mul_scalar(s));
var_scalar_op!(Div, div, |v, s| Var::div(v, &number(s)), Var::div(&number(s), v));

/// A number as a 0-d constant, which broadcasts against any shape.
fn number(s: f32) -> Var {
    Var::constant(Tensor::scalar(s))
}

impl Neg for &Var {
    type Output = Result<Var>;
    fn neg(self) -> Result<Var> {
        Var::neg(self)
    }
}

impl Neg for Var {
    type Output = Result<Var>;
    fn neg(self) -> Result<Var> {
        Var::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn param(v: &[f32]) -> Var {
        Var::parameter(Tensor::vector(v))
    }

    #[test]
    fn operators_match_the_methods_and_record_the_graph() -> Result<()> {
        let (a, b) = (param(&[6.0, 8.0]), param(&[2.0, 4.0]));
        assert_eq!((&a + &b)?.value().to_vec(), vec![8.0, 12.0]);
        assert_eq!((a.clone() - &b)?.value().to_vec(), vec![4.0, 4.0]);
        assert_eq!((&a * b.clone())?.value().to_vec(), vec![12.0, 32.0]);
        assert_eq!((a.clone() / b.clone())?.value().to_vec(), vec![3.0, 2.0]);
        assert_eq!((Ok(a.clone()) + &b)?.value().to_vec(), vec![8.0, 12.0]);
        assert_eq!((Ok(a.clone()) + b.clone())?.value().to_vec(), vec![8.0, 12.0]);
        assert_eq!((&a + Ok(b.clone()))?.value().to_vec(), vec![8.0, 12.0]);
        assert_eq!((a.clone() + Ok(b.clone()))?.value().to_vec(), vec![8.0, 12.0]);
        // d/da sum(a * b + a) = b + 1
        (&a * &b + &a)?.sum()?.backward()?;
        assert_eq!(a.grad().unwrap().to_vec(), vec![3.0, 5.0]);
        assert_eq!(b.grad().unwrap().to_vec(), vec![6.0, 8.0]);
        Ok(())
    }

    #[test]
    fn numbers_on_either_side() -> Result<()> {
        let x = param(&[1.0, 2.0, 4.0]);
        assert_eq!((&x + 1.0)?.value().to_vec(), vec![2.0, 3.0, 5.0]);
        assert_eq!((x.clone() - 1.0)?.value().to_vec(), vec![0.0, 1.0, 3.0]);
        assert_eq!((1.0 - &x)?.value().to_vec(), vec![0.0, -1.0, -3.0]);
        assert_eq!((2.0 * &x)?.value().to_vec(), vec![2.0, 4.0, 8.0]);
        assert_eq!((&x / 2.0)?.value().to_vec(), vec![0.5, 1.0, 2.0]);
        assert_eq!((4.0 / x.clone())?.value().to_vec(), vec![4.0, 2.0, 1.0]);
        assert_eq!((1.0 + x.clone())?.value().to_vec(), vec![2.0, 3.0, 5.0]);
        assert_eq!((x.clone() * 3.0)?.value().to_vec(), vec![3.0, 6.0, 12.0]);
        assert_eq!((-&x)?.value().to_vec(), vec![-1.0, -2.0, -4.0]);
        assert_eq!((-x.clone())?.value().to_vec(), vec![-1.0, -2.0, -4.0]);
        // d/dx sum(4 / x - x / 2) = -4 / x^2 - 1 / 2
        (4.0 / &x - (&x / 2.0)?)?.sum()?.backward()?;
        assert_eq!(x.grad().unwrap().to_vec(), vec![-4.5, -1.5, -0.75]);
        Ok(())
    }

    #[test]
    fn errors_propagate() {
        let (a, b) = (param(&[1.0, 2.0]), param(&[1.0, 2.0, 3.0]));
        let left: Result<Var> = Err(Error::Value("left".into()));
        assert_eq!((left + &a).unwrap_err(), Error::Value("left".into()));
        let right: Result<Var> = Err(Error::Value("right".into()));
        assert_eq!((&a * right).unwrap_err(), Error::Value("right".into()));
        let err = ((&a + &b) - &a).unwrap_err().to_string();
        assert!(err.contains("add: operands could not be broadcast together with shapes (2,) (3,)"), "{err}");
    }
}
