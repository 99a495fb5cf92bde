//! Rosenblatt's perceptron with the learning rule of note 003: one weight per feature and a
//! bias, a step activation giving 1 or -1, and after each example `w += rate (t - y) x`.

use crate::autograd::ParamStore;
use crate::error::{shape_str, Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The perceptron of note 003: weights `zeros(1 + n)` with the bias first, `fit` recording
/// the misclassifications of every epoch, `net_input`, and `predict` giving 1 or -1.
///
/// ```
/// use neurite::{teach::Perceptron, Tensor};
/// // AND: only (1, 1) is positive.
/// let x = Tensor::matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
/// let y = Tensor::vector(&[-1.0, -1.0, -1.0, 1.0]);
/// let mut p = Perceptron::new(0.1, 10);
/// p.fit(&x, &y)?;
/// assert_eq!(p.predict(&x)?.to_vec(), y.to_vec());
/// assert_eq!(*p.errors().last().unwrap(), 0);
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Perceptron {
    rate: f32,
    epochs: usize,
    seed: Option<u64>,
    store: ParamStore,
    errors: Vec<usize>,
}

/// The store's name for the weights (bias first).
const WEIGHT: &str = "perceptron/weight";

impl Perceptron {
    /// A perceptron with learning rate `rate` (note 003's `rate`, the `eta` of the book it
    /// cites) trained for `epochs` passes (note 003's `niter`), visiting the examples in
    /// order as the notes do.
    pub fn new(rate: f32, epochs: usize) -> Perceptron {
        Perceptron { rate, epochs, seed: None, store: ParamStore::new(), errors: vec![] }
    }

    /// A perceptron with hand-set weights, bias first (`[w0, w1, ..., wn]`), ready to
    /// `predict` without `fit`: how the notes' logic gates are built.
    ///
    /// ```
    /// use neurite::{teach::Perceptron, Tensor};
    /// // NAND: fires unless both inputs are on.
    /// let nand = Perceptron::with_weights(&[0.7, -0.5, -0.5])?;
    /// let x = Tensor::matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    /// assert_eq!(nand.predict(&x)?.to_vec(), vec![1.0, 1.0, 1.0, -1.0]);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn with_weights(weights: &[f32]) -> Result<Perceptron> {
        if weights.len() < 2 {
            return Err(Error::Shape(format!(
                "perceptron: weights are a bias and at least one feature weight, got {} values",
                weights.len()
            )));
        }
        if let Some(bad) = weights.iter().find(|w| !w.is_finite()) {
            return Err(Error::Value(format!("perceptron: weights must be finite, got {bad}")));
        }
        let store = ParamStore::new();
        store.add(WEIGHT, &Tensor::vector(weights))?;
        Ok(Perceptron { rate: 0.1, epochs: 0, seed: None, store, errors: vec![] })
    }

    /// Visits the examples in a fresh order each epoch, drawn from `seed`.
    pub fn shuffled(mut self, seed: u64) -> Perceptron {
        self.seed = Some(seed);
        self
    }

    /// The weights, bias first: `[w0, w1, ..., wn]` (empty before `fit`).
    pub fn weights(&self) -> Vec<f32> {
        self.store.get(WEIGHT).map(|t| t.to_vec()).unwrap_or_default()
    }

    /// The parameter store holding the weights (`perceptron/weight`, shape (1 + n,)).
    pub fn params(&self) -> &ParamStore {
        &self.store
    }

    /// Misclassifications in each epoch of the last `fit`.
    pub fn errors(&self) -> &[usize] {
        &self.errors
    }

    /// Learns from `x` of shape (examples, features) and targets `y` of shape (examples,)
    /// holding 1 or -1. The weights start at zero.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<&mut Perceptron> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(Error::Value(format!(
                "perceptron: the learning rate must be a positive number, got {}",
                self.rate
            )));
        }
        let (n, features) = examples_shape(x)?;
        if y.shape() != [n] {
            return Err(Error::Shape(format!(
                "perceptron: {} targets of shape {} for {n} examples",
                y.size(),
                shape_str(y.shape())
            )));
        }
        let targets = y.to_vec();
        if let Some(bad) = targets.iter().find(|&&t| t != 1.0 && t != -1.0) {
            return Err(Error::Value(format!("perceptron: targets must be 1 or -1, got {bad}")));
        }
        let xs = x.contiguous().to_vec();
        let mut w = vec![0.0f32; 1 + features];
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = self.seed.map(Rng::new);
        self.errors.clear();
        for _ in 0..self.epochs {
            if let Some(rng) = rng.as_mut() {
                rng.shuffle(&mut order);
            }
            let mut errors = 0;
            for &i in &order {
                let xi = &xs[i * features..(i + 1) * features];
                let update = self.rate * (targets[i] - step(net_input(&w, xi)));
                for (wj, &xj) in w[1..].iter_mut().zip(xi) {
                    *wj += update * xj;
                }
                w[0] += update;
                errors += usize::from(update != 0.0);
            }
            self.errors.push(errors);
        }
        let w = Tensor::vector(&w);
        // The same store when the shape allows, so that a handle taken before stays valid.
        if self.store.get(WEIGHT).is_ok_and(|old| old.shape() == w.shape()) {
            self.store.set(WEIGHT, &w)?;
        } else {
            self.store = ParamStore::new();
            self.store.add(WEIGHT, &w)?;
        }
        Ok(self)
    }

    /// `x w[1:] + w[0]` for each row of `x` (examples, features).
    pub fn net_input(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.weights();
        if w.is_empty() {
            return Err(Error::Value("perceptron: call fit first".into()));
        }
        let (n, features) = examples_shape(x)?;
        if features + 1 != w.len() {
            return Err(Error::Shape(format!(
                "perceptron: trained on {} features, given examples of shape {}",
                w.len() - 1,
                shape_str(x.shape())
            )));
        }
        let xs = x.contiguous().to_vec();
        let z: Vec<f32> = xs.chunks_exact(features.max(1)).take(n).map(|xi| net_input(&w, xi)).collect();
        Tensor::from_vec(z, &[n])
    }

    /// 1 where the net input is at least 0, else -1.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.net_input(x)?.map(step))
    }
}

/// The unit step of note 003: 1 from 0 up, else -1.
fn step(z: f32) -> f32 {
    if z >= 0.0 {
        1.0
    } else {
        -1.0
    }
}

fn net_input(w: &[f32], xi: &[f32]) -> f32 {
    w[1..].iter().zip(xi).map(|(a, b)| a * b).sum::<f32>() + w[0]
}

fn examples_shape(x: &Tensor) -> Result<(usize, usize)> {
    match x.shape() {
        &[n, features] if features > 0 => Ok((n, features)),
        other => {
            Err(Error::Shape(format!("perceptron: x must have shape (examples, features), got {}", shape_str(other))))
        }
    }
}
