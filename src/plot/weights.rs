//! Learned weights as images, one per unit, in note 002's colours: negative red, positive
//! green, near zero black. A unit's weights are one per input pixel, so they are drawn where
//! the pixels are: the one-vs-all model of the 0 shows a green ring (ink there says "0")
//! around a red centre (ink there says "not 0").

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{centred, drawing, save, Figure};
use crate::data::image::weight_colour;
use crate::error::{shape_str, Error, Result};
use crate::tensor::Tensor;
use crate::train::Sequential;

struct WeightGrid {
    /// (pixels, units), row-major.
    weights: Vec<f32>,
    units: usize,
    height: usize,
    width: usize,
    labels: Vec<String>,
    title: String,
    /// Screen pixels per image pixel.
    scale: usize,
    columns: usize,
}

const LABEL: usize = 24;
const GAP: usize = 12;
const TITLE: usize = 44;

impl WeightGrid {
    fn tile(&self) -> (usize, usize) {
        (self.width * self.scale, self.height * self.scale + LABEL)
    }
}

impl Figure for WeightGrid {
    fn size(&self) -> (u32, u32) {
        let (tw, th) = self.tile();
        let rows = self.units.div_ceil(self.columns);
        ((GAP + self.columns * (tw + GAP)) as u32, (TITLE + rows * (th + GAP)) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (w, _) = self.size();
        root.draw(&Text::new(self.title.clone(), (w as i32 / 2, TITLE as i32 / 2), centred(18))).map_err(drawing)?;
        let (tw, th) = self.tile();
        let s = self.scale as i32;
        for unit in 0..self.units {
            let (row, col) = (unit / self.columns, unit % self.columns);
            let (x0, y0) = ((GAP + col * (tw + GAP)) as i32, (TITLE + row * (th + GAP)) as i32);
            let label = self.labels.get(unit).cloned().unwrap_or_else(|| unit.to_string());
            root.draw(&Text::new(label, (x0 + tw as i32 / 2, y0 + LABEL as i32 / 2), centred(16))).map_err(drawing)?;
            let column: Vec<f32> = (0..self.height * self.width).map(|p| self.weights[p * self.units + unit]).collect();
            // Each image on its own scale: its largest weight is full brightness.
            let largest = column.iter().fold(0.0f32, |m, v| if v.is_finite() { m.max(v.abs()) } else { m });
            let largest = if largest > 0.0 { largest } else { 1.0 };
            let top = y0 + LABEL as i32;
            for (p, &v) in column.iter().enumerate() {
                let [r, g, b] = weight_colour(v / largest);
                let (py, px) = ((p / self.width) as i32, (p % self.width) as i32);
                let corner = (x0 + px * s, top + py * s);
                root.draw(&Rectangle::new([corner, (corner.0 + s, corner.1 + s)], RGBColor(r, g, b).filled()))
                    .map_err(drawing)?;
            }
        }
        Ok(())
    }
}

/// Draws each column of `weights` (shape (pixels, units), pixels = `height * width`) as a
/// `height x width` image in the notes' colours, each scaled to its own largest weight,
/// titled with `labels` (the unit numbers where there are fewer labels), under `title`.
///
/// ```no_run
/// use neurite::{plot, Tensor};
/// // Two 2x2 "units": one all positive, one with a negative corner.
/// let w = Tensor::matrix([[1.0, -1.0], [1.0, 0.5], [1.0, 0.5], [1.0, 0.5]]);
/// plot::weight_images(&w, (2, 2), &["a".into(), "b".into()], "two units", std::path::Path::new("w.png"))?;
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn weight_images(
    weights: &Tensor,
    (height, width): (usize, usize),
    labels: &[String],
    title: &str,
    path: &Path,
) -> Result<()> {
    let pixels = height * width;
    if weights.ndim() != 2 || weights.shape()[0] != pixels || pixels == 0 || weights.shape()[1] == 0 {
        return Err(Error::Shape(format!(
            "{}: weights of shape {} are not (pixels, units) for {height}x{width} images",
            path.display(),
            shape_str(weights.shape())
        )));
    }
    let units = weights.shape()[1];
    // About 168 screen pixels per image side, whatever the image size (6x for MNIST).
    let scale = (168 / height.max(width)).max(1);
    let figure = WeightGrid {
        weights: weights.contiguous().to_vec(),
        units,
        height,
        width,
        labels: labels.to_vec(),
        title: title.to_string(),
        scale: if units > 20 { (scale * 2 / 3).max(1) } else { scale },
        columns: if units <= 10 { units.min(5) } else { 10 },
    };
    save(&figure, path)
}

/// Draws the first Dense layer's units of `model` as `height x width` images (the model must
/// take `height * width` inputs): what each hidden unit looks for in the picture.
pub fn first_layer_weights(model: &Sequential, (height, width): (usize, usize), path: &Path) -> Result<()> {
    let first = model.layers().iter().find(|l| !l.is_view(crate::nn::Mode::Inference));
    let layer = first.and_then(|l| l.as_dense()).ok_or_else(|| {
        Error::Value(format!(
            "the model's first layer that computes is {}, not a Dense layer whose weights are pictures",
            first.map_or("missing", |l| l.class_name())
        ))
    })?;
    let w = layer.weight().ok_or_else(|| Error::Value("the first layer is not built".into()))?.value();
    let labels: Vec<String> = (0..layer.units()).map(|u| format!("unit {u}")).collect();
    let name = layer.config().name.clone().unwrap_or_else(|| "dense".into());
    let title = format!("{name}: weights of each unit (red negative, green positive, black near zero)");
    weight_images(&w, (height, width), &labels, &title, path)
}

#[cfg(test)]
mod tests {
    use super::super::decode_png;
    use super::*;

    #[test]
    fn each_weight_is_drawn_where_its_pixel_is_in_its_colour() {
        // One 2x2 unit: top-left strongly positive, bottom-right strongly negative, the other
        // two zero.
        let w = Tensor::matrix([[2.0], [0.0], [0.0], [-2.0]]);
        let dir = std::env::temp_dir().join(format!("neurite-weights-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.png");
        weight_images(&w, (2, 2), &["x".into()], "t", &path).unwrap();
        let (width, _, rgb) = decode_png(&std::fs::read(&path).unwrap());
        let s = 168 / 2;
        let at = |px: usize, py: usize| {
            // The centre of image pixel (px, py).
            let (x, y) = (GAP + px * s + s / 2, TITLE + LABEL + py * s + s / 2);
            let i = (y * width as usize + x) * 3;
            [rgb[i], rgb[i + 1], rgb[i + 2]]
        };
        assert_eq!(at(0, 0), [0, 255, 0]);
        assert_eq!(at(1, 1), [255, 0, 0]);
        assert_eq!(at(1, 0), [0, 0, 0]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
