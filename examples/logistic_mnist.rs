//! Note 002's logistic regression on MNIST: "is it a 5?" from one pixel, then from all 784
//! pixels plus a bias, against the answer "never a 5"; then ten one-vs-all models, the most
//! activated naming the digit; with pictures of what they learned.
//!
//! ```sh
//! cargo run --release --example logistic_mnist -- ../shared/data/mnist pictures/
//! ```
//!
//! Without MNIST it uses the bundled 8x8 digits. The pictures go to the second argument
//! (default `logistic-pictures`).

use std::path::{Path, PathBuf};

use neurite::data::{self, Dataset, DatasetName};
use neurite::plot;
use neurite::teach::{most_telling_pixel, never_scores, DigitDetector, LogisticOptions, OneVsAll, Pixels};

fn main() -> neurite::Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from);
    let out = PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| "logistic-pictures".into()));
    let (train, test) = match data::load(DatasetName::Mnist, dir.as_deref()) {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("{e}\nusing the bundled 8x8 digits instead");
            Dataset::digits()?
        }
    };
    std::fs::create_dir_all(&out).map_err(|e| neurite::Error::io(&out, e))?;
    let options = LogisticOptions::default();

    // Is it a 5? From the one pixel that tells 5s from the rest best, then from every pixel.
    let pixel = most_telling_pixel(&train, 5)?;
    let width = train.image_shape().1;
    let (mut one, _) = DigitDetector::fit(&train, 5, Pixels::One(pixel), &options)?;
    println!("one pixel (row {}, column {}): {}", pixel / width, pixel % width, one.scores(&test)?);
    let (mut all, history) = DigitDetector::fit(&train, 5, Pixels::All, &options)?;
    println!("all {} pixels and a bias:  {}", train.features(), all.scores(&test)?);
    println!("never a 5 (the baseline): {}", never_scores(&test, 5)?);
    plot::history_chart(&history, &out.join("is-it-a-5-history.png"))?;
    let w = all.weights()?;
    let w = w.reshape(&[w.size() as isize, 1])?;
    plot::weight_images(&w, train.image_shape(), &["5".into()], "is it a 5? the weights", &out.join("is-it-a-5.png"))?;

    // Ten one-vs-all models; the most activated names the digit.
    let (mut ova, history) = OneVsAll::fit(&train, &options)?;
    let confusion = ova.confusion(&test)?;
    let labels: Vec<String> = (0..ova.classes()).map(|k| k.to_string()).collect();
    plot::weight_images(
        &ova.weights()?,
        train.image_shape(),
        &labels,
        "one-vs-all: the weights of each digit's model",
        &out.join("one-vs-all-weights.png"),
    )?;
    plot::history_chart(&history, &out.join("one-vs-all-history.png"))?;
    plot::confusion_chart(&confusion, &out.join("one-vs-all-confusion.png"))?;
    plot::misclassified_grid(&test, &ova.predict(&test)?, 40, &out.join("one-vs-all-errors.png"))?;
    let (x, _) = test.normalized_tensors();
    let first = &x.to_vec()[..test.features()];
    plot::layers_picture(
        ova.model(),
        first,
        test.image_shape(),
        Some(usize::from(test.labels()[0])),
        &out.join("one-vs-all-layers.png"),
    )?;
    println!("pictures in {}", Path::new(&out).display());
    println!("test_accuracy={:.4}", confusion.accuracy());
    Ok(())
}
