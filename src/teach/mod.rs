//! The notes' small models, written to be read in one sitting: the Rosenblatt perceptron
//! and its learning rule, logic gates from perceptrons and XOR from two layers (note 003),
//! logistic regression on MNIST, "is it a 5?" and ten one-vs-all models (note 002), and the
//! scores that judge them. Each keeps its parameters in a [`ParamStore`](crate::ParamStore),
//! as every model of the library does, so that model files, pictures and the web page read
//! them the same way; the logistic models and the XOR network are the library's own
//! `Dense` layers and losses trained by [`Sequential`](crate::train::Sequential), not a
//! second copy of the maths.

mod gates;
mod logistic;
mod metrics;
mod perceptron;

pub use gates::{learn_xor, Gate, TruthTable, INPUTS};
pub use logistic::{
    most_telling_pixel, never_scores, predicted_classes, DigitDetector, LogisticOptions, OneVsAll, Pixels,
};
pub use metrics::{BinaryScores, ConfusionMatrix};
pub use perceptron::Perceptron;
