//! A table split with a seed and standardised with the mean and deviation of its training
//! part, a stretch of rows at a time on the engine's threads (fixed stretches, so the same
//! sums on any number of threads): the arithmetic [`super::table`] splits and standardises with.

use super::schema::TableSchema;

/// Each column's mean and (population) standard deviation over the rows not marked in
/// `is_test` (all rows when it is empty), in f64, summed a stretch of rows at a time and the
/// stretches in file order; a constant column's deviation is 1, as scikit-learn's
/// `StandardScaler` makes it.
pub(crate) fn moments(x: &[f32], f: usize, is_test: &[bool]) -> (Vec<f32>, Vec<f32>) {
    let f = f.max(1);
    let n = (x.len() / f - is_test.iter().filter(|&&t| t).count()).max(1) as f64;
    let total = |parts: Vec<Vec<f64>>| {
        parts.into_iter().fold(vec![0.0f64; f], |mut all, part| {
            all.iter_mut().zip(part).for_each(|(a, p)| *a += p);
            all
        })
    };
    let sums = each_stretch(x, f, |first, stretch| {
        let mut sum = vec![0.0f64; f];
        for row in training_rows(stretch, f, first, is_test) {
            sum.iter_mut().zip(row).for_each(|(s, &v)| *s += f64::from(v));
        }
        sum
    });
    let mean: Vec<f64> = total(sums).iter().map(|s| s / n).collect();
    let squares = each_stretch(x, f, |first, stretch| {
        let mut sq = vec![0.0f64; f];
        for row in training_rows(stretch, f, first, is_test) {
            sq.iter_mut().zip(row).zip(&mean).for_each(|((s, &v), m)| *s += (f64::from(v) - m).powi(2));
        }
        sq
    });
    let scale = total(squares)
        .iter()
        .map(|s| {
            let d = (s / n).sqrt();
            if d > 1e-12 && (d as f32).is_normal() {
                d as f32
            } else {
                1.0
            }
        })
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), scale)
}

/// The rows of a stretch whose first row is row `first` of the table, less those marked in
/// `is_test`.
pub(crate) fn training_rows<'a>(
    stretch: &'a [f32],
    f: usize,
    first: usize,
    is_test: &'a [bool],
) -> impl Iterator<Item = &'a [f32]> {
    stretch.chunks_exact(f).enumerate().filter(move |(r, _)| is_test.get(first + r) != Some(&true)).map(|(_, row)| row)
}

/// `(x - mean) / deviation` for each column, with a schema's numbers, in f64 (so that values
/// at the two ends of f32's range do not overflow on the way).
pub(crate) struct Standardiser {
    pub(crate) mean: Vec<f64>,
    pub(crate) scale: Vec<f64>,
}

impl Standardiser {
    pub(crate) fn new(schema: &TableSchema) -> Standardiser {
        let wide = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect();
        Standardiser { mean: wide(&schema.mean), scale: wide(&schema.scale) }
    }

    /// Writes `row` standardised into `out`; the first column whose value lands beyond f32's
    /// range, if one does. No branch in the loop, so that the compiler divides four values at
    /// once.
    #[inline]
    pub(crate) fn row(&self, row: &[f32], out: &mut [f32]) -> Option<usize> {
        for (((z, &v), &m), &s) in out.iter_mut().zip(row).zip(&self.mean).zip(&self.scale) {
            *z = ((f64::from(v) - m) / s) as f32;
        }
        out.iter().position(|z| !z.is_finite())
    }

    /// Standardises the rows of `x` (`f` values each) in place, a stretch at a time on the
    /// engine's threads, leaving those `skip` names as they are; the first row that fails
    /// (counted from 0 in `x`), with its column and value, leaves that row unchanged.
    pub(crate) fn in_place(
        &self,
        x: &mut [f32],
        f: usize,
        skip: impl Fn(usize) -> bool + Sync + Send,
    ) -> Option<(usize, usize, f32)> {
        let failed = each_stretch_mut(x, f, |first, stretch| {
            let mut z = vec![0.0f32; f];
            stretch.chunks_exact_mut(f.max(1)).enumerate().find_map(|(r, row)| {
                let i = first + r;
                if skip(i) {
                    return None;
                }
                match self.row(row, &mut z) {
                    Some(column) => Some((i, column, row[column])),
                    None => {
                        row.copy_from_slice(&z);
                        None
                    }
                }
            })
        });
        failed.into_iter().flatten().next()
    }
}

/// Rows in a stretch of the passes over a table: a fixed number, so that sums over stretches
/// are added in the same order on any number of threads.
pub(crate) const STRETCH: usize = 1024;

/// `work(first_row, rows)` for each stretch of [`STRETCH`] rows (`width` values each) of `x`,
/// on the engine's threads where the build has them; the results in file order.
pub(crate) fn each_stretch<R: Send>(
    x: &[f32],
    width: usize,
    work: impl Fn(usize, &[f32]) -> R + Sync + Send,
) -> Vec<R> {
    let chunk = STRETCH * width.max(1);
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        x.par_chunks(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
    }
    #[cfg(not(feature = "threads"))]
    x.chunks(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
}

/// [`each_stretch`] for work that changes the rows.
pub(crate) fn each_stretch_mut<R: Send>(
    x: &mut [f32],
    width: usize,
    work: impl Fn(usize, &mut [f32]) -> R + Sync + Send,
) -> Vec<R> {
    let chunk = STRETCH * width.max(1);
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        x.par_chunks_mut(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
    }
    #[cfg(not(feature = "threads"))]
    x.chunks_mut(chunk).enumerate().map(|(i, rows)| work(i * STRETCH, rows)).collect()
}
