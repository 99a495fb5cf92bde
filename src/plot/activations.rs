//! Each activation function with its derivative, one chart each and all of them on one
//! page. The values come from the activation's one definition
//! ([`Activation::forward`], [`Activation::derivative`]); softmax, whose derivative is a
//! Jacobian, is drawn as the first output of `softmax([x, 0])` (which is `sigmoid(x)`) with
//! the Jacobian's diagonal entry `dy_0/dx_0`.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{drawing, font, save, Figure};
use crate::error::Result;
use crate::nn::Activation;
use crate::tensor::Tensor;

/// The x range drawn.
const X_RANGE: (f32, f32) = (-5.0, 5.0);
/// Points per curve.
const POINTS: usize = 401;

/// One activation's curve and its derivative's, sampled on [`X_RANGE`].
struct Curves {
    title: String,
    x: Vec<f32>,
    value: Vec<f32>,
    derivative: Vec<f32>,
}

impl Curves {
    fn of(activation: Activation) -> Result<Curves> {
        let step = (X_RANGE.1 - X_RANGE.0) / (POINTS - 1) as f32;
        let x: Vec<f32> = (0..POINTS).map(|i| X_RANGE.0 + step * i as f32).collect();
        let (value, derivative, title) = if activation.is_elementwise() {
            let t = Tensor::vector(&x);
            (
                activation.forward(&t)?.to_vec(),
                activation.derivative(&t)?.to_vec(),
                format!("{activation}: h(x) and h'(x)"),
            )
        } else {
            // Rows (x, 0): the first output and the Jacobian's entry [0][0] of each row.
            let rows: Vec<f32> = x.iter().flat_map(|&v| [v, 0.0]).collect();
            let t = Tensor::from_vec(rows, &[POINTS, 2])?;
            let y = activation.forward(&t)?.to_vec();
            let j = activation.jacobian(&t)?.to_vec();
            (
                y.chunks_exact(2).map(|r| r[0]).collect(),
                j.chunks_exact(4).map(|m| m[0]).collect(),
                format!("{activation}([x, 0])[0] and dy0/dx0 (Jacobian diagonal)"),
            )
        };
        Ok(Curves { title, x, value, derivative })
    }

    /// The y range that shows both curves, padded, and never thinner than [-0.1, 1.1].
    fn y_range(&self) -> (f32, f32) {
        let all = self.value.iter().chain(&self.derivative).filter(|v| v.is_finite());
        let (lo, hi) = all.fold((-0.1f32, 1.1f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, text: u32) -> Result<()> {
        let (lo, hi) = self.y_range();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, font(text + 2))
            .margin(8)
            .x_label_area_size(text * 3)
            .y_label_area_size(text * 3)
            .build_cartesian_2d(X_RANGE.0..X_RANGE.1, lo..hi)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("x")
            .label_style(font(text - 2))
            .axis_desc_style(font(text))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(drawing)?;
        let value_colour = RGBColor(31, 119, 180);
        let derivative_colour = RGBColor(214, 39, 40);
        chart
            .draw_series(LineSeries::new(
                self.x.iter().copied().zip(self.value.iter().copied()),
                value_colour.stroke_width(2),
            ))
            .map_err(drawing)?
            .label("h(x)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], value_colour.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                self.x.iter().copied().zip(self.derivative.iter().copied()),
                derivative_colour.stroke_width(2),
            ))
            .map_err(drawing)?
            .label("h'(x)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], derivative_colour.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(font(text - 1))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(drawing)?;
        Ok(())
    }
}

struct Single(Curves);

impl Figure for Single {
    fn size(&self) -> (u32, u32) {
        (640, 420)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.0.draw(root, 16)
    }
}

struct Overview(Vec<Curves>);

impl Figure for Overview {
    fn size(&self) -> (u32, u32) {
        let rows = self.0.len().div_ceil(3) as u32;
        (1200, 40 + 330 * rows)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = root
            .titled("Activation functions h(x) (blue) and their derivatives h'(x) (red)", font(22))
            .map_err(drawing)?;
        let cells = body.split_evenly((self.0.len().div_ceil(3), 3));
        for (curves, cell) in self.0.iter().zip(&cells) {
            curves.draw(cell, 13)?;
        }
        Ok(())
    }
}

/// Draws `activation` and its derivative on [-5, 5] into `path` (`.png` or `.svg`).
pub fn activation_chart(activation: Activation, path: &Path) -> Result<()> {
    activation.validate()?;
    save(&Single(Curves::of(activation)?), path)
}

/// Draws every activation of [`Activation::ALL`] with its derivative on one page.
pub fn activation_overview(path: &Path) -> Result<()> {
    let curves = Activation::ALL.iter().map(|&a| Curves::of(a)).collect::<Result<Vec<_>>>()?;
    save(&Overview(curves), path)
}

/// Writes into `dir` (created if missing) one chart per activation,
/// `activation-<name>.png` and `.svg`, and the overview `activations.png` and `.svg`;
/// returns the paths written.
pub fn activation_charts(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        for a in Activation::ALL {
            let path = dir.join(format!("activation-{}.{ext}", a.name()));
            activation_chart(a, &path)?;
            written.push(path);
        }
        let path = dir.join(format!("activations.{ext}"));
        activation_overview(&path)?;
        written.push(path);
    }
    Ok(written)
}
