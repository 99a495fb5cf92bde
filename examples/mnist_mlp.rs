//! The notes' central program with the library instead of the CLI: MNIST, x / 255,
//! reshape(-1, 784), Dense(50, sigmoid), Dense(10, softmax), Adam, sparse categorical
//! cross-entropy, 10 epochs of batch 32, then test loss and accuracy.
//!
//! ```sh
//! cargo run --release --example mnist_mlp -- ../shared/data/mnist
//! ```
//!
//! Without a directory it looks where `neurite train` looks ($NEURITE_DATA, ./data/mnist,
//! the user cache) and, when MNIST is nowhere, trains on the bundled 8x8 digits instead.

use std::path::PathBuf;

use neurite::data::{self, Dataset, DatasetName};
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::train::{FitOptions, Metric, Sequential};

fn main() -> neurite::Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    // The data stay bytes; each batch is converted to x / 255 as it is used.
    let (train, test): (Dataset, Dataset) = match data::load(DatasetName::Mnist, dir.as_deref()) {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("{e}\nusing the bundled 8x8 digits instead");
            Dataset::digits()?
        }
    };
    println!("{}: {} training and {} test images", train.name(), train.len(), test.len());

    let mut model = Sequential::with_seed(1);
    model.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(train.features()))?;
    model.add(Dense::new(10).activation(Activation::Softmax))?;
    println!("{}", model.summary());
    model.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])?;

    let history = model.fit_with(&train, None, &FitOptions::default().epochs(10).batch_size(32), &mut [])?;
    println!("loss per epoch: {:.4?}", history.get("loss"));

    let result = model.evaluate_with(&test)?;
    println!("test_loss={:.4} test_accuracy={:.4}", result.loss, result.accuracy);
    Ok(())
}
