//! Where training examples come from: anything that can copy a batch of inputs and targets
//! into preallocated buffers ([`Examples`]), so that data sets can stay as bytes in memory and
//! arrays that someone else owns (a NumPy array) can be read where they are
//! ([`SliceExamples`]).

use super::engine::pool;
use crate::error::{shape_str, Error, Result};
use crate::tensor::Tensor;

/// What the targets of a data set are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// One class index per example, below `classes`.
    Classes {
        /// Number of classes.
        classes: usize,
    },
    /// One row of `width` numbers per example.
    Dense {
        /// Length of each target row.
        width: usize,
    },
}

/// The sources of examples neurite knows: this crate's own types only, so that the engine's
/// way of reading them can change without breaking anyone's code.
mod sealed {
    pub trait Sealed {}
    impl Sealed for super::TensorExamples {}
    impl Sealed for super::SliceExamples<'_> {}
    impl Sealed for crate::data::Dataset {}
    impl Sealed for crate::data::Table {}
    impl Sealed for crate::data::ImageFolder {}
}

/// A source of examples for `fit`, `evaluate` and `predict`: tensors
/// ([`TensorExamples`]), borrowed rows ([`SliceExamples`]), a byte data set
/// ([`crate::data::Dataset`]), a CSV table ([`crate::data::Table`]) or a folder of pictures
/// read from disk ([`crate::data::ImageFolder`]). The engine copies the rows of each batch
/// into its own buffers through the hidden methods, once per batch (sources in memory without
/// allocating).
pub trait Examples: Sync + sealed::Sealed {
    /// Number of examples.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of input features per example.
    fn features(&self) -> usize;
    /// What the targets are.
    fn target_kind(&self) -> TargetKind;
    /// The shape of one example when the source knows it: pictures `(height, width,
    /// channels)`, tensors their shape after the first axis; None for rows of a table.
    fn example_shape(&self) -> Option<Vec<usize>> {
        None
    }
    /// Called once with a training batch's examples before their features are gathered
    /// (by every thread, a range each): a source on disk reads them now, in parallel, so
    /// that the gathers copy from memory. Sources in memory have nothing to do.
    #[doc(hidden)]
    fn stage(&self, _indices: &[u32]) -> Result<()> {
        Ok(())
    }
    /// Whether [`Examples::stage`] does work (a source on disk): the engine then stages the
    /// next batch between a step's two parallel parts.
    #[doc(hidden)]
    fn stages(&self) -> bool {
        false
    }
    /// Copies the inputs of `indices` into `x` (`indices.len() * features()` values).
    #[doc(hidden)]
    fn gather_inputs(&self, indices: &[u32], x: &mut [f32]) -> Result<()>;
    /// Copies the features `first..first + count` of each example of `indices` into `x`
    /// (`indices.len() * count` values): a thread's share of the first layer's inputs.
    #[doc(hidden)]
    fn gather_feature_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()>;
    /// The inputs of examples `start..start + count` as contiguous rows, when the source
    /// holds them as f32 already (prediction then reads them in place instead of copying).
    #[doc(hidden)]
    fn input_rows(&self, _start: usize, _count: usize) -> Option<&[f32]> {
        None
    }
    /// The floats that the inputs stand for, where the source holds them as bytes (a data
    /// set's pixels): the first layer's products then read the bytes
    /// ([`Examples::gather_feature_bytes`]), a quarter of the memory, and nobody writes the
    /// floats.
    #[doc(hidden)]
    fn byte_table(&self) -> Option<&crate::kernels::sparse::ByteTable> {
        None
    }
    /// As [`Examples::gather_feature_range`], the bytes themselves (`indices.len() * count`),
    /// where [`Examples::byte_table`] says what they stand for.
    #[doc(hidden)]
    fn gather_feature_bytes(&self, _indices: &[u32], _first: usize, _count: usize, _x: &mut [u8]) -> Result<()> {
        Err(Error::Value("these examples do not hold their inputs as bytes".into()))
    }
    /// A hint that the features `first..first + count` of `indices` will be gathered soon
    /// (the next batch): sources in memory can ask the CPU to fetch them meanwhile.
    #[doc(hidden)]
    fn prefetch_feature_range(&self, _indices: &[u32], _first: usize, _count: usize) {}
    /// Copies class targets into `y` (only for [`TargetKind::Classes`]).
    #[doc(hidden)]
    fn gather_classes(&self, indices: &[u32], y: &mut [u32]) -> Result<()>;
    /// Copies target rows into `y` (only for [`TargetKind::Dense`]).
    #[doc(hidden)]
    fn gather_rows(&self, indices: &[u32], y: &mut [f32]) -> Result<()>;
}

/// Examples held as tensors: inputs of shape (n, features) and targets of shape (n,) (class
/// indices) or (n, width) (target rows).
#[derive(Debug, Clone)]
pub struct TensorExamples {
    /// The inputs as rows (n, features).
    x: Tensor,
    /// The shape of one example as given.
    example: Vec<usize>,
    y: Tensor,
    kind: TargetKind,
    labels: Vec<u32>,
}

impl TensorExamples {
    /// Pairs inputs with targets. With `classes` given, a 1-D `y` holds class indices below it.
    /// `x` may have more than two axes (images `(n, height, width, channels)`): each example's
    /// values are one row, and [`Examples::example_shape`] keeps its shape.
    pub fn new(x: &Tensor, y: &Tensor, classes: Option<usize>) -> Result<TensorExamples> {
        if x.ndim() < 2 {
            return Err(Error::Shape(format!(
                "fit/evaluate: x must have shape (examples, features...), got {}; reshape(&[-1, features]) first",
                shape_str(x.shape())
            )));
        }
        let n = x.shape()[0];
        if y.shape().first() != Some(&n) || y.ndim() > 2 {
            return Err(Error::Shape(format!(
                "fit/evaluate: x of shape {} and y of shape {} do not hold the same number of examples",
                shape_str(x.shape()),
                shape_str(y.shape())
            )));
        }
        let (kind, labels) = match (y.ndim(), classes) {
            (1, Some(classes)) => {
                let labels = y
                    .to_vec()
                    .into_iter()
                    .map(|v| {
                        if v >= 0.0 && v.fract() == 0.0 && (v as usize) < classes {
                            Ok(v as u32)
                        } else {
                            Err(Error::Value(format!("label {v} is not a class index below {classes}")))
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                (TargetKind::Classes { classes }, labels)
            }
            (1, None) => (TargetKind::Dense { width: 1 }, vec![]),
            _ => (TargetKind::Dense { width: y.shape()[1] }, vec![]),
        };
        let example = x.shape()[1..].to_vec();
        let features = crate::tensor::shape::numel(&example);
        let x = if x.ndim() == 2 { x.contiguous() } else { Tensor::from_vec(x.contiguous().to_vec(), &[n, features])? };
        Ok(TensorExamples { x, example, y: y.contiguous(), kind, labels })
    }
}

impl TensorExamples {
    /// The same examples as borrowed rows: the one implementation of the gathers.
    fn view(&self) -> SliceExamples<'_> {
        let targets = match self.kind {
            TargetKind::Classes { classes } => Targets::Classes { labels: &self.labels, classes },
            TargetKind::Dense { width } => Targets::Rows { y: self.y.as_slice().unwrap_or(&[]), width },
        };
        SliceExamples {
            x: self.x.as_slice().unwrap_or(&[]),
            rows: self.x.shape()[0],
            features: self.x.shape()[1],
            targets,
        }
    }
}

impl Examples for TensorExamples {
    fn len(&self) -> usize {
        self.x.shape()[0]
    }

    fn example_shape(&self) -> Option<Vec<usize>> {
        Some(self.example.clone())
    }

    fn features(&self) -> usize {
        self.x.shape()[1]
    }

    fn target_kind(&self) -> TargetKind {
        self.kind
    }

    fn gather_inputs(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        self.view().gather_inputs(indices, x)
    }

    fn input_rows(&self, start: usize, count: usize) -> Option<&[f32]> {
        let f = self.features();
        self.x.as_slice()?.get(start * f..(start + count) * f)
    }

    fn gather_feature_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        self.view().gather_feature_range(indices, first, count, x)
    }

    fn gather_classes(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        self.view().gather_classes(indices, y)
    }

    fn gather_rows(&self, indices: &[u32], y: &mut [f32]) -> Result<()> {
        self.view().gather_rows(indices, y)
    }
}

/// Examples in memory that someone else owns (a NumPy array, a memory map), read where they
/// are: inputs as rows of f32 one after the other, targets as class indices or as rows of
/// f32. Nothing is copied but the rows of each batch, as from a [`TensorExamples`].
///
/// ```
/// use neurite::nn::{Activation, Dense, Loss};
/// use neurite::optim::Optimizer;
/// use neurite::train::{FitOptions, Sequential, SliceExamples, Verbosity};
/// // Four examples of two features, two classes: the rows live in a plain slice.
/// let x = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
/// let labels = [0, 1, 1, 1];
/// let data = SliceExamples::new(&x, 2)?.with_classes(&labels, 2)?;
/// let mut model = Sequential::with_seed(0);
/// model.add(Dense::new(2).activation(Activation::Softmax).input_shape(2))?;
/// model.compile(Optimizer::adam().learning_rate(0.1), Loss::SparseCategoricalCrossentropy, &[])?;
/// let options = FitOptions::default().epochs(100).batch_size(4).verbose(Verbosity::Silent);
/// model.fit_with(&data, None, &options, &mut [])?;
/// assert_eq!(model.evaluate_with(&data)?.accuracy, 1.0);
/// // A slice whose length is not a whole number of rows is refused.
/// assert!(SliceExamples::new(&x[..7], 2).is_err());
/// # Ok::<(), neurite::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SliceExamples<'a> {
    x: &'a [f32],
    rows: usize,
    features: usize,
    targets: Targets<'a>,
}

/// The targets of [`SliceExamples`].
#[derive(Debug, Clone, Copy)]
enum Targets<'a> {
    /// None: inputs alone, for prediction.
    None,
    /// One class index per example.
    Classes { labels: &'a [u32], classes: usize },
    /// One row of `width` values per example.
    Rows { y: &'a [f32], width: usize },
}

impl<'a> SliceExamples<'a> {
    /// Inputs alone (for `predict_with`): `x` holds rows of `features` values, one after the
    /// other. Errors when `features` is 0 or `x` is not a whole number of rows.
    pub fn new(x: &'a [f32], features: usize) -> Result<SliceExamples<'a>> {
        if features == 0 || !x.len().is_multiple_of(features) {
            return Err(Error::Shape(format!("{} input values do not make rows of {features} features", x.len())));
        }
        Ok(SliceExamples { x, rows: x.len() / features, features, targets: Targets::None })
    }

    /// With one class index below `classes` per example (for the sparse categorical loss).
    pub fn with_classes(self, labels: &'a [u32], classes: usize) -> Result<SliceExamples<'a>> {
        let n = self.len();
        if labels.len() != n {
            return Err(Error::Shape(format!("{n} examples but {} labels", labels.len())));
        }
        if let Some((i, &label)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
            return Err(Error::Value(format!("label {label} (example {i}) is not a class index below {classes}")));
        }
        Ok(SliceExamples { targets: Targets::Classes { labels, classes }, ..self })
    }

    /// With one row of `width` target values per example, one after the other in `y`.
    pub fn with_rows(self, y: &'a [f32], width: usize) -> Result<SliceExamples<'a>> {
        let n = self.len();
        if width == 0 || y.len() != n * width {
            return Err(Error::Shape(format!(
                "{n} examples need {n} target rows of {width} values, got {} values",
                y.len()
            )));
        }
        Ok(SliceExamples { targets: Targets::Rows { y, width }, ..self })
    }
}

fn check_index(i: u32, n: usize) -> Result<usize> {
    let i = i as usize;
    if i >= n {
        return Err(Error::Index(format!("example {i} is out of range for {n} examples")));
    }
    Ok(i)
}

fn check_range(first: usize, count: usize, features: usize) -> Result<()> {
    if first.checked_add(count).is_none_or(|end| end > features) {
        return Err(Error::Index(format!("features {first}..{first}+{count} of {features}")));
    }
    Ok(())
}

fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::Shape(format!("gather: {what} buffer holds {got} values, the batch needs {want}")));
    }
    Ok(())
}

impl Examples for SliceExamples<'_> {
    fn len(&self) -> usize {
        self.rows
    }

    fn features(&self) -> usize {
        self.features
    }

    fn target_kind(&self) -> TargetKind {
        match self.targets {
            Targets::None => TargetKind::Dense { width: 0 },
            Targets::Classes { classes, .. } => TargetKind::Classes { classes },
            Targets::Rows { width, .. } => TargetKind::Dense { width },
        }
    }

    fn gather_inputs(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        let f = self.features;
        check_len("input", x.len(), indices.len() * f)?;
        for (dst, &i) in x.chunks_exact_mut(f.max(1)).zip(indices) {
            let i = check_index(i, self.len())?;
            dst.copy_from_slice(&self.x[i * f..(i + 1) * f]);
        }
        Ok(())
    }

    fn input_rows(&self, start: usize, count: usize) -> Option<&[f32]> {
        let f = self.features;
        self.x.get(start.checked_mul(f)?..start.checked_add(count)?.checked_mul(f)?)
    }

    fn gather_feature_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        let f = self.features;
        check_len("input", x.len(), indices.len() * count)?;
        check_range(first, count, f)?;
        for (dst, &i) in x.chunks_exact_mut(count.max(1)).zip(indices) {
            let i = check_index(i, self.len())?;
            dst.copy_from_slice(&self.x[i * f + first..i * f + first + count]);
        }
        Ok(())
    }

    fn gather_classes(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        check_len("label", y.len(), indices.len())?;
        let Targets::Classes { labels, .. } = self.targets else {
            return Err(Error::Value("these examples have no class labels".into()));
        };
        for (dst, &i) in y.iter_mut().zip(indices) {
            *dst = labels[check_index(i, self.len())?];
        }
        Ok(())
    }

    fn gather_rows(&self, indices: &[u32], y: &mut [f32]) -> Result<()> {
        let Targets::Rows { y: src, width } = self.targets else {
            return Err(Error::Value("these examples have no target rows".into()));
        };
        check_len("target", y.len(), indices.len() * width)?;
        for (dst, &i) in y.chunks_exact_mut(width.max(1)).zip(indices) {
            let i = check_index(i, self.len())?;
            dst.copy_from_slice(&src[i * width..(i + 1) * width]);
        }
        Ok(())
    }
}

/// A byte data set trains without ever holding f32 copies of its images: each batch is
/// converted as it is gathered.
impl Examples for crate::data::Dataset {
    fn example_shape(&self) -> Option<Vec<usize>> {
        let (h, w) = self.image_shape();
        Some(vec![h, w, 1])
    }

    fn len(&self) -> usize {
        crate::data::Dataset::len(self)
    }

    fn features(&self) -> usize {
        crate::data::Dataset::features(self)
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Classes { classes: self.classes() }
    }

    fn gather_inputs(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        self.gather_images(indices, x)
    }

    fn gather_feature_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        self.gather_pixel_range(indices, first, count, x)
    }

    fn prefetch_feature_range(&self, indices: &[u32], first: usize, count: usize) {
        self.prefetch_pixel_range(indices, first, count)
    }

    fn byte_table(&self) -> Option<&crate::kernels::sparse::ByteTable> {
        Some(self.pixel_table())
    }

    fn gather_feature_bytes(&self, indices: &[u32], first: usize, count: usize, x: &mut [u8]) -> Result<()> {
        self.gather_pixel_bytes(indices, first, count, x)
    }

    fn gather_classes(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        self.gather_labels(indices, y)
    }

    fn gather_rows(&self, _indices: &[u32], _y: &mut [f32]) -> Result<()> {
        Err(Error::Value(format!("{} has class labels, not target rows", self.name())))
    }
}

/// A table's rows are f32 in memory already: gathered by copying, predicted in place.
impl Examples for crate::data::Table {
    fn len(&self) -> usize {
        crate::data::Table::len(self)
    }

    fn features(&self) -> usize {
        crate::data::Table::features(self)
    }

    fn target_kind(&self) -> TargetKind {
        match self.schema().task {
            crate::data::Task::Classification => TargetKind::Classes { classes: self.classes() },
            crate::data::Task::Regression => TargetKind::Dense { width: 1 },
        }
    }

    fn gather_inputs(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        self.gather_rows_into(indices, x)
    }

    fn gather_feature_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        self.gather_range(indices, first, count, x)
    }

    fn input_rows(&self, start: usize, count: usize) -> Option<&[f32]> {
        self.row_span(start, count)
    }

    fn gather_classes(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        check_len("label", y.len(), indices.len())?;
        self.gather_labels(indices, y)
    }

    fn gather_rows(&self, indices: &[u32], y: &mut [f32]) -> Result<()> {
        check_len("target", y.len(), indices.len())?;
        self.gather_values(indices, y)
    }
}

/// A folder of pictures is read from disk: a training batch is decoded once, in parallel on
/// the engine's threads, when it is staged; evaluation decodes each block of rows on the
/// thread that takes it. Memory holds one batch of pictures, never the folder.
impl Examples for crate::data::ImageFolder {
    fn len(&self) -> usize {
        crate::data::ImageFolder::len(self)
    }

    fn example_shape(&self) -> Option<Vec<usize>> {
        let s = self.data_schema();
        let s = match &s {
            crate::data::Schema::Images(i) => i,
            crate::data::Schema::Table(_) => return None,
        };
        Some(vec![s.height, s.width, s.color.channels()])
    }

    fn features(&self) -> usize {
        crate::data::ImageFolder::features(self)
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Classes { classes: self.classes() }
    }

    fn stages(&self) -> bool {
        true
    }

    fn stage(&self, indices: &[u32]) -> Result<()> {
        let f = crate::data::ImageFolder::features(self);
        crate::data::ImageFolder::stage(self, indices, |rows| {
            pool::for_each_chunk_mut(rows, f, |k, row| self.decode_into(indices[k], row))
        })
    }

    fn gather_inputs(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        self.gather_range(indices, 0, crate::data::ImageFolder::features(self), x)
    }

    fn gather_feature_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        self.gather_range(indices, first, count, x)
    }

    fn gather_classes(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        self.gather_labels(indices, y)
    }

    fn gather_rows(&self, _indices: &[u32], _y: &mut [f32]) -> Result<()> {
        Err(Error::Value(format!("{} has class labels, not target rows", self.name())))
    }
}
