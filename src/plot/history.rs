//! Loss and accuracy per epoch, training and validation, from any [`History`]: what Keras
//! users draw by hand with matplotlib after `fit`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{drawing, font, save, Figure};
use crate::error::{Error, Result};
use crate::train::History;

const TRAINING: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);

/// The largest magnitude drawn: a span of twice this, padded, is still finite, and larger
/// than any loss an f32 model can report (3.4e38 is f32's largest).
const LARGEST: f64 = 1e300;

struct HistoryFigure<'a>(&'a History);

impl HistoryFigure<'_> {
    fn has_accuracy(&self) -> bool {
        self.0.epochs.iter().any(|e| e.accuracy.is_some())
    }

    /// One panel: `name` (and `val_name` when logged) against the epoch.
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        name: &str,
        title: &str,
        legend: SeriesLabelPosition,
    ) -> Result<()> {
        let train: Vec<(f64, f64)> =
            self.0.epochs.iter().filter_map(|e| Some((e.epoch as f64, e.get(name)?))).collect();
        let val_name = format!("val_{name}");
        let val: Vec<(f64, f64)> =
            self.0.epochs.iter().filter_map(|e| Some((e.epoch as f64, e.get(&val_name)?))).collect();
        let last = self.0.epochs.last().map(|e| e.epoch).unwrap_or(1).max(2) as f64;
        let ys = train.iter().chain(&val).map(|p| p.1).filter(|v| v.is_finite());
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        // A margin of 8% of the span, never nothing: around a flat curve of 1e30 a fixed 1e-3
        // would vanish in rounding and leave the axis no width.
        let pad = ((hi - lo) * 0.08).max(hi.abs().max(lo.abs()) * 1e-6).max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(title, font(20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.8..last + 0.2, (lo - pad)..(hi + pad))
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(name)
            .x_labels(last.min(12.0) as usize)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(font(14))
            .axis_desc_style(font(16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(drawing)?;
        for (points, colour, label) in [(&train, TRAINING, "training"), (&val, VALIDATION, "validation")] {
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                .map_err(drawing)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(drawing)?;
        }
        chart
            .configure_series_labels()
            .position(legend)
            .label_font(font(14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(drawing)?;
        Ok(())
    }
}

impl Figure for HistoryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (if self.has_accuracy() { 1100 } else { 550 }, 440)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        if !self.has_accuracy() {
            return self.panel(root, "loss", "loss per epoch", SeriesLabelPosition::UpperRight);
        }
        let (left, right) = root.split_horizontally(550);
        // Each legend where its curves usually are not: loss falls, accuracy rises.
        self.panel(&left, "loss", "loss per epoch", SeriesLabelPosition::UpperRight)?;
        self.panel(&right, "accuracy", "accuracy per epoch", SeriesLabelPosition::LowerRight)
    }
}

/// Draws loss and accuracy per epoch, training and (when logged) validation, side by side,
/// into `path` (`.png` or `.svg`); the loss alone for a history without accuracy (a
/// regressor's).
///
/// ```no_run
/// use neurite::{data::Dataset, nn::{Activation, Dense, Loss}, optim::Optimizer, plot};
/// use neurite::train::{FitOptions, Metric, Sequential, Verbosity};
/// let (train, _) = Dataset::digits()?;
/// let mut model = Sequential::with_seed(0);
/// model.add(Dense::new(10).activation(Activation::Softmax).input_shape(64))?;
/// model.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])?;
/// let options = FitOptions::default().epochs(10).validation_split(0.2).verbose(Verbosity::Silent);
/// let history = model.fit_with(&train, None, &options, &mut [])?;
/// plot::history_chart(&history, std::path::Path::new("history.png"))?;
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn history_chart(history: &History, path: &Path) -> Result<()> {
    if history.epochs.is_empty() {
        return Err(Error::Value(format!("{}: the history has no epochs to draw", path.display())));
    }
    // The axis is laid out from the span of the values: losses of 1e308 and -1e308 made it
    // infinite and plotters never finished. NaN and infinite values are left out of the
    // curves; finite ones must keep the span finite.
    for e in &history.epochs {
        for name in ["loss", "accuracy", "val_loss", "val_accuracy"] {
            if let Some(v) = e.get(name).filter(|v| v.is_finite() && v.abs() > LARGEST) {
                return Err(Error::Value(format!(
                    "{}: the {name} of epoch {} is {v:e}, beyond what a chart can draw (values within {LARGEST:e} either side of 0); the training diverged",
                    path.display(),
                    e.epoch
                )));
            }
        }
    }
    save(&HistoryFigure(history), path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::EpochLogs;

    fn history(losses: &[f64]) -> History {
        let epochs = losses
            .iter()
            .enumerate()
            .map(|(i, &loss)| EpochLogs {
                epoch: i + 1,
                loss,
                accuracy: None,
                val_loss: None,
                val_accuracy: None,
                seconds: 0.0,
            })
            .collect();
        History { epochs, ..Default::default() }
    }

    #[test]
    fn losses_too_large_to_draw_are_refused_and_the_largest_drawable_are_drawn() {
        let dir = std::env::temp_dir().join(format!("neurite-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Issue 26: 1e308 and -1e308 made the axis infinite and the drawing never ended.
        let err = history_chart(&history(&[1e308, -1e308]), &dir.join("h.svg")).unwrap_err().to_string();
        assert!(err.contains("the loss of epoch 1 is 1e308, beyond what a chart can draw"), "{err}");
        for losses in [&[LARGEST, -LARGEST][..], &[1e30, 1e30], &[f64::NAN, f64::INFINITY, 0.5], &[-LARGEST]] {
            history_chart(&history(losses), &dir.join("h.svg")).unwrap();
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
