//! Pictures of what a network does (SPEC section 8, note 002): each activation with its
//! derivative, loss and accuracy per epoch, learned weights as images in the notes'
//! colours, the activations of every layer for one input, a convolution's filters and the
//! feature maps of a convnet for one image, the images a model gets wrong and its confusion
//! matrix.
//!
//! Every function draws to a path whose extension picks the format, `.png` or `.svg`, and
//! writes the file atomically ([`crate::io::write_atomic`]). Text is rasterised from the
//! Go font shipped in `assets/fonts` (BSD licence), so no system font library is needed.
//! This module needs the `plot` feature (on by default, off for WebAssembly).
//!
//! ```no_run
//! use std::path::Path;
//! use neurite::{nn::Activation, plot};
//! plot::activation_chart(Activation::Sigmoid, Path::new("sigmoid.png"))?;
//! plot::activation_overview(Path::new("activations.svg"))?;
//! # Ok::<(), neurite::Error>(())
//! ```

mod activations;
mod conv;
mod errors;
mod history;
mod layers;
mod weights;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};
use crate::io::write_atomic;

pub use crate::data::image::weight_colour;
pub use activations::{activation_chart, activation_charts, activation_overview};
pub use conv::{conv_filters, feature_maps};
pub use errors::{confusion_chart, misclassified_grid};
pub use history::history_chart;
pub use layers::{layer_activations, layers_picture};
pub use weights::{first_layer_weights, weight_images};

/// The font every picture's text is drawn with: Go Regular (Bigelow & Holmes, BSD licence,
/// `assets/fonts/LICENSE`), embedded so that drawing needs nothing from the system.
static FONT: &[u8] = include_bytes!("../../assets/fonts/Go-Regular.ttf");

/// The family name the pictures ask plotters for.
const FAMILY: &str = "sans-serif";

/// Registers [`FONT`] with plotters once; an error if it cannot be read.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Format("the embedded font assets/fonts/Go-Regular.ttf is not a font plotters can read".into()))
    }
}

/// The file formats a picture can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => Err(Error::Value(format!("{}: a picture's file name must end in .png or .svg", path.display()))),
        }
    }
}

/// Something that can be drawn on any plotters backend, at a fixed size.
trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole picture on `root` (already white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Draws `figure` into `path`, PNG or SVG by the extension, atomically.
fn save(figure: &impl Figure, path: &Path) -> Result<()> {
    let format = Format::of(path)?;
    register_font()?;
    let (width, height) = figure.size();
    let context = |e: Error| Error::Value(format!("drawing {}: {e}", path.display()));
    let bytes = match format {
        Format::Png => {
            let mut rgb = vec![255u8; width as usize * height as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
                figure.draw(&root).map_err(context)?;
                root.present().map_err(|e| context(drawing(e)))?;
            }
            encode_png(&rgb, width, height)?
        }
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                root.fill(&WHITE).map_err(|e| context(drawing(e)))?;
                figure.draw(&root).map_err(context)?;
                root.present().map_err(|e| context(drawing(e)))?;
            }
            svg.into_bytes()
        }
    };
    write_atomic(path, &bytes)
}

/// An 8-bit RGB buffer as PNG bytes.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let fail = |e: png::EncodingError| Error::Format(format!("PNG encoding of a {width}x{height} picture: {e}"));
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(rgb).map_err(fail)?;
        writer.finish().map_err(fail)?;
    }
    Ok(out)
}

/// A plotters error as the library's.
fn drawing<E: std::fmt::Display>(e: E) -> Error {
    Error::Value(format!("plotters: {e}"))
}

/// The picture's text style at `size` pixels.
fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// Text of `size` pixels centred on a point.
fn centred(size: u32) -> TextStyle<'static> {
    font(size).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Center,
    ))
}

/// A grey level in 0..=1 (clamped; NaN is black) as a colour: 0 black, 1 white, as note 002
/// draws pixels and neurons.
fn grey(v: f32) -> RGBColor {
    let g = if v.is_nan() { 0 } else { (v.clamp(0.0, 1.0) * 255.0).round() as u8 };
    RGBColor(g, g, g)
}

/// Width, height and RGB bytes of a PNG: for the tests, which read the pixels back.
#[cfg(test)]
pub(crate) fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_picks_the_format_and_anything_else_is_an_error() {
        assert_eq!(Format::of(Path::new("a/b.PNG")).unwrap(), Format::Png);
        assert_eq!(Format::of(Path::new("b.svg")).unwrap(), Format::Svg);
        let err = Format::of(Path::new("b.jpg")).unwrap_err().to_string();
        assert!(err.contains("b.jpg") && err.contains(".png or .svg"), "{err}");
    }

    #[test]
    fn the_embedded_font_registers_and_png_round_trips() {
        register_font().unwrap();
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8 * 10).collect();
        let (w, h, back) = decode_png(&encode_png(&rgb, 3, 2).unwrap());
        assert_eq!((w, h, back), (3, 2, rgb));
    }
}
