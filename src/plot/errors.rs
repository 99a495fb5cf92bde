//! What a classifier gets wrong: a grid of the test images it misclassifies, each with its
//! true and predicted label, and the confusion matrix of all its answers.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{centred, drawing, grey, save, Figure};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::teach::ConfusionMatrix;

struct ErrorGrid {
    /// (pixels, true label, predicted label) of each image drawn.
    images: Vec<(Vec<f32>, usize, usize)>,
    shape: (usize, usize),
    wrong: usize,
    total: usize,
}

const COLUMNS: usize = 10;
const CAPTION: usize = 22;
const GAP: usize = 10;
const TITLE: usize = 44;

impl ErrorGrid {
    fn scale(&self) -> usize {
        (84 / self.shape.0.max(self.shape.1)).max(1)
    }
    fn tile(&self) -> (usize, usize) {
        let s = self.scale();
        (self.shape.1 * s, self.shape.0 * s + CAPTION)
    }
}

impl Figure for ErrorGrid {
    fn size(&self) -> (u32, u32) {
        let (tw, th) = self.tile();
        let rows = self.images.len().div_ceil(COLUMNS).max(1);
        ((GAP + COLUMNS * (tw + GAP)) as u32, (TITLE + rows * (th + GAP)) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (width, _) = self.size();
        let title = format!(
            "Test images the model gets wrong: {} of {} (the first {} shown, true -> predicted)",
            self.wrong,
            self.total,
            self.images.len()
        );
        root.draw(&Text::new(title, (width as i32 / 2, TITLE as i32 / 2), centred(18))).map_err(drawing)?;
        let (tw, th) = self.tile();
        let s = self.scale() as i32;
        for (k, (pixels, truth, predicted)) in self.images.iter().enumerate() {
            let (row, col) = (k / COLUMNS, k % COLUMNS);
            let (x0, y0) = ((GAP + col * (tw + GAP)) as i32, (TITLE + row * (th + GAP)) as i32);
            for (p, &v) in pixels.iter().enumerate() {
                let (py, px) = ((p / self.shape.1) as i32, (p % self.shape.1) as i32);
                let corner = (x0 + px * s, y0 + py * s);
                root.draw(&Rectangle::new([corner, (corner.0 + s, corner.1 + s)], grey(v).filled()))
                    .map_err(drawing)?;
            }
            let label = format!("{truth} -> {predicted}");
            let at = (x0 + tw as i32 / 2, y0 + (th - CAPTION) as i32 + CAPTION as i32 / 2);
            root.draw(&Text::new(label, at, centred(16))).map_err(drawing)?;
        }
        Ok(())
    }
}

/// Draws up to `max_images` (in data order) of the examples of `data` whose `predicted`
/// class is not their label, white on black as MNIST stores them, each captioned
/// `true -> predicted`; returns how many are wrong in all.
pub fn misclassified_grid(data: &Dataset, predicted: &[usize], max_images: usize, path: &Path) -> Result<usize> {
    if predicted.len() != data.len() {
        return Err(Error::Shape(format!(
            "{}: {} predictions for {} examples of {}",
            path.display(),
            predicted.len(),
            data.len(),
            data.name()
        )));
    }
    let scale = f32::from(data.max_value());
    let wrong: Vec<usize> = (0..data.len()).filter(|&i| usize::from(data.labels()[i]) != predicted[i]).collect();
    let images = wrong
        .iter()
        .take(max_images)
        .map(|&i| {
            let pixels = data.image(i).unwrap_or(&[]).iter().map(|&b| f32::from(b) / scale).collect();
            (pixels, usize::from(data.labels()[i]), predicted[i])
        })
        .collect();
    let figure = ErrorGrid { images, shape: data.image_shape(), wrong: wrong.len(), total: data.len() };
    save(&figure, path)?;
    Ok(wrong.len())
}

struct ConfusionFigure<'a>(&'a ConfusionMatrix);

const CELL: i32 = 56;
const LEFT: i32 = 110;
const TOP: i32 = 100;

impl Figure for ConfusionFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let n = self.0.classes() as i32;
        ((LEFT + n * CELL + 40) as u32, (TOP + n * CELL + 40) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let m = self.0;
        let n = m.classes();
        let (width, _) = self.size();
        let title = format!("Confusion matrix: {} examples, accuracy {:.4}", m.count(), m.accuracy());
        root.draw(&Text::new(title, (width as i32 / 2, 22), centred(18))).map_err(drawing)?;
        let grid_mid = LEFT + n as i32 * CELL / 2;
        root.draw(&Text::new("predicted", (grid_mid, TOP - 48), centred(16))).map_err(drawing)?;
        root.draw(&Text::new("true", (28, TOP + n as i32 * CELL / 2), centred(16))).map_err(drawing)?;
        for t in 0..n {
            let row_total: usize = (0..n).map(|p| m.get(t, p)).sum();
            let y = TOP + t as i32 * CELL;
            root.draw(&Text::new(t.to_string(), (LEFT - 20, y + CELL / 2), centred(16))).map_err(drawing)?;
            for p in 0..n {
                let x = LEFT + p as i32 * CELL;
                if t == 0 {
                    root.draw(&Text::new(p.to_string(), (x + CELL / 2, TOP - 18), centred(16))).map_err(drawing)?;
                }
                let count = m.get(t, p);
                // Shade by the share of the true class's examples, so that rare classes show.
                let share = if row_total == 0 { 0.0 } else { count as f64 / row_total as f64 };
                let fade = (255.0 * (1.0 - share.sqrt())).round() as u8;
                let fill = if t == p { RGBColor(fade, fade / 2 + 127, fade) } else { RGBColor(255, fade, fade) };
                root.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], fill.filled())).map_err(drawing)?;
                root.draw(&Rectangle::new([(x, y), (x + CELL, y + CELL)], BLACK.mix(0.25).stroke_width(1)))
                    .map_err(drawing)?;
                if count > 0 {
                    let ink = if share > 0.5 { WHITE } else { BLACK };
                    root.draw(&Text::new(count.to_string(), (x + CELL / 2, y + CELL / 2), centred(14).color(&ink)))
                        .map_err(drawing)?;
                }
            }
        }
        Ok(())
    }
}

/// Draws `matrix` as a grid: rows the true class, columns the predicted one, each cell its
/// count, the diagonal green and the mistakes red, shaded by the share of the row.
pub fn confusion_chart(matrix: &ConfusionMatrix, path: &Path) -> Result<()> {
    if matrix.classes() == 0 {
        return Err(Error::Value(format!("{}: a confusion matrix of no classes", path.display())));
    }
    save(&ConfusionFigure(matrix), path)
}
