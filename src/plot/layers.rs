//! The activations of every layer for one input image, drawn as note 002 draws them: the
//! input's pixels and each neuron as a grey level, white for 1 and black for 0, layer after
//! layer, the output neurons labelled with their digit and probability, the most activated
//! one marked as the prediction.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{centred, drawing, font, grey, save, Figure};
use crate::error::{shape_str, Error, Result};
use crate::nn::Activation;
use crate::tensor::Tensor;
use crate::train::Sequential;

/// The output of every layer of `model` for one input `x`: [`Sequential::layer_outputs`].
pub fn layer_activations(model: &Sequential, x: &[f32]) -> Result<Vec<Tensor>> {
    model.layer_outputs(x)
}

/// How tall the picture is, and how many neurons one column holds.
const HEIGHT: u32 = 760;
const PER_COLUMN: usize = 32;
const TOP: i32 = 90;
const BOTTOM: i32 = 50;

struct LayersFigure {
    image: Vec<f32>,
    shape: (usize, usize),
    /// Each layer's name, activation and values.
    layers: Vec<(String, Activation, Vec<f32>)>,
    label: Option<usize>,
}

impl LayersFigure {
    fn columns(units: usize) -> usize {
        units.div_ceil(PER_COLUMN)
    }

    /// Width of each layer's band.
    fn band(units: usize, is_output: bool) -> i32 {
        (Self::columns(units) as i32) * 34 + if is_output { 150 } else { 90 }
    }

    /// Where neuron `i` of a layer of `units` sits, its band starting at `x0`.
    fn neuron(units: usize, i: usize, x0: i32) -> ((i32, i32), i32) {
        let per = units.min(PER_COLUMN);
        let span = HEIGHT as i32 - TOP - BOTTOM;
        let pitch = span / per as i32;
        let radius = (pitch / 2 - 2).clamp(3, 14);
        let (col, row) = ((i / PER_COLUMN) as i32, (i % PER_COLUMN) as i32);
        let used = pitch * per as i32;
        let y = TOP + (span - used) / 2 + row * pitch + pitch / 2;
        ((x0 + 40 + col * 34, y), radius)
    }
}

impl Figure for LayersFigure {
    fn size(&self) -> (u32, u32) {
        let n = self.layers.len();
        let bands: i32 =
            self.layers.iter().enumerate().map(|(l, (_, _, a))| LayersFigure::band(a.len(), l + 1 == n)).sum();
        // Wide enough for the title whatever the layers.
        ((60 + 28 * 8 + 40 + bands).max(620) as u32, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (width, _) = self.size();
        let output = self.layers.last().map(|l| l.2.clone()).unwrap_or_default();
        let predicted = output.iter().enumerate().fold(0, |best, (i, &v)| if v > output[best] { i } else { best });
        let verdict = match self.label {
            Some(t) => {
                format!("predicted {predicted} (p = {:.3}), true label {t}", output.get(predicted).unwrap_or(&0.0))
            }
            None => format!("predicted {predicted} (p = {:.3})", output.get(predicted).unwrap_or(&0.0)),
        };
        let middle = width as i32 / 2;
        root.draw(&Text::new("Activations of every layer for one image (white 1, black 0)", (middle, 18), centred(18)))
            .map_err(drawing)?;
        root.draw(&Text::new(verdict, (middle, 42), centred(16))).map_err(drawing)?;

        // The input layer a[0]: the image itself, 784 neurons laid out as their pixels.
        let (h, w) = self.shape;
        let scale = (224 / h.max(w)).max(1) as i32;
        let (ix, iy) = (40, (HEIGHT as i32 - h as i32 * scale) / 2);
        for (p, &v) in self.image.iter().enumerate() {
            let (py, px) = ((p / w) as i32, (p % w) as i32);
            let corner = (ix + px * scale, iy + py * scale);
            root.draw(&Rectangle::new([corner, (corner.0 + scale, corner.1 + scale)], grey(v).filled()))
                .map_err(drawing)?;
        }
        let (iw, ih) = (w as i32 * scale, h as i32 * scale);
        root.draw(&Rectangle::new([(ix - 1, iy - 1), (ix + iw + 1, iy + ih + 1)], BLACK.stroke_width(1)))
            .map_err(drawing)?;
        root.draw(&Text::new(format!("input a[0] ({h}x{w})"), (ix + iw / 2, iy - 18), centred(15))).map_err(drawing)?;

        // Each layer: its neurons as grey discs; lines from the previous layer's neurons
        // (or the image's edge) to each.
        let mut x0 = ix + iw + 20;
        let mut previous: Vec<(i32, i32)> = (0..5).map(|k| (ix + iw, iy + ih * (2 * k + 1) / 10)).collect();
        let n = self.layers.len();
        for (l, (name, activation, a)) in self.layers.iter().enumerate() {
            let is_output = l + 1 == n;
            let centres: Vec<((i32, i32), i32)> = (0..a.len()).map(|i| LayersFigure::neuron(a.len(), i, x0)).collect();
            for &from in &previous {
                for &(to, r) in &centres {
                    root.draw(&PathElement::new(vec![from, (to.0 - r, to.1)], BLACK.mix(0.05))).map_err(drawing)?;
                }
            }
            // Sigmoid, softmax and step outputs are in [0, 1] already; other activations are
            // shown relative to the layer's largest magnitude.
            let bounded = matches!(activation, Activation::Sigmoid | Activation::Softmax | Activation::Step);
            let largest = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let shown = |v: f32| if bounded || largest == 0.0 { v } else { v.abs() / largest };
            for (i, (&v, &(c, r))) in a.iter().zip(&centres).enumerate() {
                root.draw(&Circle::new(c, r, grey(shown(v)).filled())).map_err(drawing)?;
                let ring = if is_output && i == predicted {
                    RGBColor(214, 39, 40).stroke_width(3)
                } else {
                    BLACK.stroke_width(1)
                };
                root.draw(&Circle::new(c, r, ring)).map_err(drawing)?;
                if is_output {
                    root.draw(&Text::new(format!("{i}: {v:.3}"), (c.0 + r + 8, c.1 - 7), font(14))).map_err(drawing)?;
                }
            }
            let band = LayersFigure::band(a.len(), is_output);
            let caption = if bounded {
                format!("{name} ({activation})")
            } else {
                format!("{name} ({activation}, |a| / {largest:.2})")
            };
            let centre_x = x0 + 40 + (LayersFigure::columns(a.len()) as i32 - 1) * 17;
            root.draw(&Text::new(format!("a[{}]: {} units", l + 1, a.len()), (centre_x, TOP - 22), centred(15)))
                .map_err(drawing)?;
            root.draw(&Text::new(caption, (centre_x, HEIGHT as i32 - BOTTOM / 2), centred(14))).map_err(drawing)?;
            previous = centres.iter().map(|&(c, r)| (c.0 + r, c.1)).collect();
            x0 += band;
        }
        Ok(())
    }
}

/// Draws the activations of every layer of `model` for one input `image` (its normalised
/// pixels, `height * width` of them, 0 black to 1 white), with the predicted class (the most
/// activated output, ringed in red), each output's value, and the true `label` when given.
pub fn layers_picture(
    model: &Sequential,
    image: &[f32],
    (height, width): (usize, usize),
    label: Option<usize>,
    path: &Path,
) -> Result<()> {
    if image.len() != height * width || image.is_empty() {
        return Err(Error::Shape(format!(
            "{}: {} pixel values for an image of shape {}",
            path.display(),
            image.len(),
            shape_str(&[height, width])
        )));
    }
    let activations = layer_activations(model, image)?;
    let layers = model
        .layers()
        .iter()
        .zip(activations)
        // A view (Flatten, Dropout at inference) shows its input again: left out.
        .filter(|(layer, _)| !layer.is_view(crate::nn::Mode::Inference))
        .map(|(layer, a)| {
            let name = layer.name().unwrap_or(layer.class_name()).to_string();
            (name, layer.activation().unwrap_or(Activation::Identity), a.to_vec())
        })
        .collect();
    save(&LayersFigure { image: image.to_vec(), shape: (height, width), layers, label }, path)
}

#[cfg(test)]
mod tests {
    use super::super::decode_png;
    use super::*;
    use crate::nn::Dense;

    #[test]
    fn the_picture_shows_the_input_image_pixel_for_pixel() {
        let mut model = Sequential::with_seed(0);
        model.add(Dense::new(5).activation(Activation::Sigmoid).input_shape(16)).unwrap();
        model.add(Dense::new(3).activation(Activation::Softmax)).unwrap();
        // A 4x4 ramp: pixel p has grey level p / 15.
        let image: Vec<f32> = (0..16).map(|p| p as f32 / 15.0).collect();
        let dir = std::env::temp_dir().join(format!("neurite-layers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("layers.png");
        layers_picture(&model, &image, (4, 4), Some(2), &path).unwrap();
        let (width, height, rgb) = decode_png(&std::fs::read(&path).unwrap());
        assert_eq!(height, HEIGHT);
        // The layout of `draw`: 224 / 4 = 56 screen pixels per image pixel, left edge 40,
        // vertically centred.
        let scale = 56usize;
        let top = (HEIGHT as usize - 4 * scale) / 2;
        for (p, &v) in image.iter().enumerate() {
            let (x, y) = (40 + (p % 4) * scale + scale / 2, top + (p / 4) * scale + scale / 2);
            let i = (y * width as usize + x) * 3;
            let want = (v * 255.0).round() as u8;
            assert_eq!(&rgb[i..i + 3], &[want, want, want], "pixel {p}");
        }
        assert!(layers_picture(&model, &image[..15], (4, 4), None, &path)
            .unwrap_err()
            .to_string()
            .contains("15 pixel values"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
