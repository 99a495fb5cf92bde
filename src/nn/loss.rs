//! Loss functions and the accuracy metric.
//!
//! Each loss is written once, on row buffers (`Loss::output_gradient_rows`): its value and
//! its gradient together. The training engine calls that function for its rows; the autograd
//! path runs it as one operation ([`Loss::forward`], [`Loss::forward_logits`]).
//!
//! Cross-entropy after a softmax (and binary cross-entropy after a sigmoid) is computed from
//! the logits, fused with its gradient `p - t`: stable for any logits and one pass over the
//! output. Other pairs go through the loss's derivative and then the activation's. As in
//! Keras, probabilities are clipped to `[1e-7, 1 - 1e-7]` before a logarithm, and the
//! gradient is 0 where the clip bites.

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

/// Targets of one batch for the row functions: class indices, or a row-major matrix with one
/// row per example and as many columns as the output.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Targets<'a> {
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

    /// The loss of `rows` examples and its gradient, on row buffers: the one definition of
    /// every loss. `buf` holds the last layer's output: the logits when the loss
    /// [`fuses_with`](Loss::fuses_with) its activation, else the activated output `y`, with
    /// `derivative` what the activation's forward pass kept for its backward pass (see
    /// [`crate::kernels::activation`]; unused for identity and softmax). Returns the sum of
    /// the examples' losses and overwrites `buf` with `dL/dz` of the mean loss over
    /// `batch_rows` examples (`rows` may be a part of a batch split across threads), the
    /// activation's derivative included. `scratch` keeps a copy of a softmax output for its
    /// backward pass (reused between calls, so the steady state does not allocate).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn output_gradient_rows(
        &self,
        activation: Activation,
        buf: &mut [f32],
        derivative: &[f32],
        rows: usize,
        targets: Targets<'_>,
        batch_rows: usize,
        scratch: &mut Vec<f32>,
    ) -> Result<f64> {
        if rows == 0 || buf.is_empty() || !buf.len().is_multiple_of(rows) || batch_rows < rows {
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
        if activation.is_elementwise() {
            if !matches!(activation, Activation::Identity) && derivative.len() != buf.len() {
                return Err(Error::Shape(format!(
                    "{}: {} derivatives of the {} activation for {} outputs",
                    self.name(),
                    derivative.len(),
                    activation.name(),
                    buf.len()
                )));
            }
        } else {
            // Softmax's backward pass reads its output, which the loss's gradient replaces.
            scratch.clear();
            scratch.extend_from_slice(buf);
        }
        // dL/dy of the mean loss, from y = buf; then through the activation.
        let total = match (self, targets) {
            (Loss::MeanSquaredError, Targets::Dense(t)) => squared_error(buf, t, 1.0, 2.0 * inv_all) / cols as f64,
            (Loss::HalfMeanSquaredError, Targets::Dense(t)) => squared_error(buf, t, 0.5, inv_all) / cols as f64,
            (Loss::CategoricalCrossentropy, Targets::Dense(t)) => {
                let mut total = 0.0f64;
                for (g, &tv) in buf.iter_mut().zip(t) {
                    let (log_p, dlog_p) = clipped_log(*g);
                    total -= (tv * log_p) as f64;
                    *g = -tv * dlog_p * inv_rows;
                }
                total
            }
            (Loss::SparseCategoricalCrossentropy, Targets::Classes(labels)) => {
                let mut total = 0.0f64;
                for (row, &label) in buf.chunks_exact_mut(cols).zip(labels) {
                    let (log_p, dlog_p) = clipped_log(row[label as usize]);
                    total -= log_p as f64;
                    row.fill(0.0);
                    row[label as usize] = -dlog_p * inv_rows;
                }
                total
            }
            (Loss::BinaryCrossentropy, Targets::Dense(t)) => {
                let mut total = 0.0f64;
                for (g, &tv) in buf.iter_mut().zip(t) {
                    let (log_p, dlog_p) = clipped_log(*g);
                    let (log_q, dlog_q) = clipped_log(1.0 - *g);
                    total -= (tv * log_p + (1.0 - tv) * log_q) as f64;
                    *g = -(tv * dlog_p - (1.0 - tv) * dlog_q) * inv_all;
                }
                total / cols as f64
            }
            _ => {
                return Err(Error::Value(format!("{}: these targets do not fit this loss", self.name())));
            }
        };
        let y: &[f32] = if activation.is_elementwise() { &[] } else { scratch };
        activation.backward_rows(y, derivative, buf, cols);
        Ok(total)
    }

    /// The batch-mean loss on autograd variables, from the model's *output* (probabilities
    /// after softmax or sigmoid), as Keras' `from_logits=False`. `target` holds class indices
    /// (shape (n,)) for the sparse loss, else has the output's shape. One operation, whose
    /// value and gradient come from the loss's row function, the one the training engine
    /// runs.
    ///
    /// ```
    /// use neurite::{autograd::Var, nn::Loss, Tensor};
    /// let p = Var::parameter(Tensor::matrix([[0.1, 0.7, 0.2]]));
    /// let loss = Loss::SparseCategoricalCrossentropy.forward(&p, &Tensor::vector(&[1.0]))?;
    /// assert!((loss.value().item()? - (-(0.7f32).ln())).abs() < 1e-6);
    /// loss.backward()?;
    /// assert!((p.grad().unwrap().to_vec()[1] + 1.0 / 0.7).abs() < 1e-5);
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn forward(&self, output: &Var, target: &Tensor) -> Result<Var> {
        self.rows_op(output, Activation::Identity, target)
    }

    /// The batch-mean loss from the *logits* `z` of a layer whose activation is `activation`,
    /// using the fused, stable kernels where they exist (softmax + cross-entropy, sigmoid +
    /// binary cross-entropy: PyTorch's `CrossEntropyLoss` and `BCEWithLogitsLoss`), else
    /// applying the activation and then [`Loss::forward`].
    pub fn forward_logits(&self, z: &Var, activation: Activation, target: &Tensor) -> Result<Var> {
        if self.fuses_with(activation) {
            self.rows_op(z, activation, target)
        } else {
            self.forward(&z.activate(activation)?, target)
        }
    }

    /// The loss of each example, as Keras' loss functions give it (`keras.losses.
    /// mean_squared_error(y_true, y_pred)` and the others): the last axis of `output` holds
    /// one example's outputs, so the result has `output`'s shape without its last axis (a 0-d
    /// tensor for a 1-d output). `target` has `output`'s shape, or for the sparse loss the
    /// result's shape (class indices; a trailing axis of 1 is allowed). With `from_logits`,
    /// `output` holds the logits of a softmax (the cross-entropies) or of a sigmoid (binary
    /// cross-entropy), run through the fused, stable kernels. Each example's value is the row
    /// function's, the one training uses; the batch mean of these is [`Loss::forward`]'s value.
    ///
    /// Unlike Keras, the cross-entropies take the probabilities as given: Keras first divides
    /// each row by its sum, which changes nothing for a softmax's output.
    ///
    /// ```
    /// use neurite::{nn::Loss, Tensor};
    /// let y = Tensor::matrix([[0.0, 1.0], [0.0, 0.0]]);
    /// let p = Tensor::matrix([[1.0, 1.0], [1.0, 0.0]]);
    /// let mse = Loss::MeanSquaredError.per_example(&p, &y, false)?;
    /// assert_eq!((mse.shape(), mse.to_vec()), (&[2][..], vec![0.5, 0.5]));
    /// # Ok::<(), neurite::Error>(())
    /// ```
    pub fn per_example(&self, output: &Tensor, target: &Tensor, from_logits: bool) -> Result<Tensor> {
        let activation = match (from_logits, self) {
            (false, _) => Activation::Identity,
            (true, Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy) => Activation::Softmax,
            (true, Loss::BinaryCrossentropy) => Activation::Sigmoid,
            (true, _) => {
                return Err(Error::Value(format!(
                    "{}: takes no logits (from_logits is for the cross-entropies)",
                    self.name()
                )))
            }
        };
        let shape = output.shape();
        let Some((&cols, lead)) = shape.split_last() else {
            return Err(Error::Shape(format!(
                "{}: expects outputs with at least one axis, got a 0-d tensor",
                self.name()
            )));
        };
        if cols == 0 {
            return Err(Error::Shape(format!("{}: no outputs (shape {})", self.name(), shape_str(shape))));
        }
        let rows: usize = lead.iter().product();
        let values = output.contiguous().to_vec();
        let labels: Vec<u32>;
        let dense: Vec<f32>;
        if self.takes_class_indices() {
            let t = target.shape();
            if !(t == lead || (t.split_last() == Some((&1, lead)))) {
                return Err(Error::Shape(format!(
                    "{}: class indices of shape {} for outputs of shape {} (expected shape {})",
                    self.name(),
                    shape_str(t),
                    shape_str(shape),
                    shape_str(lead)
                )));
            }
            labels = class_indices(&target.reshape(&[rows as isize])?, rows)?;
            dense = Vec::new();
        } else {
            if target.shape() != shape {
                return Err(Error::Shape(format!(
                    "{}: target of shape {} for an output of shape {}",
                    self.name(),
                    shape_str(target.shape()),
                    shape_str(shape)
                )));
            }
            dense = target.contiguous().to_vec();
            labels = Vec::new();
        }
        let mut row = Vec::with_capacity(cols);
        let mut scratch = Vec::new();
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            row.clear();
            row.extend_from_slice(&values[i * cols..(i + 1) * cols]);
            let targets = if self.takes_class_indices() {
                Targets::Classes(&labels[i..i + 1])
            } else {
                Targets::Dense(&dense[i * cols..(i + 1) * cols])
            };
            out.push(self.output_gradient_rows(activation, &mut row, &[], 1, targets, 1, &mut scratch)? as f32);
        }
        Tensor::from_vec(out, lead)
    }

    /// The loss of `input` (the output, or the logits of a fused activation) as one autograd
    /// operation on the row function.
    fn rows_op(&self, input: &Var, activation: Activation, target: &Tensor) -> Result<Var> {
        let value = input.value();
        let shape = value.shape().to_vec();
        if shape.iter().product::<usize>() == 0 {
            return Err(Error::Shape(format!("{}: no outputs (shape {})", self.name(), shape_str(&shape))));
        }
        // One example per row; a 0-d or 1-d output is one example.
        let rows = if shape.len() >= 2 { shape[0] } else { 1 };
        if (self.takes_class_indices() || activation == Activation::Softmax) && shape.len() != 2 {
            return Err(Error::Shape(format!(
                "{}: expects outputs of shape (batch, classes), got {}",
                self.name(),
                shape_str(&shape)
            )));
        }
        let mut grad = value.to_vec();
        let labels: Vec<u32>;
        let dense: Vec<f32>;
        let targets = if self.takes_class_indices() {
            labels = class_indices(target, rows)?;
            Targets::Classes(&labels)
        } else {
            if target.shape() != shape.as_slice() {
                return Err(Error::Shape(format!(
                    "{}: target of shape {} for an output of shape {}",
                    self.name(),
                    shape_str(target.shape()),
                    shape_str(&shape)
                )));
            }
            dense = target.to_vec();
            Targets::Dense(&dense)
        };
        let total = self.output_gradient_rows(activation, &mut grad, &[], rows, targets, rows, &mut Vec::new())?;
        let loss = Tensor::scalar((total / rows as f64) as f32);
        let grad = Tensor::from_vec(grad, &shape)?;
        Ok(Var::custom(self.name(), vec![input.clone()], loss, Arc::new(move |g, _| Ok(vec![Some(&grad * g.item()?)]))))
    }
}

/// `loss_scale (y - t)^2` summed, and `grad_scale (y - t)` in place of `y`.
fn squared_error(y: &mut [f32], t: &[f32], loss_scale: f32, grad_scale: f32) -> f64 {
    let mut total = 0.0f64;
    for (g, &tv) in y.iter_mut().zip(t) {
        let d = *g - tv;
        total += (loss_scale * d * d) as f64;
        *g = grad_scale * d;
    }
    total
}

/// `ln p` of a probability clipped to `[EPSILON, 1 - EPSILON]`, and its derivative with
/// respect to the unclipped `p`: `1 / p`, or 0 where the clip bites (as Keras' clip).
fn clipped_log(p: f32) -> (f32, f32) {
    let clipped = p.clamp(EPSILON, 1.0 - EPSILON);
    (clipped.ln(), if clipped == p { 1.0 / p } else { 0.0 })
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
/// against a label or a one-hot row, or `y > threshold` against 0/1 targets when there is a
/// single output column (Keras' sparse categorical, categorical and binary accuracy; the
/// threshold is 0.5 on probabilities, 0 on the logits of a fused sigmoid).
pub(crate) fn count_correct(
    output: &[f32],
    rows: usize,
    targets: Targets<'_>,
    scratch: &mut [usize],
    threshold: f32,
) -> usize {
    if rows == 0 || output.len() < rows {
        return 0;
    }
    let cols = output.len() / rows;
    match targets {
        Targets::Dense(t) if cols == 1 => {
            output.iter().zip(t).filter(|(&y, &tv)| (y > threshold) == (tv > 0.5)).count()
        }
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
        count_correct(data, rows, Targets::Classes(&labels), &mut scratch, 0.5)
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
        count_correct(data, rows, Targets::Dense(&t.to_vec()), &mut scratch, 0.5)
    };
    Ok(correct as f32 / rows as f32)
}

/// The 0-1 loss: the fraction of wrong predictions, `1 - accuracy`.
pub fn zero_one_loss(output: &Tensor, target: &Tensor) -> Result<f32> {
    Ok(1.0 - accuracy(output, target)?)
}
