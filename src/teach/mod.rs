//! The notes' small models, written to be read in one sitting: the Rosenblatt perceptron
//! and its learning rule (note 003). Each keeps its parameters in a
//! [`ParamStore`](crate::ParamStore), as every model of the library does, so that model files,
//! pictures and the web page read them the same way.

mod perceptron;

pub use perceptron::Perceptron;
