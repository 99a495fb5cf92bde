//! Batches of tensors for a hand-written (PyTorch-style) loop, from any source of this
//! module: one iterator (the order, shuffled or not, cut into batches), and each source
//! saying how it makes one batch of given examples.

use super::Dataset;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// A source of [`Batches`]: how many examples it has, and one batch of some of them.
pub trait BatchSource {
    /// What a batch is: `(x, y)` tensors, or a `Result` of them where reading can fail (a
    /// folder of pictures on disk).
    type Batch;
    /// Number of examples.
    fn examples(&self) -> usize;
    /// The batch of the examples `indices` (each below [`examples`](Self::examples)).
    fn batch(&self, indices: &[u32]) -> Self::Batch;
}

/// The iterator of `batches(batch_size, rng)` on a [`Dataset`], a [`Table`](super::Table)
/// or an [`ImageFolder`](super::ImageFolder): every example once, in order or shuffled by
/// the generator, `batch_size` at a time (the last batch may be smaller).
pub struct Batches<'a, S: BatchSource = Dataset> {
    source: &'a S,
    order: Vec<u32>,
    batch_size: usize,
    next: usize,
}

impl<'a, S: BatchSource> Batches<'a, S> {
    pub(crate) fn new(source: &'a S, batch_size: usize, rng: Option<&mut Rng>) -> Result<Batches<'a, S>> {
        if batch_size == 0 {
            return Err(Error::Value("batches: batch_size must be at least 1".into()));
        }
        let mut order: Vec<u32> = (0..source.examples() as u32).collect();
        if let Some(rng) = rng {
            rng.shuffle(&mut order);
        }
        Ok(Batches { source, order, batch_size, next: 0 })
    }
}

impl<S: BatchSource> Iterator for Batches<'_, S> {
    type Item = S::Batch;

    fn next(&mut self) -> Option<S::Batch> {
        if self.next >= self.order.len() {
            return None;
        }
        // The order is a permutation of 0..examples: every index is in range.
        let indices = &self.order[self.next..(self.next + self.batch_size).min(self.order.len())];
        self.next += indices.len();
        Some(self.source.batch(indices))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let batches = (self.order.len() - self.next).div_ceil(self.batch_size);
        (batches, Some(batches))
    }
}

impl<S: BatchSource> ExactSizeIterator for Batches<'_, S> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    #[test]
    fn every_example_once_in_batches_of_the_size_asked() {
        let (_, test) = Dataset::digits().unwrap(); // 360 examples
        let mut rng = Rng::new(3);
        let batches = test.batches(50, Some(&mut rng)).unwrap();
        assert_eq!(batches.len(), 8);
        let mut seen: Vec<f32> = Vec::new();
        let mut sizes = Vec::new();
        for (x, y) in batches {
            assert_eq!(x.shape(), &[y.shape()[0], 64]);
            sizes.push(y.shape()[0]);
            // Each example's first pixels and label identify it well enough to count it.
            seen.extend(x.to_vec().chunks(64).zip(y.to_vec()).map(|(r, l)| r[..8].iter().sum::<f32>() * 100.0 + l));
        }
        assert_eq!(sizes, [50, 50, 50, 50, 50, 50, 50, 10]);
        let in_order: Vec<(Tensor, Tensor)> = test.batches(360, None).unwrap().collect();
        let (x, y) = &in_order[0];
        let mut expected: Vec<f32> =
            x.to_vec().chunks(64).zip(y.to_vec()).map(|(r, l)| r[..8].iter().sum::<f32>() * 100.0 + l).collect();
        assert_ne!(seen, expected, "shuffled");
        seen.sort_by(f32::total_cmp);
        expected.sort_by(f32::total_cmp);
        assert_eq!(seen, expected);
        assert!(test.batches(0, None).is_err());
    }
}
