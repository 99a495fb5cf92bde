//! Where the model commands (`eval`, `summary`, `predict`, `export`) get their model: a file
//! of any format the library reads, and the activations for the formats that do not record
//! them.

use std::path::PathBuf;

use clap::Args;

use neurite::error::{Error, Result};
use neurite::io::{self, Activations};
use neurite::nn::Activation;
use neurite::train::Sequential;

/// The model to load.
#[derive(Debug, Clone, Args)]
pub(crate) struct ModelArgs {
    /// The model: a file from `train --save` or `import`, or any format `import` reads
    /// (ONNX, a PyTorch state_dict as .pt or safetensors, NumPy .npz).
    #[arg(long, value_name = "FILE", required_unless_present = "weights", conflicts_with = "weights")]
    pub(crate) model: Option<PathBuf>,
    /// A network stored as arrays W1, b1, W2, b2, ... with W of shape (inputs, outputs) (.npz,
    /// or a pickle of NumPy arrays such as the book's sample_weight.pkl), or a PyTorch
    /// state_dict; needs --activation and --output.
    #[arg(long, value_name = "FILE")]
    pub(crate) weights: Option<PathBuf>,
    /// Activation of the hidden layers, for weights that do not record it (sigmoid, relu, ...).
    #[arg(long)]
    pub(crate) activation: Option<Activation>,
    /// Activation of the output layer, for weights that do not record it (softmax, ...).
    #[arg(long, alias = "output-activation")]
    pub(crate) output: Option<Activation>,
    /// Threads (default: all cores).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threads: Option<usize>,
}

impl ModelArgs {
    /// The file named by --model or --weights.
    pub(crate) fn path(&self) -> Result<&PathBuf> {
        self.model
            .as_ref()
            .or(self.weights.as_ref())
            .ok_or_else(|| Error::Value("give --model FILE or --weights FILE".into()))
    }

    /// Loads the model, on the threads asked for.
    pub(crate) fn load(&self) -> Result<Sequential> {
        let mut model = io::load_any(self.path()?, Activations { hidden: self.activation, output: self.output })?;
        if let Some(t) = self.threads {
            model.set_threads(t)?;
        }
        Ok(model)
    }
}
