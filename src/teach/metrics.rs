//! How good a classifier is, beyond accuracy: the counts of a yes/no question (accuracy,
//! precision, recall) and the confusion matrix of a many-class one. Note 002's point lives
//! here: a "never a 5" answer is right 91% of the time on MNIST and finds no 5 at all.

use std::fmt;

use crate::error::{Error, Result};

/// The four counts of a yes/no classifier against the truth, and the scores made of them.
///
/// ```
/// use neurite::teach::BinaryScores;
/// // Says "yes" twice: once rightly. Misses one real "yes".
/// let s = BinaryScores::from_predictions(&[true, true, false, false], &[true, false, true, false])?;
/// assert_eq!((s.accuracy(), s.precision(), s.recall()), (0.5, 0.5, 0.5));
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct BinaryScores {
    /// Said yes, and it was.
    pub true_positives: usize,
    /// Said yes, and it was not.
    pub false_positives: usize,
    /// Said no, and it was not.
    pub true_negatives: usize,
    /// Said no, and it was.
    pub false_negatives: usize,
}

impl BinaryScores {
    /// Counts `predicted` against `actual` (the same length).
    pub fn from_predictions(predicted: &[bool], actual: &[bool]) -> Result<BinaryScores> {
        if predicted.len() != actual.len() {
            return Err(Error::Shape(format!(
                "scores: {} predictions for {} true answers",
                predicted.len(),
                actual.len()
            )));
        }
        let mut s = BinaryScores::default();
        for (&p, &a) in predicted.iter().zip(actual) {
            match (p, a) {
                (true, true) => s.true_positives += 1,
                (true, false) => s.false_positives += 1,
                (false, false) => s.true_negatives += 1,
                (false, true) => s.false_negatives += 1,
            }
        }
        Ok(s)
    }

    /// Number of examples.
    pub fn count(&self) -> usize {
        self.true_positives + self.false_positives + self.true_negatives + self.false_negatives
    }

    /// Fraction answered right (0 for no examples).
    pub fn accuracy(&self) -> f64 {
        ratio(self.true_positives + self.true_negatives, self.count())
    }

    /// Of the examples called "yes", the fraction that are: `tp / (tp + fp)`. 0 when
    /// nothing was called "yes" (scikit-learn's `zero_division=0`): a classifier that never
    /// says yes has no precision to speak of.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }

    /// Of the real "yes" examples, the fraction found: `tp / (tp + fn)` (0 when there are
    /// none).
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }
}

impl fmt::Display for BinaryScores {
    /// `accuracy=0.9108 precision=0.0000 recall=0.0000 (tp=0 fp=0 tn=9108 fn=892)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accuracy={:.4} precision={:.4} recall={:.4} (tp={} fp={} tn={} fn={})",
            self.accuracy(),
            self.precision(),
            self.recall(),
            self.true_positives,
            self.false_positives,
            self.true_negatives,
            self.false_negatives
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Counts of (true class, predicted class) pairs: row `t`, column `p` holds how many
/// examples of class `t` were called `p`. The diagonal is what went right.
///
/// ```
/// use neurite::teach::ConfusionMatrix;
/// let m = ConfusionMatrix::new(&[0, 1, 1, 2], &[0, 1, 2, 2], 3)?;
/// assert_eq!(m.get(1, 2), 1);
/// assert_eq!(m.accuracy(), 0.75);
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// Counts `predicted` against `actual` class indices, both below `classes`.
    pub fn new(actual: &[usize], predicted: &[usize], classes: usize) -> Result<ConfusionMatrix> {
        if actual.len() != predicted.len() {
            return Err(Error::Shape(format!(
                "confusion matrix: {} predictions for {} true classes",
                predicted.len(),
                actual.len()
            )));
        }
        let mut counts = vec![0; classes * classes];
        for (&t, &p) in actual.iter().zip(predicted) {
            if t >= classes || p >= classes {
                return Err(Error::Value(format!(
                    "confusion matrix: class pair ({t}, {p}) is not below {classes} classes"
                )));
            }
            counts[t * classes + p] += 1;
        }
        Ok(ConfusionMatrix { classes, counts })
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many examples of class `actual` were called `predicted` (0 outside the matrix).
    pub fn get(&self, actual: usize, predicted: usize) -> usize {
        if actual < self.classes && predicted < self.classes {
            self.counts[actual * self.classes + predicted]
        } else {
            0
        }
    }

    /// Number of examples.
    pub fn count(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Fraction on the diagonal (0 for no examples).
    pub fn accuracy(&self) -> f64 {
        ratio((0..self.classes).map(|c| self.get(c, c)).sum(), self.count())
    }
}
