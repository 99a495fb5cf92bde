//! Arithmetic operators on tensors, candle-style: every operator impl of [`Tensor`] lives here.
//!
//! Two tensors can have shapes that do not broadcast together, so `+ - * /` between tensors
//! give a [`Result<Tensor>`](crate::Result) rather than panic: finish a chain with `?`. Both
//! sides may be `Tensor` or `&Tensor`, and either side may be a `Result<Tensor>`, so that a
//! whole expression needs one `?` at the end; the first error met is the one returned.
//!
//! ```
//! use neurite::Tensor;
//! let a = Tensor::vector(&[1.0, 2.0, 3.0]);
//! let b = Tensor::vector(&[10.0, 20.0, 30.0]);
//! let c = Tensor::scalar(0.5);
//! assert_eq!((&a + &b)?.to_vec(), vec![11.0, 22.0, 33.0]);
//! // Chains: a `Result` on either side is accepted, one `?` at the end.
//! assert_eq!((&a * &b + &c)?.to_vec(), vec![10.5, 40.5, 90.5]);
//! assert_eq!((&a - (&b / &a))?.to_vec(), vec![-9.0, -8.0, -7.0]);
//! // Broadcasting, as NumPy: centre the columns of a matrix.
//! let x = Tensor::matrix([[1.0, 2.0], [3.0, 6.0]]);
//! let centred = (&x - &x.mean_axis(0, true)?)?;
//! assert_eq!(centred.to_vec(), vec![-1.0, -2.0, 1.0, 2.0]);
//! # Ok::<(), neurite::Error>(())
//! ```
//!
//! With a number on either side an operator cannot fail, so it gives a `Tensor` directly:
//!
//! ```
//! use neurite::Tensor;
//! let p = Tensor::vector(&[0.25, 0.5]);
//! assert_eq!((1.0 - &p).to_vec(), vec![0.75, 0.5]);
//! assert_eq!((2.0 * &p).to_vec(), vec![0.5, 1.0]);
//! assert_eq!((&p / 0.5 + 1.0).to_vec(), vec![1.5, 2.0]);
//! assert_eq!((-&p).to_vec(), vec![-0.25, -0.5]);
//! ```
//!
//! Shapes that do not broadcast are an error that names both shapes:
//!
//! ```
//! use neurite::Tensor;
//! let err = (Tensor::zeros(&[2, 3]) + Tensor::zeros(&[2])).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "shape error: add: operands could not be broadcast together with shapes (2, 3) (2,)"
//! );
//! // An error on the left is carried through the rest of the chain unchanged.
//! let chained = Tensor::zeros(&[2, 3]) * Tensor::zeros(&[4]) + Tensor::ones(&[3]);
//! assert!(chained.unwrap_err().to_string().contains("mul: operands could not be broadcast"));
//! ```
//!
//! Rust's orphan rule forbids an operator between two `Result`s (neither type is this
//! crate's), so `(&a + &b) * (&c + &d)` needs a `?` on one side: `((&a + &b)? * (&c + &d))?`.
//! For the same reason `Result<Tensor> op f32` does not exist: write `(&a + &b)? * 2.0`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::Tensor;
use crate::error::Result;

/// `Tensor op Tensor` for the four ownership combinations, plus a `Result<Tensor>` on either
/// side; all of them call the method of the same name (`Tensor::add`, ...), which broadcasts.
macro_rules! tensor_op {
    ($trait:ident, $method:ident) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$method(self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(&self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$method(&self, &rhs)
            }
        }
        // A `Result` on the left: its error, if any, wins.
        impl $trait<&Tensor> for Result<Tensor> {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$method(&self?, rhs)
            }
        }
        impl $trait<Tensor> for Result<Tensor> {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$method(&self?, &rhs)
            }
        }
        // A `Result` on the right.
        impl $trait<Result<Tensor>> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Result<Tensor>) -> Result<Tensor> {
                Tensor::$method(self, &rhs?)
            }
        }
        impl $trait<Result<Tensor>> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Result<Tensor>) -> Result<Tensor> {
                Tensor::$method(&self, &rhs?)
            }
        }
    };
}
tensor_op!(Add, add);
tensor_op!(Sub, sub);
tensor_op!(Mul, mul);
tensor_op!(Div, div);

/// Operators with a number never fail, so they give a `Tensor`: `&t op s`, `t op s`,
/// `s op &t` and `s op t`, element by element.
macro_rules! scalar_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait<f32> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                self.map(|v| v $op rhs)
            }
        }
        impl $trait<f32> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                self.map(|v| v $op rhs)
            }
        }
        impl $trait<&Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                rhs.map(|v| self $op v)
            }
        }
        impl $trait<Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                rhs.map(|v| self $op v)
            }
        }
    };
}
scalar_op!(Add, add, +);
scalar_op!(Sub, sub, -);
scalar_op!(Mul, mul, *);
scalar_op!(Div, div, /);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn t(v: &[f32]) -> Tensor {
        Tensor::vector(v)
    }

    #[test]
    fn every_ownership_combination_gives_the_method_result() -> Result<()> {
        let (a, b) = (t(&[6.0, 8.0]), t(&[2.0, 4.0]));
        let want = Tensor::add(&a, &b)?;
        assert_eq!((&a + &b)?, want);
        assert_eq!((&a + b.clone())?, want);
        assert_eq!((a.clone() + &b)?, want);
        assert_eq!((a.clone() + b.clone())?, want);
        assert_eq!((Ok(a.clone()) + &b)?, want);
        assert_eq!((Ok(a.clone()) + b.clone())?, want);
        assert_eq!((&a + Ok(b.clone()))?, want);
        assert_eq!((a.clone() + Ok(b.clone()))?, want);
        assert_eq!((&a - &b)?.to_vec(), vec![4.0, 4.0]);
        assert_eq!((&a * &b)?.to_vec(), vec![12.0, 32.0]);
        assert_eq!((&a / &b)?.to_vec(), vec![3.0, 2.0]);
        Ok(())
    }

    #[test]
    fn the_first_error_of_a_chain_is_returned() {
        let (a, b) = (t(&[1.0, 2.0]), t(&[1.0, 2.0, 3.0]));
        let left: Result<Tensor> = Err(Error::Value("left".into()));
        let right: Result<Tensor> = Err(Error::Value("right".into()));
        assert_eq!((left.clone() + &a).unwrap_err(), Error::Value("left".into()));
        assert_eq!((&a - right).unwrap_err(), Error::Value("right".into()));
        assert_eq!((left * b.clone()).unwrap_err(), Error::Value("left".into()));
        let err = ((&a / &b) + &a).unwrap_err().to_string();
        assert!(err.contains("div: operands could not be broadcast together with shapes (2,) (3,)"), "{err}");
    }

    #[test]
    fn scalars_on_either_side() {
        let x = t(&[1.0, 2.0, 4.0]);
        assert_eq!((&x + 1.0).to_vec(), vec![2.0, 3.0, 5.0]);
        assert_eq!((x.clone() - 1.0).to_vec(), vec![0.0, 1.0, 3.0]);
        assert_eq!((1.0 - &x).to_vec(), vec![0.0, -1.0, -3.0]);
        assert_eq!((2.0 * &x).to_vec(), vec![2.0, 4.0, 8.0]);
        assert_eq!((4.0 / x.clone()).to_vec(), vec![4.0, 2.0, 1.0]);
        assert_eq!((1.0 + x.clone()).to_vec(), vec![2.0, 3.0, 5.0]);
        assert_eq!((-x.clone()).to_vec(), vec![-1.0, -2.0, -4.0]);
        assert_eq!((-&x).to_vec(), vec![-1.0, -2.0, -4.0]);
    }
}
