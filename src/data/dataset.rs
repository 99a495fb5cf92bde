//! A labelled image data set held as bytes, converted to normalised f32 one batch at a
//! time: 60,000 MNIST images take 47 MB as bytes, 188 MB as f32.

use super::batches::{BatchSource, Batches};
use super::digits;
use crate::error::{Error, Result};
use crate::kernels::sparse::ByteTable;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Images (grey levels `0..=max_value`) with class labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    name: String,
    images: Vec<u8>,
    labels: Vec<u8>,
    height: usize,
    width: usize,
    classes: usize,
    max_value: u8,
    /// The float each grey level stands for (`byte / max_value`), as the gathers compute it.
    pixel_table: ByteTable,
}

impl Dataset {
    /// A data set of `labels.len()` images of `height x width` bytes each (row-major, one
    /// image after another). Labels must be below `classes`; `max_value` is the brightest
    /// grey level (255 for MNIST, 16 for the 8x8 digits), used to normalise to 0..1.
    pub fn new(
        name: &str,
        images: Vec<u8>,
        labels: Vec<u8>,
        height: usize,
        width: usize,
        classes: usize,
        max_value: u8,
    ) -> Result<Dataset> {
        let features = height.checked_mul(width).unwrap_or(0);
        if features == 0 || labels.len().checked_mul(features) != Some(images.len()) {
            return Err(Error::Shape(format!(
                "{name}: {} image bytes do not make {} images of {height} x {width}",
                images.len(),
                labels.len()
            )));
        }
        if max_value == 0 {
            return Err(Error::Value(format!("{name}: max_value must be above 0")));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
            return Err(Error::Format(format!("{name}: label {l} of example {i} is not below {classes} classes")));
        }
        if labels.len() > u32::MAX as usize {
            return Err(Error::Value(format!("{name}: {} examples are more than batches can index", labels.len())));
        }
        if let Some(&v) = images.iter().find(|&&v| v > max_value) {
            return Err(Error::Format(format!("{name}: grey level {v} is above the stated maximum {max_value}")));
        }
        let mut levels = [0f32; 256];
        let bytes: [u8; 256] = std::array::from_fn(|b| b as u8);
        crate::kernels::reduce::bytes_to_unit(&bytes, &mut levels, max_value as f32);
        let pixel_table = ByteTable::new(levels)
            .ok_or_else(|| Error::Value(format!("{name}: a grey level over {max_value} is 0 as a float")))?;
        Ok(Dataset { name: name.to_string(), images, labels, height, width, classes, max_value, pixel_table })
    }

    /// The data set's name (`mnist-train`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image (784 for MNIST).
    pub fn features(&self) -> usize {
        self.height * self.width
    }

    /// (height, width) of each image.
    pub fn image_shape(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The brightest grey level.
    pub fn max_value(&self) -> u8 {
        self.max_value
    }

    /// All image bytes.
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let f = self.features();
        let start = i.checked_mul(f)?;
        self.images.get(start..start.checked_add(f)?)
    }

    /// The training hot path: copies the images `indices` into `x` normalised to 0..1
    /// (`byte / max_value`, computed in f32 as `x / 255.0` is in NumPy's float32), and
    /// their labels into `y`. Does not allocate.
    pub fn gather(&self, indices: &[u32], x: &mut [f32], y: &mut [u32]) -> Result<()> {
        self.gather_images(indices, x)?;
        self.gather_labels(indices, y)
    }

    /// The image part of [`Dataset::gather`].
    pub(crate) fn gather_images(&self, indices: &[u32], x: &mut [f32]) -> Result<()> {
        let f = self.features();
        if x.len() != indices.len() * f {
            return Err(Error::Shape(format!(
                "{}: {} batch values for {} images of {f} pixels",
                self.name,
                x.len(),
                indices.len()
            )));
        }
        let scale = self.max_value as f32;
        for (dst, &i) in x.chunks_exact_mut(f).zip(indices) {
            let src = self.image(i as usize).ok_or_else(|| self.out_of_range(i))?;
            crate::kernels::reduce::bytes_to_unit(src, dst, scale);
        }
        Ok(())
    }

    /// Pixels `first..first + count` of each image `indices`, normalised, into `x`
    /// (`indices.len() * count` values): one thread's share of a batch. Does not allocate.
    pub(crate) fn gather_pixel_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        let scale = self.max_value as f32;
        self.gather_pixels(indices, first, count, x, "values", |src, dst| {
            crate::kernels::reduce::bytes_to_unit(src, dst, scale)
        })
    }

    /// The float each grey level stands for, as [`Dataset::gather_pixel_range`] converts it.
    pub(crate) fn pixel_table(&self) -> &ByteTable {
        &self.pixel_table
    }

    /// Pixels `first..first + count` of the images `indices`, as bytes, into `x` (a row of
    /// `count` per image).
    pub(crate) fn gather_pixel_bytes(&self, indices: &[u32], first: usize, count: usize, x: &mut [u8]) -> Result<()> {
        self.gather_pixels(indices, first, count, x, "bytes", |src, dst| dst.copy_from_slice(src))
    }

    /// For each image of `indices`, `row(its pixels first..first + count, its row of x)`, after
    /// checking the range and `x`'s length (`indices.len() * count` entries, named `unit`).
    fn gather_pixels<T>(
        &self,
        indices: &[u32],
        first: usize,
        count: usize,
        x: &mut [T],
        unit: &str,
        row: impl Fn(&[u8], &mut [T]),
    ) -> Result<()> {
        let f = self.features();
        if first.checked_add(count).is_none_or(|end| end > f) || indices.len().checked_mul(count) != Some(x.len()) {
            return Err(Error::Shape(format!(
                "{}: pixels {first}..{first}+{count} of {f} for {} images into {} {unit}",
                self.name,
                indices.len(),
                x.len()
            )));
        }
        if count == 0 {
            return Ok(());
        }
        for (dst, &i) in x.chunks_exact_mut(count).zip(indices) {
            let src = self.image(i as usize).ok_or_else(|| self.out_of_range(i))?;
            row(&src[first..first + count], dst);
        }
        Ok(())
    }

    /// Asks the CPU to bring pixels `first..first + count` of the images `indices` into the
    /// cache (a hint; out-of-range indices are skipped). Training calls it for the next
    /// batch, whose images are scattered over tens of megabytes.
    pub(crate) fn prefetch_pixel_range(&self, indices: &[u32], first: usize, count: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            for &i in indices {
                let Some(image) = self.image(i as usize) else { continue };
                let Some(span) = image.get(first..first + count) else { continue };
                for line in span.chunks(64) {
                    // SAFETY: a prefetch is only a hint and never faults; the pointer is in
                    // bounds anyway (a chunk of a slice of this image).
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr() as *const i8) };
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (indices, first, count);
    }

    /// The label part of [`Dataset::gather`].
    pub(crate) fn gather_labels(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        if y.len() != indices.len() {
            return Err(Error::Shape(format!("{}: {} label slots for {} examples", self.name, y.len(), indices.len())));
        }
        for (d, &i) in y.iter_mut().zip(indices) {
            *d = *self.labels.get(i as usize).ok_or_else(|| self.out_of_range(i))? as u32;
        }
        Ok(())
    }

    fn out_of_range(&self, i: u32) -> Error {
        Error::Index(format!("{}: example {i} is out of range for {} examples", self.name, self.len()))
    }

    /// Everything as tensors, as Keras' `load_data` gives it: `x` of shape (n, height,
    /// width) holding the grey levels as they are (0..255 for MNIST), `y` of shape (n,)
    /// holding the labels. Follow the notes from here: `x / 255.0`, `reshape(-1, 784)`.
    pub fn raw_tensors(&self) -> (Tensor, Tensor) {
        let x = self.images.iter().map(|&b| b as f32).collect();
        (Tensor::from_parts(x, &[self.len(), self.height, self.width]), self.label_tensor())
    }

    /// Everything as tensors ready for a model: `x` of shape (n, features), flattened and
    /// divided by the brightest grey level (the notes' `x / 255.0` and `reshape(-1, 784)`,
    /// done), `y` of shape (n,) holding the labels.
    pub fn normalized_tensors(&self) -> (Tensor, Tensor) {
        let scale = self.max_value as f32;
        let x = self.images.iter().map(|&b| b as f32 / scale).collect();
        (Tensor::from_parts(x, &[self.len(), self.features()]), self.label_tensor())
    }

    fn label_tensor(&self) -> Tensor {
        Tensor::from_parts(self.labels.iter().map(|&l| l as f32).collect(), &[self.len()])
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let f = self.features();
        let len = indices.len() * f;
        let mut images = super::pages::reserved(len)
            .ok_or_else(|| Error::Value(format!("{}: {len} bytes of images cannot be allocated", self.name)))?;
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i).ok_or_else(|| self.out_of_range(i as u32))?);
            labels.push(self.labels[i]);
        }
        Dataset::new(&self.name, images, labels, self.height, self.width, self.classes, self.max_value)
    }

    /// The first `first` examples and the rest.
    pub fn split_at(&self, first: usize) -> Result<(Dataset, Dataset)> {
        if first > self.len() {
            return Err(Error::Index(format!("{}: cannot split {} examples at {first}", self.name, self.len())));
        }
        let f = self.features();
        let part = |range: std::ops::Range<usize>, suffix: &str| {
            let src = &self.images[range.start * f..range.end * f];
            let mut images = super::pages::reserved(src.len()).ok_or_else(|| {
                Error::Value(format!("{}: {} bytes of images cannot be allocated", self.name, src.len()))
            })?;
            images.extend_from_slice(src);
            Dataset::new(
                &format!("{}{suffix}", self.name),
                images,
                self.labels[range].to_vec(),
                self.height,
                self.width,
                self.classes,
                self.max_value,
            )
        };
        Ok((part(0..first, "")?, part(first..self.len(), "-validation")?))
    }

    /// Keras' `validation_split`: the first `floor(n (1 - fraction))` examples train, the
    /// rest (no shuffling) is the validation set; an empty part is an error, as in Keras.
    pub fn split_fraction(&self, fraction: f64) -> Result<(Dataset, Dataset)> {
        let train = super::validation_split_point(self.len(), fraction)?;
        self.split_at(train)
    }

    /// The examples in an order drawn from `rng`.
    pub fn shuffled(&self, rng: &mut Rng) -> Dataset {
        let mut order: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut order);
        self.subset(&order).unwrap_or_else(|_| self.clone())
    }

    /// Batches as tensors for a hand-written (PyTorch-style) loop: `(x, y)` with x of shape
    /// (b, features) normalised and y of shape (b,) labels; shuffled when `rng` is given.
    pub fn batches(&self, batch_size: usize, rng: Option<&mut Rng>) -> Result<Batches<'_>> {
        Batches::new(self, batch_size, rng)
    }

    /// The bundled 8x8 digits, split into 1437 training and 360 test examples (see
    /// [`digits::load_digits`]).
    pub fn digits() -> Result<(Dataset, Dataset)> {
        digits::load_digits()
    }
}

impl BatchSource for Dataset {
    /// x of shape (b, features) normalised to 0..1, y of shape (b,) the labels.
    type Batch = (Tensor, Tensor);

    fn examples(&self) -> usize {
        self.len()
    }

    fn batch(&self, indices: &[u32]) -> (Tensor, Tensor) {
        let f = self.features();
        let scale = self.max_value as f32;
        let mut x = vec![0.0; indices.len() * f];
        for (dst, &i) in x.chunks_exact_mut(f).zip(indices) {
            let i = i as usize;
            crate::kernels::reduce::bytes_to_unit(&self.images[i * f..(i + 1) * f], dst, scale);
        }
        let y: Vec<f32> = indices.iter().map(|&i| self.labels[i as usize] as f32).collect();
        (Tensor::from_parts(x, &[indices.len(), f]), Tensor::from_parts(y, &[indices.len()]))
    }
}

/// One-hot rows for class labels: shape (n, classes).
///
/// ```
/// let t = neurite::data::one_hot(&[2, 0], 3)?;
/// assert_eq!(t.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn one_hot(labels: &[u32], classes: usize) -> Result<Tensor> {
    let mut data = vec![0.0; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        if l as usize >= classes {
            return Err(Error::Value(format!("one_hot: label {l} is not below {classes} classes")));
        }
        data[i * classes + l as usize] = 1.0;
    }
    Tensor::from_vec(data, &[labels.len(), classes])
}
