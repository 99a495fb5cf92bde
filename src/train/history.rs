//! What a fit records: the numbers of each epoch ([`EpochLogs`]), the running numbers after
//! each batch ([`BatchLogs`]) and the whole run ([`History`], Keras' `History`). Plain data,
//! read by the callbacks and kept in a fit's progress.

use serde::{Deserialize, Serialize};

use super::engine::Totals;

/// The numbers of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLogs {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub loss: f64,
    /// Training accuracy over the epoch, when the model was compiled with
    /// [`Metric::Accuracy`](super::Metric::Accuracy) (a regressor's has none, as in Keras).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Loss on the validation data, when there is some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    /// Accuracy on the validation data, when there is some and accuracy is logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
    /// Wall-clock seconds of the epoch's training steps.
    pub seconds: f64,
}

impl EpochLogs {
    /// A logged quantity by its Keras name: `loss`, `accuracy`, `val_loss`, `val_accuracy`.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "accuracy" | "acc" => self.accuracy,
            "val_loss" => self.val_loss,
            "val_accuracy" | "val_acc" => self.val_accuracy,
            _ => None,
        }
    }

    /// `loss: 0.1234 - accuracy: 0.9650 - val_loss: ...`, as Keras prints it (what was
    /// logged: no accuracy for a regressor).
    pub fn summary(&self) -> String {
        let mut s = format!("loss: {:.4}", self.loss);
        for (name, value) in
            [("accuracy", self.accuracy), ("val_loss", self.val_loss), ("val_accuracy", self.val_accuracy)]
        {
            if let Some(v) = value {
                s += &format!(" - {name}: {v:.4}");
            }
        }
        s
    }
}

/// What `fit` returns: the logs of every epoch (Keras' `History`). Serialisable both ways,
/// so that a history saved as JSON can be drawn later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One entry per completed epoch.
    pub epochs: Vec<EpochLogs>,
    /// Whether a callback stopped training before the last epoch.
    pub stopped_early: bool,
}

impl History {
    /// A logged quantity over the epochs (`history.get("val_loss")`).
    pub fn get(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.get(name)).collect()
    }

    /// Total training seconds (0 when no epoch ran).
    ///
    /// ```
    /// let h = neurite::train::History::default();
    /// assert_eq!(format!("{:.2}", h.seconds()), "0.00");
    /// ```
    pub fn seconds(&self) -> f64 {
        // Folded from +0.0: an empty f64 sum is -0.0, which would print as "-0.00".
        self.epochs.iter().fold(0.0, |total, e| total + e.seconds)
    }
}

/// The running numbers of an epoch after a batch (Keras' batch `logs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatchLogs {
    /// Mean training loss of the epoch's batches so far (weighted by batch size).
    pub loss: f64,
    /// Training accuracy of the epoch so far, when the epochs log it.
    pub accuracy: Option<f64>,
    /// Examples seen in the epoch so far.
    pub examples: usize,
}

impl BatchLogs {
    pub(crate) fn from_totals(t: &Totals, accuracy: bool) -> BatchLogs {
        BatchLogs { loss: t.loss(), accuracy: accuracy.then(|| t.accuracy()), examples: t.count }
    }
}
