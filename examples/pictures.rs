//! Every picture of `neurite::plot`, from the library: each activation with its derivative,
//! then the notes' 784-50-10 network trained for a few epochs and drawn: its loss and
//! accuracy per epoch, its first layer's weights, the activations of every layer for one
//! test image, the test images it gets wrong and its confusion matrix.
//!
//! ```sh
//! cargo run --release --example pictures -- ../shared/data/mnist pictures/
//! ```
//!
//! Without MNIST it uses the bundled 8x8 digits. The pictures go to the second argument
//! (default `pictures`).

use std::path::PathBuf;

use neurite::data::{self, Dataset, DatasetName};
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::plot;
use neurite::teach::{predicted_classes, ConfusionMatrix};
use neurite::train::{FitOptions, Metric, Sequential, Verbosity};

fn main() -> neurite::Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let out = PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| "pictures".into()));
    let written = plot::activation_charts(&out)?;
    println!("{} activation charts in {}", written.len(), out.display());

    let (train, test) = match data::load(DatasetName::Mnist, dir.as_deref()) {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("{e}\nusing the bundled 8x8 digits instead");
            Dataset::digits()?
        }
    };
    let mut model = Sequential::with_seed(0);
    model.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(train.features()))?;
    model.add(Dense::new(10).activation(Activation::Softmax))?;
    model.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])?;
    let options = FitOptions::default().epochs(5).validation_split(0.1).verbose(Verbosity::EpochLines);
    let history = model.fit_with(&train, None, &options, &mut [])?;

    plot::history_chart(&history, &out.join("history.png"))?;
    plot::history_chart(&history, &out.join("history.svg"))?;
    plot::first_layer_weights(&model, train.image_shape(), &out.join("weights.png"))?;
    let (x, _) = test.normalized_tensors();
    let first = &x.to_vec()[..test.features()];
    plot::layers_picture(
        &model,
        first,
        test.image_shape(),
        Some(usize::from(test.labels()[0])),
        &out.join("layers.png"),
    )?;
    let predicted = predicted_classes(&mut model, &test)?;
    let wrong = plot::misclassified_grid(&test, &predicted, 40, &out.join("errors.png"))?;
    let actual: Vec<usize> = test.labels().iter().map(|&l| usize::from(l)).collect();
    let confusion = ConfusionMatrix::new(&actual, &predicted, test.classes())?;
    plot::confusion_chart(&confusion, &out.join("confusion.png"))?;
    println!("{wrong} of {} test images wrong; pictures in {}", test.len(), out.display());
    println!("test_accuracy={:.4}", confusion.accuracy());
    Ok(())
}
