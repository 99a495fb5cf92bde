//! Logistic regression on MNIST, as note 002 builds it: "is it a 5?" from one pixel, then
//! from all 784 pixels plus a bias, answered "yes" when `sigmoid(x . w + b)` is above 0.5;
//! then ten such models, one per digit, the most activated one naming the digit.
//!
//! Each model is the library's own `Dense(units, sigmoid)` layer trained with binary
//! cross-entropy through [`Sequential`]: the sigmoid, the loss and their gradient are the
//! ones every network uses, and the weights live in the model's
//! [`ParamStore`](crate::ParamStore) (`dense/kernel`, `dense/bias`), so they can be drawn as
//! 28x28 images and saved with [`crate::io::save_model`].

use super::metrics::{BinaryScores, ConfusionMatrix};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::nn::{Activation, Dense, Initializer, Loss};
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::train::{Examples, FitOptions, History, Metric, Sequential, Verbosity};

/// How a logistic model is trained: from zero weights, by gradient descent on mini-batches
/// of binary cross-entropy.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticOptions {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per gradient step.
    pub batch_size: usize,
    /// The optimiser, with its learning rate.
    pub optimizer: Optimizer,
    /// Seed of the shuffling (the weights start at zero).
    pub seed: u64,
    /// Fraction of the training data held out, from its end, to draw validation curves.
    pub validation_split: f64,
    /// Threads (None: all cores). The numbers are the same for a given seed and count.
    pub threads: Option<usize>,
    /// What `fit` prints.
    pub verbose: Verbosity,
}

impl Default for LogisticOptions {
    /// 5 epochs of batch 32, plain gradient descent (the notes' rule) with learning rate
    /// 0.1, seed 0, a tenth held out, silent.
    fn default() -> Self {
        LogisticOptions {
            epochs: 5,
            batch_size: 32,
            optimizer: Optimizer::sgd().learning_rate(0.1),
            seed: 0,
            validation_split: 0.1,
            threads: None,
            verbose: Verbosity::Silent,
        }
    }
}

impl LogisticOptions {
    fn fit_options(&self) -> FitOptions {
        FitOptions::default()
            .epochs(self.epochs)
            .batch_size(self.batch_size)
            .seed(self.seed)
            .validation_split(self.validation_split)
            .verbose(self.verbose)
    }

    /// A model of one `Dense(units, sigmoid)` layer on `inputs` features, compiled. The
    /// weights start at zero, as logistic regression's do (its loss has one minimum, so
    /// there is no symmetry to break): a pixel that is never inked then keeps a zero weight
    /// and stays black in the weight images instead of showing its random start.
    fn model(&self, inputs: usize, units: usize) -> Result<Sequential> {
        let mut model = Sequential::with_seed(self.seed);
        if let Some(t) = self.threads {
            model.set_threads(t)?;
        }
        model.add(
            Dense::new(units)
                .activation(Activation::Sigmoid)
                .kernel_initializer(Initializer::Zeros)
                .input_shape(inputs),
        )?;
        model.compile(self.optimizer, Loss::BinaryCrossentropy, &[Metric::Accuracy])?;
        Ok(model)
    }
}

/// Which pixels a detector looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pixels {
    /// One pixel, by its index in the flattened image (row * width + column).
    One(usize),
    /// Every pixel.
    All,
}

/// "Is it a `digit`?": logistic regression `sigmoid(x . w + b)` on one pixel or on all of
/// them, "yes" above 0.5.
///
/// ```
/// use neurite::data::Dataset;
/// use neurite::teach::{DigitDetector, LogisticOptions, Pixels};
/// let (train, test) = Dataset::digits()?;   // the bundled 8x8 digits; MNIST works the same
/// let options = LogisticOptions { epochs: 50, ..LogisticOptions::default() };
/// let (mut fives, _history) = DigitDetector::fit(&train, 5, Pixels::All, &options)?;
/// let scores = fives.scores(&test)?;
/// assert!(scores.accuracy() > 0.95 && scores.recall() > 0.75, "{scores}");
/// assert_eq!(fives.weights()?.shape(), &[64]);
/// # Ok::<(), neurite::Error>(())
/// ```
pub struct DigitDetector {
    model: Sequential,
    digit: u8,
    pixels: Pixels,
}

impl DigitDetector {
    /// Trains a detector of `digit` on `train` (targets: 1 for that digit, 0 for the rest).
    pub fn fit(
        train: &Dataset,
        digit: u8,
        pixels: Pixels,
        options: &LogisticOptions,
    ) -> Result<(DigitDetector, History)> {
        check_digit(train, digit)?;
        let x = inputs(train, pixels)?;
        let y = targets(train, digit);
        let mut model = options.model(x.shape()[1], 1)?;
        let history = model.fit(&x, &y, &options.fit_options())?;
        Ok((DigitDetector { model, digit, pixels }, history))
    }

    /// The digit it looks for.
    pub fn digit(&self) -> u8 {
        self.digit
    }

    /// The pixels it looks at.
    pub fn pixels(&self) -> Pixels {
        self.pixels
    }

    /// `sigmoid(x . w + b)` for every example of `data`: how sure it is that each is the
    /// digit.
    pub fn probabilities(&mut self, data: &Dataset) -> Result<Vec<f32>> {
        Ok(self.model.predict(&inputs(data, self.pixels)?)?.to_vec())
    }

    /// "Yes" where the probability is above 0.5, the notes' threshold.
    pub fn predict(&mut self, data: &Dataset) -> Result<Vec<bool>> {
        Ok(self.probabilities(data)?.into_iter().map(|p| p > 0.5).collect())
    }

    /// Accuracy, precision and recall on `data`.
    pub fn scores(&mut self, data: &Dataset) -> Result<BinaryScores> {
        check_digit(data, self.digit)?;
        let predicted = self.predict(data)?;
        let actual: Vec<bool> = data.labels().iter().map(|&l| l == self.digit).collect();
        BinaryScores::from_predictions(&predicted, &actual)
    }

    /// The weights `w`, one per pixel looked at, shape (features,): the picture of a 5 that
    /// the model learned when it looks at every pixel.
    pub fn weights(&self) -> Result<Tensor> {
        let w = self.model.params().get("dense/kernel")?;
        let n = w.size();
        w.reshape(&[n as isize])
    }

    /// The bias `b` (the notes' `theta_0`).
    pub fn bias(&self) -> Result<f32> {
        self.model.params().get("dense/bias")?.item()
    }

    /// The underlying model (one `Dense(1, sigmoid)` layer), e.g. to save it.
    pub fn model(&self) -> &Sequential {
        &self.model
    }
}

/// The scores of the answer "never `digit`" on `data`: note 002's warning. On MNIST's test
/// set, "never a 5" is right about 91% of the time (892 of the 10,000 images are 5s) and
/// finds none of them, precision and recall 0.
///
/// ```
/// let (_, test) = neurite::data::Dataset::digits()?;
/// let never = neurite::teach::never_scores(&test, 5)?;
/// assert!(never.accuracy() > 0.85);
/// assert_eq!((never.precision(), never.recall()), (0.0, 0.0));
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn never_scores(data: &Dataset, digit: u8) -> Result<BinaryScores> {
    check_digit(data, digit)?;
    let actual: Vec<bool> = data.labels().iter().map(|&l| l == digit).collect();
    BinaryScores::from_predictions(&vec![false; actual.len()], &actual)
}

/// The single pixel that tells `digit` from the others best on average: the one whose mean
/// grey level differs most between images of `digit` and the rest. The one-pixel model of
/// note 002 looks at it.
pub fn most_telling_pixel(data: &Dataset, digit: u8) -> Result<usize> {
    check_digit(data, digit)?;
    let f = data.features();
    let (mut with, mut without) = (vec![0u64; f], vec![0u64; f]);
    let (mut n_with, mut n_without) = (0u64, 0u64);
    for (image, &label) in data.images().chunks_exact(f).zip(data.labels()) {
        let (sums, n) = if label == digit { (&mut with, &mut n_with) } else { (&mut without, &mut n_without) };
        *n += 1;
        for (s, &v) in sums.iter_mut().zip(image) {
            *s += u64::from(v);
        }
    }
    if n_with == 0 || n_without == 0 {
        return Err(Error::Value(format!(
            "{}: needs images of {digit} and of other digits, has {n_with} and {n_without}",
            data.name()
        )));
    }
    let gap = |p: usize| (with[p] as f64 / n_with as f64 - without[p] as f64 / n_without as f64).abs();
    // The first of equals, so that the choice does not depend on the order of comparison.
    Ok((0..f).fold(0, |best, p| if gap(p) > gap(best) { p } else { best }))
}

/// Ten (one per class) "is it a k?" logistic regressions; the most activated names the
/// digit. They are the ten units of one `Dense(10, sigmoid)` layer, trained side by side:
/// unit k has its own weights, and its gradient comes only from its own output against "is
/// it a k". The loss is the mean of the ten binary cross-entropies, which scales each
/// gradient by a tenth; for gradient descent the learning rate is multiplied by ten to undo
/// that (the adaptive optimisers divide the scale out themselves). So training them together
/// takes, for each model, the steps it would take alone, in one pass over the data.
///
/// ```
/// use neurite::data::Dataset;
/// use neurite::teach::{LogisticOptions, OneVsAll};
/// let (train, test) = Dataset::digits()?;
/// let options = LogisticOptions { epochs: 20, ..LogisticOptions::default() };
/// let (mut ova, history) = OneVsAll::fit(&train, &options)?;
/// assert!(ova.accuracy(&test)? > 0.9);
/// assert_eq!(ova.weights()?.shape(), &[64, 10]);   // one column of weights per digit
/// assert_eq!(history.get("val_accuracy").len(), 20);
/// # Ok::<(), neurite::Error>(())
/// ```
pub struct OneVsAll {
    model: Sequential,
}

impl OneVsAll {
    /// Trains one model per class of `train` on all its pixels.
    pub fn fit(train: &Dataset, options: &LogisticOptions) -> Result<(OneVsAll, History)> {
        if train.classes() < 2 {
            return Err(Error::Value(format!("{}: one-vs-all needs at least 2 classes", train.name())));
        }
        let classes = train.classes();
        let options = LogisticOptions { optimizer: per_model(options.optimizer, classes), ..options.clone() };
        let mut model = options.model(train.features(), classes)?;
        // Class labels meet binary cross-entropy as one-hot rows: target 1 for unit k on
        // the images of k, 0 elsewhere.
        let history = model.fit_with(train, None, &options.fit_options(), &mut [])?;
        Ok((OneVsAll { model }, history))
    }

    /// Each model's `sigmoid(x . w_k + b_k)` for every example, shape (n, classes).
    pub fn activations(&mut self, data: &Dataset) -> Result<Tensor> {
        self.model.predict_with(data)
    }

    /// The most activated model for each example.
    pub fn predict(&mut self, data: &Dataset) -> Result<Vec<usize>> {
        self.activations(data)?.argmax_axis(1)
    }

    /// The confusion matrix on `data`.
    pub fn confusion(&mut self, data: &Dataset) -> Result<ConfusionMatrix> {
        let predicted = self.predict(data)?;
        let actual: Vec<usize> = data.labels().iter().map(|&l| usize::from(l)).collect();
        ConfusionMatrix::new(&actual, &predicted, data.classes().max(self.classes()))
    }

    /// Fraction of `data` whose most activated model is the right one.
    pub fn accuracy(&mut self, data: &Dataset) -> Result<f64> {
        Ok(self.confusion(data)?.accuracy())
    }

    /// Number of classes (models).
    pub fn classes(&self) -> usize {
        self.model.output_units().unwrap_or(0)
    }

    /// The weights, shape (pixels, classes): column k is model k's picture of a k.
    pub fn weights(&self) -> Result<Tensor> {
        self.model.params().get("dense/kernel")
    }

    /// The underlying model (one `Dense(classes, sigmoid)` layer), e.g. to save it.
    pub fn model(&self) -> &Sequential {
        &self.model
    }

    /// The underlying model, for predictions through its own methods.
    pub fn model_mut(&mut self) -> &mut Sequential {
        &mut self.model
    }
}

/// The class each example of `data` is given by `model`: the most activated output, or for
/// a model with a single (sigmoid) output, 1 above 0.5 and 0 below.
pub fn predicted_classes(model: &mut Sequential, data: &dyn Examples) -> Result<Vec<usize>> {
    let out = model.predict_with(data)?;
    if out.shape()[1] == 1 {
        Ok(out.to_vec().into_iter().map(|p| usize::from(p > 0.5)).collect())
    } else {
        out.argmax_axis(1)
    }
}

/// The optimiser that gives each of `classes` models trained side by side the steps it
/// would take alone. Their mean loss scales each model's gradient by `1 / classes`; a
/// gradient-descent step is proportional to the gradient, so its rate is multiplied back,
/// while AdaGrad, RMSprop and Adam divide the gradient's scale out themselves.
fn per_model(optimizer: Optimizer, classes: usize) -> Optimizer {
    match optimizer {
        Optimizer::Sgd { .. } => optimizer.learning_rate(optimizer.lr() * classes as f32),
        // PyTorch's SGD too (its momentum buffer is linear in the gradient), unless a weight
        // decay adds a term the mean does not scale.
        Optimizer::TorchSgd { weight_decay: 0.0, .. } => optimizer.learning_rate(optimizer.lr() * classes as f32),
        adaptive => adaptive,
    }
}

fn check_digit(data: &Dataset, digit: u8) -> Result<()> {
    if usize::from(digit) >= data.classes() {
        return Err(Error::Value(format!(
            "digit {digit} is not one of the {} classes of {}",
            data.classes(),
            data.name()
        )));
    }
    Ok(())
}

/// The model's inputs: every pixel normalised to 0..1, shape (n, features), or the one
/// pixel, shape (n, 1).
fn inputs(data: &Dataset, pixels: Pixels) -> Result<Tensor> {
    match pixels {
        Pixels::All => Ok(data.normalized_tensors().0),
        Pixels::One(p) => {
            let f = data.features();
            if p >= f {
                return Err(Error::Index(format!(
                    "pixel {p} is outside images of {f} pixels ({}x{})",
                    data.image_shape().0,
                    data.image_shape().1
                )));
            }
            let scale = f32::from(data.max_value());
            let column = data.images().chunks_exact(f).map(|image| f32::from(image[p]) / scale).collect();
            Tensor::from_vec(column, &[data.len(), 1])
        }
    }
}

/// 1 for the images of `digit`, 0 for the rest, shape (n, 1).
fn targets(data: &Dataset, digit: u8) -> Tensor {
    let t: Vec<f32> = data.labels().iter().map(|&l| if l == digit { 1.0 } else { 0.0 }).collect();
    Tensor::from_parts(t, &[data.len(), 1])
}
