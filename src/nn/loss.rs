//! Loss functions and the accuracy metric.
//!
//! Cross-entropy after a softmax (and binary cross-entropy after a sigmoid) is computed from
//! the logits, fused with its gradient `p - t`: stable for any logits and one pass over the
//! output. Other pairs go through the loss's derivative and then the activation's.

use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Activation;
use crate::autograd::Var;
use crate::error::{shape_str, Error, Result};
use crate::kernels::{reduce, softmax as sm};
use crate::tensor::Tensor;

/// Probabilities are clipped to `[EPSILON, 1 - EPSILON]` before a logarithm, as in Keras.
const EPSILON: f32 = 1e-7;

/// A loss function (Keras names in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean of `(y - t)^2` over outputs and batch (`mse`).
    MeanSquaredError,
    /// Half of it, `1/(2m) sum (y - t)^2`: note 003's convention, whose derivative is `y - t`.
    HalfMeanSquaredError,
    /// `-sum_k t_k ln p_k` against one-hot (or soft) targets (`categorical_crossentropy`).
    CategoricalCrossentropy,
    /// `-ln p[label]` against integer labels (`sparse_categorical_crossentropy`).
    SparseCategoricalCrossentropy,
    /// Mean of `-(t ln p + (1 - t) ln(1 - p))` over outputs (`binary_crossentropy`).
    BinaryCrossentropy,
}

/// Targets of one batch for the fast path: class indices, or a row-major matrix with one
/// row per example and as many columns as the output.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    /// One class index per example.
    Classes(&'a [u32]),
    /// One target row per example.
    Dense(&'a [f32]),
}

impl Loss {
    /// The Keras name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::HalfMeanSquaredError => "half_mean_squared_error",
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Loss::BinaryCrossentropy => "binary_crossentropy",
        }
    }

    /// Whether the targets are class indices (else rows shaped like the output).
    pub fn takes_class_indices(&self) -> bool {
        *self == Loss::SparseCategoricalCrossentropy
    }

    /// Whether this loss after `activation` is computed from the logits, fused.
    pub fn fuses_with(&self, activation: Activation) -> bool {
        matches!(
            (self, activation),
            (Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy, Activation::Softmax)
                | (Loss::BinaryCrossentropy, Activation::Sigmoid)
        )
    }

    /// Checks that targets fit an output of `rows x cols`.
    fn check_targets(&self, targets: Targets<'_>, rows: usize, cols: usize) -> Result<()> {
        match (self.takes_class_indices(), targets) {
            (true, Targets::Classes(labels)) => {
                if labels.len() != rows {
                    return Err(Error::Shape(format!("{}: {} labels for {rows} outputs", self.name(), labels.len())));
                }
                if let Some(&bad) = labels.iter().find(|&&l| l as usize >= cols) {
                    return Err(Error::Value(format!(
                        "{}: label {bad} is out of range for {cols} classes",
                        self.name()
                    )));
                }
                Ok(())
            }
            (false, Targets::Dense(t)) if t.len() == rows * cols => Ok(()),
            (false, Targets::Dense(t)) => Err(Error::Shape(format!(
                "{}: {} target values for an output of {rows} x {cols}",
                self.name(),
                t.len()
            ))),
            (true, Targets::Dense(_)) => {
                Err(Error::Value(format!("{} expects class indices, got target rows", self.name())))
            }
            (false, Targets::Classes(_)) => Err(Error::Value(format!(
                "{} expects target rows (one-hot for categorical_crossentropy), got class indices",
                self.name()
            ))),
        }
    }

    /// Fast path: `buf` holds the last layer's output for `rows` examples: the logits when
    /// [`Loss::fuses_with`] its activation, else the activated output. Returns the sum of the
    /// examples' losses and overwrites `buf` with `dL/dz` of the mean loss over `batch_rows`
    /// examples (`rows` may be a part of a batch that is split across threads), the
    /// activation's derivative included. `scratch` keeps a copy of the output when the loss
    /// is not fused (reused between calls, so the steady state does not allocate).
    pub fn output_gradient_rows(
        &self,
        activation: Activation,
        buf: &mut [f32],
        rows: usize,
        targets: Targets<'_>,
        batch_rows: usize,
        scratch: &mut Vec<f32>,
    ) -> Result<f64> {
        if rows == 0 || buf.is_empty() || buf.len() % rows != 0 || batch_rows < rows {
            return Err(Error::Shape(format!(
                "{}: {} outputs do not split into {rows} rows of a batch of {batch_rows}",
                self.name(),
                buf.len()
            )));
        }
        let cols = buf.len() / rows;
        self.check_targets(targets, rows, cols)?;
        let inv_rows = 1.0 / batch_rows as f32;
        let inv_all = 1.0 / (batch_rows * cols) as f32;
        if self.fuses_with(activation) {
            return Ok(match targets {
                Targets::Classes(labels) => sm::softmax_cross_entropy_sparse(buf, cols, labels, inv_rows),
                Targets::Dense(t) if *self == Loss::CategoricalCrossentropy => {
                    sm::softmax_cross_entropy_dense(buf, cols, t, inv_rows)
                }
                Targets::Dense(t) => sm::sigmoid_binary_cross_entropy(buf, t, inv_all) / cols as f64,
            });
        }
        // Not fused: dL/dy from the loss, then through the activation using y = buf.
        scratch.clear();
        scratch.extend_from_slice(buf);
        let mut total = 0.0f64;
        match (self, targets) {
            (Loss::MeanSquaredError | Loss::HalfMeanSquaredError, Targets::Dense(t)) => {
                let half = *self == Loss::HalfMeanSquaredError;
                let (loss_scale, grad_scale) = if half { (0.5, inv_all) } else { (1.0, 2.0 * inv_all) };
                for (g, &tv) in buf.iter_mut().zip(t) {
                    let d = *g - tv;
                    total += (loss_scale * d * d) as f64;
                    *g = grad_scale * d;
                }
                total /= cols as f64;
            }
            (Loss::CategoricalCrossentropy, Targets::Dense(t)) => {
                for (g, &tv) in buf.iter_mut().zip(t) {
                    let p = g.clamp(EPSILON, 1.0 - EPSILON);
                    total -= (tv * p.ln()) as f64;
                    *g = -tv / p * inv_rows;
                }
            }
            (Loss::SparseCategoricalCrossentropy, Targets::Classes(labels)) => {
                for (row, &label) in buf.chunks_exact_mut(cols).zip(labels) {
                    let p = row[label as usize].clamp(EPSILON, 1.0 - EPSILON);
                    total -= p.ln() as f64;
                    row.fill(0.0);
                    row[label as usize] = -inv_rows / p;
                }
            }
            (Loss::BinaryCrossentropy, Targets::Dense(t)) => {
                for (g, &tv) in buf.iter_mut().zip(t) {
                    let p = g.clamp(EPSILON, 1.0 - EPSILON);
                    total -= (tv * p.ln() + (1.0 - tv) * (1.0 - p).ln()) as f64;
                    *g = (p - tv) / (p * (1.0 - p)) * inv_all;
                }
                total /= cols as f64;
            }
            _ => unreachable!("targets were checked against the loss above"),
        }
        activation.backward_rows(scratch, buf, cols);
        Ok(total)
    }

    /// The batch-mean loss on autograd variables, from the model's *output* (probabilities
    /// after softmax or sigmoid), as Keras' `from_logits=False`. `target` holds class indices
    /// (shape (n,)) for the sparse loss, else has the output's shape.
    ///
    /// ```
    /// use neurite::{autograd::Var, nn::Loss, Tensor};
    /// let p = Var::parameter(Tensor::matrix([[0.1, 0.7, 0.2]]));
    /// let loss = Loss::SparseCategoricalCrossentropy.forward(&p, &Tensor::vector(&[1.0]))?;
    /// assert!((loss.value().item()? - (-(0.7f32).ln())).abs() < 1e-6);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn forward(&self, output: &Var, target: &Tensor) -> Result<Var> {
        let shape = output.shape();
        let target = self.dense_target(&shape, target)?;
        let t = Var::constant(target.clone());
        match self {
            Loss::MeanSquaredError => output.sub(&t)?.powf(2.0)?.mean(),
            Loss::HalfMeanSquaredError => output.sub(&t)?.powf(2.0)?.mean()?.mul_scalar(0.5),
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                let log_p = output.clamp(EPSILON, 1.0 - EPSILON)?.log()?;
                let per_row = log_p.mul(&t)?.sum_axis(-1, false)?;
                per_row.mean()?.neg()
            }
            Loss::BinaryCrossentropy => {
                let p = output.clamp(EPSILON, 1.0 - EPSILON)?;
                let one_minus_t = Var::constant(target.neg() + 1.0);
                let a = t.mul(&p.log()?)?;
                let b = one_minus_t.mul(&p.neg()?.add_scalar(1.0)?.log()?)?;
                a.add(&b)?.mean()?.neg()
            }
        }
    }

    /// The batch-mean loss from the *logits* `z` of a layer whose activation is `activation`,
    /// using the fused, stable kernels where they exist (softmax + cross-entropy, sigmoid +
    /// binary cross-entropy: PyTorch's `CrossEntropyLoss` and `BCEWithLogitsLoss`), else
    /// applying the activation and then [`Loss::forward`].
    pub fn forward_logits(&self, z: &Var, activation: Activation, target: &Tensor) -> Result<Var> {
        if !self.fuses_with(activation) {
            return self.forward(&activation.apply(z)?, target);
        }
        let value = z.value();
        let shape = value.shape().to_vec();
        if shape.len() != 2 {
            return Err(Error::Shape(format!(
                "{}: expects logits of shape (batch, classes), got {}",
                self.name(),
                shape_str(&shape)
            )));
        }
        let rows = shape[0];
        let mut grad = value.to_vec();
        let labels: Vec<u32>;
        let dense;
        let targets = if self.takes_class_indices() {
            labels = class_indices(target, rows)?;
            Targets::Classes(&labels)
        } else {
            dense = self.dense_target(&shape, target)?.to_vec();
            Targets::Dense(&dense)
        };
        let total = self.output_gradient_rows(activation, &mut grad, rows, targets, rows, &mut Vec::new())?;
        let loss = Tensor::scalar((total / rows as f64) as f32);
        let grad = Tensor::from_vec(grad, &shape)?;
        Ok(Var::custom(self.name(), vec![z.clone()], loss, Arc::new(move |g, _| Ok(vec![Some(&grad * g.item()?)]))))
    }

    /// Targets with the output's shape (class indices are one-hot encoded for the sparse loss).
    fn dense_target(&self, output_shape: &[usize], target: &Tensor) -> Result<Tensor> {
        if self.takes_class_indices() {
            if output_shape.len() != 2 {
                return Err(Error::Shape(format!(
                    "{}: expects an output of shape (batch, classes), got {}",
                    self.name(),
                    shape_str(output_shape)
                )));
            }
            let labels = class_indices(target, output_shape[0])?;
            let classes = output_shape[1];
            let mut onehot = vec![0.0; labels.len() * classes];
            for (i, &l) in labels.iter().enumerate() {
                if l as usize >= classes {
                    return Err(Error::Value(format!(
                        "{}: label {l} is out of range for {classes} classes",
                        self.name()
                    )));
                }
                onehot[i * classes + l as usize] = 1.0;
            }
            return Tensor::from_vec(onehot, output_shape);
        }
        if target.shape() != output_shape {
            return Err(Error::Shape(format!(
                "{}: target of shape {} for an output of shape {}",
                self.name(),
                shape_str(target.shape()),
                shape_str(output_shape)
            )));
        }
        Ok(target.clone())
    }
}

/// Class indices from a tensor of shape (rows,) holding whole non-negative numbers.
fn class_indices(target: &Tensor, rows: usize) -> Result<Vec<u32>> {
    if target.shape() != [rows] {
        return Err(Error::Shape(format!(
            "expected {rows} class indices of shape ({rows},), got shape {}",
            shape_str(target.shape())
        )));
    }
    target
        .to_vec()
        .into_iter()
        .map(|v| {
            if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f32 {
                Ok(v as u32)
            } else {
                Err(Error::Value(format!("class index {v} is not a non-negative whole number")))
            }
        })
        .collect()
}

impl FromStr for Loss {
    type Err = Error;

    fn from_str(s: &str) -> Result<Loss> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "mse" | "mean_squared_error" => Loss::MeanSquaredError,
            "half_mse" | "half_mean_squared_error" => Loss::HalfMeanSquaredError,
            "categorical_crossentropy" | "cce" | "categorical_cross_entropy" => Loss::CategoricalCrossentropy,
            "sparse_categorical_crossentropy" | "scce" | "sparse_categorical_cross_entropy" | "cross_entropy" => {
                Loss::SparseCategoricalCrossentropy
            }
            "binary_crossentropy" | "bce" | "log_loss" | "binary_cross_entropy" => Loss::BinaryCrossentropy,
            other => {
                return Err(Error::Value(format!(
                    "unknown loss {other:?}: expected mse, half_mse, categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy"
                )))
            }
        })
    }
}

/// Counts correct predictions in a row-major output of `rows` examples: the arg-max class
/// against a label or a one-hot row, or `y > 0.5` against 0/1 targets when there is a
/// single output column (Keras' sparse categorical, categorical and binary accuracy).
pub(crate) fn count_correct(output: &[f32], rows: usize, targets: Targets<'_>, scratch: &mut [usize]) -> usize {
    if rows == 0 || output.len() < rows {
        return 0;
    }
    let cols = output.len() / rows;
    match targets {
        Targets::Dense(t) if cols == 1 => output.iter().zip(t).filter(|(&y, &tv)| (y > 0.5) == (tv > 0.5)).count(),
        Targets::Classes(labels) => {
            reduce::argmax_rows(output, cols, &mut scratch[..rows]);
            scratch[..rows].iter().zip(labels).filter(|(&p, &l)| p == l as usize).count()
        }
        Targets::Dense(t) => {
            reduce::argmax_rows(output, cols, &mut scratch[..rows]);
            t.chunks_exact(cols)
                .zip(&scratch[..rows])
                .filter(|(row, &p)| {
                    let mut best = [0usize];
                    reduce::argmax_rows(row, cols, &mut best);
                    best[0] == p
                })
                .count()
        }
    }
}

/// Fraction of correct predictions (see the rules of Keras' `accuracy` metric above):
/// `target` holds class indices of shape (n,), or has the output's shape.
///
/// ```
/// use neurite::{nn::accuracy, Tensor};
/// let y = Tensor::matrix([[0.1, 0.9], [0.8, 0.2]]);
/// assert_eq!(accuracy(&y, &Tensor::vector(&[1.0, 1.0]))?, 0.5);
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn accuracy(output: &Tensor, target: &Tensor) -> Result<f32> {
    let rows = output.shape().first().copied().unwrap_or(0);
    if rows == 0 {
        return Err(Error::Shape("accuracy: no examples".into()));
    }
    let out = output.contiguous();
    let data = out.as_slice().unwrap_or(&[]);
    let mut scratch = vec![0usize; rows];
    let correct = if target.ndim() == 1 && (output.ndim() == 2 && output.shape()[1] > 1) {
        let labels = class_indices(target, rows)?;
        count_correct(data, rows, Targets::Classes(&labels), &mut scratch)
    } else {
        let t = target.reshape(&[rows as isize, -1]).map_err(|_| {
            Error::Shape(format!(
                "accuracy: target of shape {} for an output of shape {}",
                shape_str(target.shape()),
                shape_str(output.shape())
            ))
        })?;
        if t.size() != out.size() {
            return Err(Error::Shape(format!(
                "accuracy: target of shape {} for an output of shape {}",
                shape_str(target.shape()),
                shape_str(output.shape())
            )));
        }
        count_correct(data, rows, Targets::Dense(&t.to_vec()), &mut scratch)
    };
    Ok(correct as f32 / rows as f32)
}

/// The 0-1 loss: the fraction of wrong predictions, `1 - accuracy`.
pub fn zero_one_loss(output: &Tensor, target: &Tensor) -> Result<f32> {
    Ok(1.0 - accuracy(output, target)?)
}
