//! What a model trained on your own data expects and gives, stored in its model file so that
//! `eval` and `predict` prepare new data exactly as the training data was: the table's
//! feature columns with the mean and deviation of the training part, or the pictures' size
//! and colour; and the names of the classes its outputs stand for.

use serde::{Deserialize, Serialize};

pub use super::image::Color;
use super::image::MAX_SIDE;
use crate::error::{Error, Result};

/// What the target column holds, and so what the model learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Class names (or numbers used as names): a classifier with one output per class.
    #[default]
    Classification,
    /// Numbers: a regressor with one linear output, trained with the mean squared error.
    Regression,
}

impl std::str::FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Task> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classification" | "classify" => Ok(Task::Classification),
            "regression" | "regress" => Ok(Task::Regression),
            other => Err(Error::Value(format!("task: {other:?} is not classification or regression"))),
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        })
    }
}

/// A table's columns as a model was trained on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    /// The feature columns, in the order of the model's inputs.
    pub columns: Vec<String>,
    /// The target column.
    pub target: String,
    /// What the target holds.
    pub task: Task,
    /// Each feature's mean over the training part (subtracted first).
    pub mean: Vec<f32>,
    /// Each feature's standard deviation over the training part (divided by next; 1 for a
    /// constant column, as scikit-learn's `StandardScaler` does).
    pub scale: Vec<f32>,
    /// The class names, in the order of the model's outputs (empty for regression).
    pub classes: Vec<String>,
}

/// Pictures as a model was trained on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSchema {
    /// Height every picture is resized to.
    pub height: usize,
    /// Width every picture is resized to.
    pub width: usize,
    /// Grey or colour.
    pub color: Color,
    /// The class names (the class folders' names), in the order of the model's outputs.
    pub classes: Vec<String>,
}

impl ImageSchema {
    /// Inputs per picture: height x width x channels.
    pub fn features(&self) -> usize {
        self.height.saturating_mul(self.width).saturating_mul(self.color.channels())
    }
}

/// What a model's inputs are and what its outputs mean, when it was trained on a table or
/// a folder of pictures (models trained on MNIST's IDX files have none).
///
/// ```
/// use neurite::data::{Color, ImageSchema, Schema};
/// let schema = Schema::Images(ImageSchema { height: 28, width: 28, color: Color::Grey, classes: vec!["cat".into(), "dog".into()] });
/// assert_eq!(schema.features(), 784);
/// assert_eq!(schema.class_names(), ["cat", "dog"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schema {
    /// Rows of a CSV table.
    Table(TableSchema),
    /// Pictures from class folders.
    Images(ImageSchema),
}

impl Schema {
    /// The class names, in the order of the model's outputs (empty for a regressor).
    pub fn class_names(&self) -> &[String] {
        match self {
            Schema::Table(t) => &t.classes,
            Schema::Images(i) => &i.classes,
        }
    }

    /// Inputs per example.
    pub fn features(&self) -> usize {
        match self {
            Schema::Table(t) => t.columns.len(),
            Schema::Images(i) => i.features(),
        }
    }

    /// Checks that the schema is whole and fits a model of `inputs` inputs and `outputs`
    /// outputs (a file from a stranger may say anything).
    pub fn check(&self, inputs: usize, outputs: usize) -> Result<()> {
        if self.features() != inputs {
            return Err(Error::Format(format!(
                "the data description has {} features, the model takes {inputs} inputs",
                self.features()
            )));
        }
        let classes = self.class_names().len();
        match self {
            Schema::Table(t) => {
                if t.mean.len() != t.columns.len() || t.scale.len() != t.columns.len() {
                    return Err(Error::Format(format!(
                        "the table description has {} columns, {} means and {} deviations",
                        t.columns.len(),
                        t.mean.len(),
                        t.scale.len()
                    )));
                }
                if let Some(v) = t.mean.iter().chain(&t.scale).find(|v| !v.is_finite()) {
                    return Err(Error::Format(format!("the table description holds the number {v}")));
                }
                if let Some(v) = t.scale.iter().find(|v| **v <= 0.0) {
                    return Err(Error::Format(format!("the table description has a deviation of {v}")));
                }
                match t.task {
                    Task::Regression if outputs != 1 || classes != 0 => {
                        return Err(Error::Format(format!(
                            "a regression model has 1 output and no classes, this one {outputs} outputs and {classes} classes"
                        )))
                    }
                    Task::Classification if classes != outputs && !(classes == 2 && outputs == 1) => {
                        return Err(Error::Format(format!(
                            "the data description names {classes} classes, the model has {outputs} outputs"
                        )))
                    }
                    _ => {}
                }
            }
            Schema::Images(i) => {
                let max = MAX_SIDE;
                if i.height == 0 || i.width == 0 || i.height > max || i.width > max {
                    return Err(Error::Format(format!("pictures of {}x{} pixels", i.height, i.width)));
                }
                if classes != outputs && !(classes == 2 && outputs == 1) {
                    return Err(Error::Format(format!(
                        "the data description names {classes} classes, the model has {outputs} outputs"
                    )));
                }
            }
        }
        Ok(())
    }
}
