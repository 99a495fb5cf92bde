//! What a convolutional network looks at: a `Conv2D` layer's filters as small images (one per
//! filter and input channel, or one per filter when the input has one channel), in the notes'
//! weight colours, and the feature maps of every convolution and pooling layer for one input
//! image, one small grey image per channel, layer after layer.
//!
//! ```no_run
//! use neurite::{nn::{Activation, Conv2D, Dense, Flatten, MaxPooling2D}, plot, train::Sequential};
//! let mut model = Sequential::with_seed(0);
//! model.add(Conv2D::new(4, 3).activation(Activation::Relu).input_shape(&[8, 8, 1]))?;
//! model.add(MaxPooling2D::new(2))?;
//! model.add(Flatten::new())?;
//! model.add(Dense::new(10).activation(Activation::Softmax))?;
//! assert_eq!(plot::conv_filters(&model, None, std::path::Path::new("filters.png"))?, 4);
//! let image = vec![0.5; 64];
//! assert_eq!(plot::feature_maps(&model, &image, Some(3), std::path::Path::new("maps.svg"))?, 8);
//! # Ok::<(), neurite::Error>(())
//! ```

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{centred, drawing, font, grey, save, Figure};
use crate::data::image::weight_colour;
use crate::error::{shape_str, Error, Result};
use crate::nn::layer::{batch_shape_str, Layer};
use crate::nn::Mode;
use crate::train::Sequential;

/// One small image: its colours, row-major, and an optional label above it.
struct Panel {
    height: usize,
    width: usize,
    pixels: Vec<RGBColor>,
    label: Option<String>,
}

/// A caption and a grid of panels of one size, `columns` to a line, `scale` screen pixels
/// per image pixel.
struct Section {
    caption: String,
    panels: Vec<Panel>,
    columns: usize,
    scale: usize,
}

const MARGIN: usize = 12;
const GAP: usize = 6;
const TITLE: usize = 64;
const CAPTION: usize = 28;
const LABEL: usize = 16;

impl Section {
    fn labelled(&self) -> bool {
        self.panels.iter().any(|p| p.label.is_some())
    }

    /// A panel's width and height on screen, its label included.
    fn tile(&self) -> (usize, usize) {
        let p = self.panels.first().map_or((1, 1), |p| (p.width, p.height));
        (p.0 * self.scale, p.1 * self.scale + if self.labelled() { LABEL } else { 0 })
    }

    fn size(&self) -> (usize, usize) {
        let (tw, th) = self.tile();
        let columns = self.columns.min(self.panels.len()).max(1);
        let lines = self.panels.len().div_ceil(columns);
        (2 * MARGIN + columns * (tw + GAP), CAPTION + lines * (th + GAP))
    }
}

/// A title, a line under it, and sections one under the other.
struct PanelFigure {
    title: String,
    subtitle: String,
    sections: Vec<Section>,
}

impl Figure for PanelFigure {
    fn size(&self) -> (u32, u32) {
        let width = self.sections.iter().map(|s| s.size().0).fold(820, usize::max);
        let height = TITLE + self.sections.iter().map(|s| s.size().1).sum::<usize>() + MARGIN;
        (width as u32, height as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (width, _) = self.size();
        let middle = width as i32 / 2;
        root.draw(&Text::new(self.title.clone(), (middle, 18), centred(18))).map_err(drawing)?;
        root.draw(&Text::new(self.subtitle.clone(), (middle, 44), centred(15))).map_err(drawing)?;
        let mut y = TITLE as i32;
        for section in &self.sections {
            root.draw(&Text::new(section.caption.clone(), (MARGIN as i32, y + 6), font(15))).map_err(drawing)?;
            let (tw, th) = section.tile();
            let columns = section.columns.min(section.panels.len()).max(1);
            let s = section.scale as i32;
            let label = if section.labelled() { LABEL as i32 } else { 0 };
            for (k, panel) in section.panels.iter().enumerate() {
                let (line, col) = (k / columns, k % columns);
                let x0 = (MARGIN + col * (tw + GAP)) as i32;
                let y0 = y + (CAPTION + line * (th + GAP)) as i32;
                if let Some(text) = &panel.label {
                    root.draw(&Text::new(text.clone(), (x0 + tw as i32 / 2, y0 + label / 2), centred(12)))
                        .map_err(drawing)?;
                }
                let top = y0 + label;
                for (p, &colour) in panel.pixels.iter().enumerate() {
                    let (py, px) = ((p / panel.width) as i32, (p % panel.width) as i32);
                    let corner = (x0 + px * s, top + py * s);
                    root.draw(&Rectangle::new([corner, (corner.0 + s, corner.1 + s)], colour.filled()))
                        .map_err(drawing)?;
                }
                // A thin frame, so that dark panels stay apart.
                let (pw, ph) = ((panel.width as i32) * s, (panel.height as i32) * s);
                root.draw(&Rectangle::new([(x0 - 1, top - 1), (x0 + pw, top + ph)], RGBColor(170, 170, 170)))
                    .map_err(drawing)?;
            }
            y += section.size().1 as i32;
        }
        Ok(())
    }
}

/// Screen pixels per image pixel for a panel of `side` pixels to be about `target` wide.
fn scale_for(side: usize, target: usize) -> usize {
    (target / side.max(1)).max(1)
}

/// The convolution layer named `layer`, or the model's first.
fn conv_layer<'a>(model: &'a Sequential, layer: Option<&str>) -> Result<&'a dyn Layer> {
    let convs: Vec<&dyn Layer> = model.layers().iter().map(|l| &**l).filter(|l| l.class_name() == "Conv2D").collect();
    let names = || convs.iter().map(|l| l.name().unwrap_or("conv2d").to_string()).collect::<Vec<_>>().join(", ");
    match layer {
        None => convs.first().copied().ok_or_else(|| {
            Error::Value(format!(
                "the model has no Conv2D layer whose filters could be drawn (its layers: {})",
                model.layers().iter().map(|l| l.class_name()).collect::<Vec<_>>().join(", ")
            ))
        }),
        Some(name) => convs.iter().copied().find(|l| l.name() == Some(name)).ok_or_else(|| {
            Error::Value(format!("the model has no Conv2D layer named {name:?} (its Conv2D layers: {})", names()))
        }),
    }
}

/// Draws the filters of the `Conv2D` layer named `layer` (the model's first when `None`):
/// each filter's kernel as a `kh x kw` image in the notes' colours (red negative, green
/// positive, black near zero), one image per filter when the layer's input has one channel,
/// else one per filter and input channel (a line per filter), each filter on its own scale.
/// Returns how many images it drew.
pub fn conv_filters(model: &Sequential, layer: Option<&str>, path: &Path) -> Result<usize> {
    let conv = conv_layer(model, layer)?;
    let name = conv.name().unwrap_or("conv2d").to_string();
    let kernel = model.params().get(&format!("{name}/kernel"))?;
    let &[kh, kw, channels, filters] = kernel.shape() else {
        return Err(Error::Shape(format!(
            "{name}: a kernel of shape {}, not (height, width, channels, filters)",
            shape_str(kernel.shape())
        )));
    };
    let values = kernel.contiguous().to_vec();
    let at = |y: usize, x: usize, c: usize, f: usize| values[((y * kw + x) * channels + c) * filters + f];
    let mut panels = Vec::with_capacity(filters * channels);
    for f in 0..filters {
        // One scale per filter, over all its channels: its largest weight is full brightness.
        let largest = (0..kh * kw * channels)
            .map(|i| at(i / (kw * channels), i / channels % kw, i % channels, f))
            .fold(0.0f32, |m, v| if v.is_finite() { m.max(v.abs()) } else { m });
        let largest = if largest > 0.0 { largest } else { 1.0 };
        for c in 0..channels {
            let pixels = (0..kh * kw)
                .map(|p| {
                    let [r, g, b] = weight_colour(at(p / kw, p % kw, c, f) / largest);
                    RGBColor(r, g, b)
                })
                .collect();
            let label = match (channels, c) {
                (1, _) => format!("{f}"),
                (_, 0) => format!("f{f}"),
                _ => String::new(),
            };
            panels.push(Panel { height: kh, width: kw, pixels, label: Some(label) });
        }
    }
    let count = panels.len();
    let (columns, caption) = if channels == 1 {
        (16, format!("{filters} filters of {kh}x{kw} over one input channel"))
    } else {
        (
            channels,
            format!("{filters} filters (one a line) of {kh}x{kw}, one image per input channel (0 to {})", channels - 1),
        )
    };
    let figure = PanelFigure {
        title: format!("{name}: the filters (red negative, green positive, black near zero)"),
        subtitle: format!("kernel {} ({} values)", shape_str(&[kh, kw, channels, filters]), kernel.size()),
        sections: vec![Section {
            caption,
            panels,
            columns,
            scale: scale_for(kh.max(kw), if channels == 1 { 48 } else { 24 }),
        }],
    };
    save(&figure, path)?;
    Ok(count)
}

/// The panels of one example's values of shape (height, width, channels): one grey image per
/// channel, each scaled from its smallest value (black) to its largest (white).
fn channel_panels(values: &[f32], (h, w, c): (usize, usize, usize)) -> Vec<Panel> {
    (0..c)
        .map(|k| {
            let map: Vec<f32> = (0..h * w).map(|p| values[p * c + k]).collect();
            let (lo, hi) = map
                .iter()
                .filter(|v| v.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let span = if hi > lo { hi - lo } else { 1.0 };
            let lo = if lo.is_finite() { lo } else { 0.0 };
            let pixels = map.iter().map(|&v| grey((v - lo) / span)).collect();
            Panel { height: h, width: w, pixels, label: None }
        })
        .collect()
}

/// Draws, for one input `image` (its values in the model's input shape `(height, width,
/// channels)`, pixels from 0 to 1), the image itself and the feature maps of every layer
/// whose output is an image (each `Conv2D` and pooling layer): one grey image per channel,
/// each on its own scale from its smallest value (black) to its largest (white), with the
/// predicted class (the largest output) and the true `label` when given. Returns how many
/// feature maps it drew.
pub fn feature_maps(model: &Sequential, image: &[f32], label: Option<usize>, path: &Path) -> Result<usize> {
    let shape = model.input_shape().unwrap_or_default();
    let (h, w, c) = match shape[..] {
        [h, w, c] => (h, w, c),
        _ => {
            return Err(Error::Shape(format!(
                "{}: the model takes examples of shape {}, not images (height, width, channels): it has no feature maps to draw",
                path.display(),
                batch_shape_str(&shape)
            )))
        }
    };
    let outputs = model.layer_outputs(image)?;
    let mut sections = Vec::new();
    let input = if c == 3 {
        let pixels = image.chunks_exact(3).map(|p| RGBColor(to_byte(p[0]), to_byte(p[1]), to_byte(p[2]))).collect();
        vec![Panel { height: h, width: w, pixels, label: None }]
    } else {
        // Pixels as they are (0 black, 1 white), not rescaled: the image the model reads.
        (0..c)
            .map(|k| {
                let pixels = (0..h * w).map(|p| grey(image[p * c + k])).collect();
                Panel { height: h, width: w, pixels, label: None }
            })
            .collect()
    };
    sections.push(Section {
        caption: format!("input {}", shape_str(&[h, w, c])),
        panels: input,
        columns: 16,
        scale: scale_for(h.max(w), 112),
    });
    let mut count = 0;
    for (layer, out) in model.layers().iter().zip(&outputs) {
        let &[oh, ow, oc] = out.shape() else { continue };
        if layer.is_view(Mode::Inference) {
            continue;
        }
        let panels = channel_panels(&out.contiguous().to_vec(), (oh, ow, oc));
        count += panels.len();
        let activation = layer.activation().map(|a| format!(", {a}")).unwrap_or_default();
        sections.push(Section {
            caption: format!(
                "{} ({}{activation}): {oc} feature maps of {oh}x{ow}",
                layer.name().unwrap_or(layer.class_name()),
                layer.class_name()
            ),
            panels,
            columns: 16,
            scale: scale_for(oh.max(ow), 56),
        });
    }
    if count == 0 {
        return Err(Error::Value(format!(
            "{}: the model has no layer whose output is an image (Conv2D, MaxPooling2D, AveragePooling2D)",
            path.display()
        )));
    }
    let output = outputs.last().map(|t| t.to_vec()).unwrap_or_default();
    let predicted = output.iter().enumerate().fold(0, |best, (i, &v)| if v > output[best] { i } else { best });
    let p = output.get(predicted).copied().unwrap_or(0.0);
    let subtitle = match label {
        Some(t) => format!("predicted {predicted} ({p:.3}), true label {t}"),
        None => format!("predicted {predicted} ({p:.3})"),
    };
    let figure = PanelFigure {
        title: "Feature maps for one image (each map from black, its smallest value, to white, its largest)".into(),
        subtitle,
        sections,
    };
    save(&figure, path)?;
    Ok(count)
}

/// A value in 0..=1 as a colour byte (clamped; NaN is 0).
fn to_byte(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}
