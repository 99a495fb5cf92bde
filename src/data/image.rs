//! Pictures into model inputs: decoding PNG and JPEG to grey levels, and turning any grey
//! picture of a digit into what an MNIST model was trained on; and the notes' colours of a
//! weight, for pictures of what a layer learned.
//!
//! MNIST's recipe (LeCun et al.): the digit's bounding box is scaled to fit 20x20 keeping its
//! aspect ratio, with anti-aliasing, then placed in a 28x28 field so that its centre of mass
//! is at the centre. [`to_model_input`] does exactly that, for any square input of `side`
//! pixels (the box is `side * 20 / 28`), after making the digit light on a dark background:
//! a drawing in dark ink on white paper is inverted, automatically when the picture's border
//! is light (or as [`Invert`] says), and the paper's own grey is subtracted so that the
//! background is 0 as in MNIST.
//!
//! This is the one preprocessing function: `neurite predict` runs it on decoded files, and
//! the web playground runs the same function (compiled to WebAssembly) on a canvas' pixels,
//! so a digit gets the same numbers wherever it is drawn.
//!
//! ```
//! use neurite::data::image::{to_model_input, GreyImage, Invert};
//! // A dark vertical stroke on white paper, 40x60 pixels.
//! let mut pixels = vec![1.0f32; 40 * 60];
//! for y in 10..50 {
//!     for x in 18..22 {
//!         pixels[y * 40 + x] = 0.0;
//!     }
//! }
//! let image = GreyImage::new(40, 60, pixels)?;
//! let input = to_model_input(&image, 28, Invert::Auto)?;
//! assert_eq!(input.len(), 784);
//! // Inverted (the stroke is bright), 20 pixels tall, centred: row 14 is ink, row 2 is not.
//! assert!(input[14 * 28 + 14] > 0.9);
//! assert_eq!(input[2 * 28 + 14], 0.0);
//! assert_eq!(input.iter().filter(|&&v| v > 0.5).count() / 2, 20);
//! # Ok::<(), neurite::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A picture as grey levels in 0..=1 (0 black, 1 white), row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct GreyImage {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
}

/// The largest picture neurite decodes, in pixels per side: a photo of a digit needs far
/// less, and the bound keeps a hostile header from asking for gigabytes.
pub const MAX_SIDE: usize = 8192;

/// The most pixels a picture may have, checked from its header before any pixel is
/// decoded: 4096 x 4096, more than a 12-megapixel phone photo (4032 x 3024). A 200 KB PNG
/// may declare 8192 x 8192 (67 million pixels, 268 MB as grey levels): such a picture is
/// refused by name and size. Within the cap a picture is decoded row by row where the format
/// allows (PNG), so that at most its grey levels (64 MB at the cap) are held, and a picture
/// resized for a model is downscaled as its rows arrive.
pub const MAX_PIXELS: usize = 1 << 24;

/// Refuses a picture of `w x h` pixels over [`MAX_SIDE`] or [`MAX_PIXELS`].
fn check_size(format: &str, w: usize, h: usize) -> Result<()> {
    if w > MAX_SIDE || h > MAX_SIDE || w.saturating_mul(h) > MAX_PIXELS {
        return Err(Error::Format(format!(
            "{format}: a {w} x {h} picture ({} pixels) is over neurite's cap of {MAX_PIXELS} pixels (4096 x 4096) and {MAX_SIDE} a side; scale it down first",
            w.saturating_mul(h)
        )));
    }
    Ok(())
}

impl GreyImage {
    /// A picture of `width x height` grey levels (0 black, 1 white), row by row.
    pub fn new(width: usize, height: usize, pixels: Vec<f32>) -> Result<GreyImage> {
        if width == 0 || height == 0 || width.checked_mul(height) != Some(pixels.len()) {
            return Err(Error::Shape(format!(
                "image: {} grey levels do not make a {width} x {height} picture",
                pixels.len()
            )));
        }
        if let Some(v) = pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::Value(format!("image: grey level {v} is outside 0..=1")));
        }
        Ok(GreyImage { width, height, pixels })
    }

    /// A picture from 8-bit RGBA pixels (a canvas' `getImageData`), made grey as PIL's
    /// `convert("L")` does (ITU-R 601 luma) after composing it over white paper, so that a
    /// drawing on a transparent background reads as ink on paper.
    pub fn from_rgba8(width: usize, height: usize, rgba: &[u8]) -> Result<GreyImage> {
        if width.checked_mul(height).and_then(|n| n.checked_mul(4)) != Some(rgba.len()) {
            return Err(Error::Shape(format!(
                "image: {} RGBA bytes do not make a {width} x {height} picture",
                rgba.len()
            )));
        }
        let pixels = rgba.chunks_exact(4).map(|p| over_white(luma(p[0], p[1], p[2]), p[3])).collect();
        GreyImage::new(width, height, pixels)
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The grey levels, row by row.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }
}

fn luma(r: u8, g: u8, b: u8) -> f32 {
    (0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)) / 255.0
}

fn over_white(grey: f32, alpha: u8) -> f32 {
    let a = f32::from(alpha) / 255.0;
    (grey * a + (1.0 - a)).clamp(0.0, 1.0)
}

/// Whether to invert a picture before it goes to the model (MNIST digits are light on dark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Invert {
    /// Invert when the picture's border is mostly light (dark ink on paper).
    #[default]
    Auto,
    /// Always invert.
    Yes,
    /// Never invert (the picture is already light on dark).
    No,
}

impl FromStr for Invert {
    type Err = Error;
    fn from_str(s: &str) -> Result<Invert> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Invert::Auto),
            "yes" | "always" | "true" => Ok(Invert::Yes),
            "no" | "never" | "false" => Ok(Invert::No),
            other => Err(Error::Value(format!("invert: {other:?} is not auto, yes or no"))),
        }
    }
}

impl fmt::Display for Invert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invert::Auto => "auto",
            Invert::Yes => "yes",
            Invert::No => "no",
        })
    }
}

/// The smallest picture a model is taken to read: the bundled digits' 8x8. A model of 4 or
/// 49 inputs is a square by accident, not an image model.
pub const MIN_SIDE: usize = 8;

/// The side of the square picture a model with `features` inputs takes (28 for 784, 8 for
/// 64), or an error when `features` is not the square of [`MIN_SIDE`] or more: such a model
/// does not take images.
///
/// ```
/// assert_eq!(neurite::data::image::input_side(784)?, 28);
/// assert!(neurite::data::image::input_side(50).unwrap_err().to_string().contains("not a square picture"));
/// assert!(neurite::data::image::input_side(4).is_err());
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn input_side(features: usize) -> Result<usize> {
    let side = (features as f64).sqrt().round() as usize;
    if side < MIN_SIDE || side * side != features {
        return Err(Error::Value(format!(
            "the model takes {features} features, which is not a square picture of {MIN_SIDE}x{MIN_SIDE} or more: it does not take images"
        )));
    }
    Ok(side)
}

/// The median of the border pixels of a `w`-wide picture: the paper's grey.
fn border_median(pixels: &[f32], w: usize) -> f32 {
    let h = pixels.len() / w;
    let mut border: Vec<f32> = Vec::with_capacity(2 * (w + h));
    for x in 0..w {
        border.push(pixels[x]);
        border.push(pixels[(h - 1) * w + x]);
    }
    for y in 0..h {
        border.push(pixels[y * w]);
        border.push(pixels[y * w + w - 1]);
    }
    border.sort_by(f32::total_cmp);
    border[border.len() / 2]
}

/// Ink below this fraction of the darkest stroke is noise (paper texture, JPEG ringing) when
/// finding the digit's bounding box.
const INK_THRESHOLD: f32 = 0.1;

/// A picture of a digit as the `side * side` inputs of a model trained on MNIST-like data,
/// in 0..=1, light on dark: inverted as `invert` says, background removed, the digit's
/// bounding box scaled to fit `side * 20 / 28` pixels with its aspect ratio kept (area
/// averaging, so it is anti-aliased as MNIST's are), then placed so that its centre of mass
/// is at the centre of the field. A blank picture is an error.
pub fn to_model_input(img: &GreyImage, side: usize, invert: Invert) -> Result<Vec<f32>> {
    if side == 0 {
        return Err(Error::Value("image: the model's picture has no pixels".into()));
    }
    let invert = match invert {
        Invert::Yes => true,
        Invert::No => false,
        Invert::Auto => border_median(&img.pixels, img.width) > 0.5,
    };
    // One copy of the picture, worked on in place (a large photo is tens of megabytes).
    let mut ink: Vec<f32> = img.pixels.iter().map(|&p| if invert { 1.0 - p } else { p }).collect();
    // The paper is the border's median: subtract it, then scale the strongest ink to 1.
    let paper = border_median(&ink, img.width);
    let strongest = ink.iter().fold(0.0f32, |m, &v| m.max(v));
    if strongest - paper < 0.05 {
        let hint = if invert { ", once inverted" } else { "" };
        return Err(Error::Value(format!(
            "image: no digit found: the picture is blank ({}x{}, every grey level within 5% of the background{hint}); \
             a digit is drawn light on dark or dark on light (see the invert option)",
            img.width, img.height
        )));
    }
    let scale = 1.0 / (strongest - paper);
    ink.iter_mut().for_each(|v| *v = ((*v - paper) * scale).clamp(0.0, 1.0));
    // The bounding box of the ink.
    let (w, h) = (img.width, img.height);
    let (mut x0, mut x1, mut y0, mut y1) = (w, 0, h, 0);
    for y in 0..h {
        for x in 0..w {
            if ink[y * w + x] > INK_THRESHOLD {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    let (bw, bh) = (x1 + 1 - x0, y1 + 1 - y0);
    let crop: Vec<f32> = (y0..=y1).flat_map(|y| ink[y * w + x0..=y * w + x1].iter().copied()).collect();
    // Fit the box: the longer side becomes `side * 20 / 28` pixels.
    let target = ((side * 20) as f64 / 28.0).round().max(1.0);
    let fit = target / bw.max(bh) as f64;
    let nw = ((bw as f64 * fit).round() as usize).clamp(1, side);
    let nh = ((bh as f64 * fit).round() as usize).clamp(1, side);
    let small = resample(&crop, bw, bh, nw, nh);
    // Centre of mass, in continuous coordinates (pixel i spans [i, i + 1)).
    let total: f64 = small.iter().map(|&v| f64::from(v)).sum();
    let (mut cx, mut cy) = (0.0f64, 0.0f64);
    for y in 0..nh {
        for x in 0..nw {
            let v = f64::from(small[y * nw + x]);
            cx += v * (x as f64 + 0.5);
            cy += v * (y as f64 + 0.5);
        }
    }
    let (cx, cy) = if total > 0.0 { (cx / total, cy / total) } else { (nw as f64 / 2.0, nh as f64 / 2.0) };
    let half = side as f64 / 2.0;
    // Shift so the centre of mass lands on the field's centre, keeping the box inside.
    let ox = ((half - cx).round().max(0.0) as usize).min(side - nw);
    let oy = ((half - cy).round().max(0.0) as usize).min(side - nh);
    let mut out = vec![0.0f32; side * side];
    for y in 0..nh {
        out[(oy + y) * side + ox..(oy + y) * side + ox + nw].copy_from_slice(&small[y * nw..(y + 1) * nw]);
    }
    Ok(out)
}

/// For each of `d` output pixels along an axis of `s` source pixels, the source pixels it
/// covers and their weights (fractional pixels weighted by their overlap).
fn area_weights(s: usize, d: usize) -> Vec<Vec<(usize, f32)>> {
    let ratio = s as f64 / d as f64;
    (0..d)
        .map(|i| {
            let (a, b) = (i as f64 * ratio, (i + 1) as f64 * ratio);
            let mut ws = Vec::new();
            let mut j = a.floor() as usize;
            while (j as f64) < b && j < s {
                let overlap = (b.min(j as f64 + 1.0) - a.max(j as f64)) / ratio;
                if overlap > 0.0 {
                    ws.push((j, overlap as f32));
                }
                j += 1;
            }
            ws
        })
        .collect()
}

/// Resizes `src` (`sw x sh`) to `dw x dh` by area averaging: each output pixel is the mean of
/// the source area it covers, fractional pixels weighted by their overlap.
fn resample(src: &[f32], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<f32> {
    let mut area = AreaResize::new(sw, sh, dw, dh, 1);
    for row in src.chunks_exact(sw) {
        area.push_row(row);
    }
    area.finish()
}

/// Area resizing of a picture that arrives row by row (`channels` values a pixel,
/// interleaved): each row is resized across as it comes, so that only the `sh x dw` partly
/// resized rows are held, never the source picture.
struct AreaResize {
    wx: Vec<Vec<(usize, f32)>>,
    wy: Vec<Vec<(usize, f32)>>,
    channels: usize,
    dw: usize,
    rows: Vec<f32>,
}

impl AreaResize {
    fn new(sw: usize, sh: usize, dw: usize, dh: usize, channels: usize) -> AreaResize {
        AreaResize {
            wx: area_weights(sw, dw),
            wy: area_weights(sh, dh),
            channels,
            dw,
            rows: Vec::with_capacity(sh * dw * channels),
        }
    }

    /// The next source row, `sw * channels` values.
    fn push_row(&mut self, row: &[f32]) {
        let c = self.channels;
        for ws in &self.wx {
            for ch in 0..c {
                self.rows.push(ws.iter().map(|&(j, w)| row[j * c + ch] * w).sum());
            }
        }
    }

    /// The resized picture, `dh x dw x channels` values in 0..=1.
    fn finish(self) -> Vec<f32> {
        let (c, dw) = (self.channels, self.dw);
        let mut out = Vec::with_capacity(self.wy.len() * dw * c);
        for ws in &self.wy {
            for i in 0..dw * c {
                out.push(ws.iter().map(|&(j, w)| self.rows[j * dw * c + i] * w).sum::<f32>().clamp(0.0, 1.0));
            }
        }
        out
    }
}

/// Decodes a PNG or JPEG file (told apart by their signatures) into grey levels: colour
/// through ITU-R 601 luma, transparency composed over white, 16-bit samples to 8. Pictures
/// over [`MAX_SIDE`] pixels a side are refused before their pixels are decoded.
/// Pictures over [`MAX_PIXELS`] are refused too, naming their size.
pub fn decode(bytes: &[u8]) -> Result<GreyImage> {
    let mut pixels = Vec::new();
    let (w, h) = each_row(bytes, false, &mut |w, h, row| {
        // Exactly the picture's size, not a doubling Vec's (up to twice that at the cap).
        if pixels.is_empty() {
            pixels.reserve_exact(w * h);
        }
        pixels.extend_from_slice(row)
    })?;
    GreyImage::new(w, h, pixels)
}

/// Reads and decodes a picture file; errors name it.
pub fn load(path: &std::path::Path) -> Result<GreyImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes).map_err(|e| match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Decodes a PNG or JPEG picture and resizes it to `height x width` for a model trained on a
/// folder of pictures: `color.channels()` values per pixel in 0..=1, row by row, channels
/// last (`height * width * channels` values). Colour as Keras and PyTorch read it
/// (transparency composed over white, as [`decode`] does; a grey picture's level three times
/// for RGB), resized by area averaging (PIL's `Image.BOX`: each pixel the mean of the area
/// it covers), without keeping the aspect ratio, as Keras' `image_dataset_from_directory`
/// and torchvision's `Resize((h, w))` do.
///
/// ```
/// use neurite::data::{image::decode_resized, Color};
/// // A 2x2 grey PNG (black, white / white, black), made by the png crate.
/// let mut png = Vec::new();
/// {
///     let mut encoder = png::Encoder::new(&mut png, 2, 2);
///     encoder.set_color(png::ColorType::Grayscale);
///     encoder.write_header().unwrap().write_image_data(&[0, 255, 255, 0]).unwrap();
/// }
/// assert_eq!(decode_resized(&png, 1, 1, Color::Grey)?, vec![0.5]);
/// assert_eq!(decode_resized(&png, 2, 2, Color::Rgb)?.len(), 12);
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn decode_resized(bytes: &[u8], height: usize, width: usize, color: Color) -> Result<Vec<f32>> {
    if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
        return Err(Error::Value(format!("image: cannot resize to {height}x{width} pixels")));
    }
    let channels = if color == Color::Rgb { 3 } else { 1 };
    // Each row is resized across as it is decoded; the source picture is never held whole.
    let mut area: Option<AreaResize> = None;
    each_row(bytes, channels == 3, &mut |w, h, row| {
        area.get_or_insert_with(|| AreaResize::new(w, h, width, height, channels)).push_row(row)
    })?;
    Ok(area.ok_or_else(|| Error::Format("the picture has no rows".into()))?.finish())
}

/// [`decode_resized`] on a file; errors name it.
pub fn load_resized(path: &std::path::Path, height: usize, width: usize, color: Color) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_resized(&bytes, height, width, color).map_err(|e| match e {
        Error::Format(m) => Error::Format(format!("{}: {m}", path.display())),
        other => other.context(path.display()),
    })
}

/// Calls `row(width, height, values)` with each row of a PNG or JPEG picture, top to
/// bottom, as values in 0..=1: grey levels (ITU-R 601 luma), or RGB interleaved when `rgb`
/// (a grey picture's level three times); transparency composed over white, 16-bit samples
/// cut to 8. Returns the width and height. The size is checked ([`check_size`]) from the
/// header before any pixel is decoded.
fn each_row(bytes: &[u8], rgb: bool, row: &mut dyn FnMut(usize, usize, &[f32])) -> Result<(usize, usize)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_rows(bytes, rgb, row)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        let (w, h, samples) = jpeg_pixels(bytes, rgb)?;
        let width = w * if rgb { 3 } else { 1 };
        let mut values = vec![0.0f32; width];
        for line in samples.chunks_exact(width) {
            values.iter_mut().zip(line).for_each(|(v, &s)| *v = f32::from(s) / 255.0);
            row(w, h, &values);
        }
        Ok((w, h))
    } else {
        Err(Error::Format("not a PNG or JPEG picture".into()))
    }
}

/// [`each_row`] for a PNG: 8 bits a sample (palettes, low bit depths and tRNS expanded,
/// 16-bit samples cut to 8), decoded a row at a time (an interlaced picture, whose rows come
/// in seven passes, whole).
fn png_rows(bytes: &[u8], rgb: bool, row: &mut dyn FnMut(usize, usize, &[f32])) -> Result<(usize, usize)> {
    let err = |e: png::DecodingError| Error::Format(format!("PNG: {e}"));
    // The decoder allocates no more than this, whatever the header says.
    let limits = png::Limits { bytes: 4 * MAX_PIXELS };
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(err)?;
    let (w, h) = (reader.info().width as usize, reader.info().height as usize);
    check_size("PNG", w, h)?;
    let (color_type, _) = reader.output_color_type();
    let level = |v: u8| f32::from(v) / 255.0;
    let mut values = Vec::with_capacity(w * if rgb { 3 } else { 1 });
    let mut convert = |data: &[u8]| -> Result<()> {
        values.clear();
        match (color_type, rgb) {
            (png::ColorType::Grayscale, false) => values.extend(data.iter().map(|&g| level(g))),
            (png::ColorType::Grayscale, true) => values.extend(data.iter().flat_map(|&g| [level(g); 3])),
            (png::ColorType::GrayscaleAlpha, false) => {
                values.extend(data.chunks_exact(2).map(|p| over_white(level(p[0]), p[1])))
            }
            (png::ColorType::GrayscaleAlpha, true) => {
                values.extend(data.chunks_exact(2).flat_map(|p| [over_white(level(p[0]), p[1]); 3]))
            }
            (png::ColorType::Rgb, false) => values.extend(data.chunks_exact(3).map(|p| luma(p[0], p[1], p[2]))),
            (png::ColorType::Rgb, true) => values.extend(data.iter().map(|&v| level(v))),
            (png::ColorType::Rgba, false) => {
                values.extend(data.chunks_exact(4).map(|p| over_white(luma(p[0], p[1], p[2]), p[3])))
            }
            (png::ColorType::Rgba, true) => {
                values.extend(data.chunks_exact(4).flat_map(|p| [0, 1, 2].map(|c| over_white(level(p[c]), p[3]))))
            }
            (png::ColorType::Indexed, _) => {
                return Err(Error::Format("PNG: an indexed picture was not expanded".into()))
            }
        }
        if values.len() != w * if rgb { 3 } else { 1 } {
            return Err(Error::Format(format!("PNG: a row of {} values for a {w} x {h} picture", values.len())));
        }
        row(w, h, &values);
        Ok(())
    };
    if reader.info().interlaced {
        let size = reader.output_buffer_size().ok_or_else(|| Error::Format("PNG: the picture is too large".into()))?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(err)?;
        for line in buf[..info.buffer_size()].chunks_exact(info.line_size).take(h) {
            convert(line)?;
        }
    } else {
        for _ in 0..h {
            let next = reader.next_row().map_err(err)?;
            let data = next.ok_or_else(|| Error::Format(format!("PNG: the picture ends before its {h} rows")))?;
            convert(data.data())?;
        }
        // One more: past the last row the decoder reads the rest of the image data and its
        // checksums, as `next_frame` does, so that a file cut after its rows is refused.
        if reader.next_row().map_err(err)?.is_some() {
            return Err(Error::Format(format!("PNG: more than the {h} rows its header declares")));
        }
    }
    Ok((w, h))
}

/// A JPEG's samples as grey levels or RGB: width, height and bytes. A file that ends before
/// its picture does (a truncated download) is an error: the decoder's strict mode refuses
/// what it would otherwise fill with grey.
fn jpeg_pixels(bytes: &[u8], rgb: bool) -> Result<(usize, usize, Vec<u8>)> {
    use zune_jpeg::zune_core::{colorspace::ColorSpace, options::DecoderOptions};
    let err = |e: zune_jpeg::errors::DecodeErrors| Error::Format(format!("JPEG: {e}"));
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(if rgb { ColorSpace::RGB } else { ColorSpace::Luma })
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE)
        .set_strict_mode(true);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(std::io::Cursor::new(bytes), options);
    decoder.decode_headers().map_err(err)?;
    let info = decoder.info().ok_or_else(|| Error::Format("JPEG: no picture header".into()))?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    check_size("JPEG", w, h)?;
    let size = decoder.output_buffer_size().ok_or_else(|| Error::Format("JPEG: the picture is too large".into()))?;
    if size != w * h * if rgb { 3 } else { 1 } {
        let what = if rgb {
            format!("bytes for a {w} x {h} RGB picture")
        } else {
            format!("grey bytes for a {w} x {h} picture")
        };
        return Err(Error::Format(format!("JPEG: {size} {what}")));
    }
    let mut out = vec![0u8; size];
    decoder.decode_into(&mut out).map_err(|e| {
        let m = e.to_string();
        if m.contains("Premature") || m.contains("Exhausted") {
            Error::Format(format!("JPEG: the file ends before its {w} x {h} picture does (truncated?): {m}"))
        } else {
            err(e)
        }
    })?;
    Ok((w, h, out))
}

/// The notes' colour of a weight `v` scaled to [-1, 1] (clamped): red for negative, green
/// for positive, each as bright as the weight is large, so near zero is black. The square
/// root brightens middling weights, which a linear scale leaves too dark to see. Here, not in
/// `plot`, so that the web page (built without `plot`) colours weights as the pictures do.
///
/// ```
/// use neurite::data::image::weight_colour;
/// assert_eq!(weight_colour(1.0), [0, 255, 0]);
/// assert_eq!(weight_colour(-1.0), [255, 0, 0]);
/// assert_eq!(weight_colour(0.0), [0, 0, 0]);
/// ```
pub fn weight_colour(v: f32) -> [u8; 3] {
    let level = if v.is_nan() { 0 } else { (v.abs().min(1.0).sqrt() * 255.0).round() as u8 };
    if v < 0.0 {
        [level, 0, 0]
    } else {
        [0, level, 0]
    }
}

/// How pictures are read: as one grey level per pixel, or as red, green and blue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Color {
    /// One value per pixel (ITU-R 601 luma of a colour picture).
    Grey,
    /// Three values per pixel, red, green, blue (a grey picture's level three times), as
    /// Keras' `color_mode="rgb"` and PyTorch's `ImageFolder` read them.
    #[default]
    Rgb,
}

impl Color {
    /// Values per pixel: 1 or 3.
    pub fn channels(self) -> usize {
        match self {
            Color::Grey => 1,
            Color::Rgb => 3,
        }
    }
}

impl std::str::FromStr for Color {
    type Err = Error;
    fn from_str(s: &str) -> Result<Color> {
        match s.trim().to_ascii_lowercase().as_str() {
            "grey" | "gray" | "grayscale" | "greyscale" | "l" => Ok(Color::Grey),
            "rgb" | "colour" | "color" => Ok(Color::Rgb),
            other => Err(Error::Value(format!("color: {other:?} is not grey or rgb"))),
        }
    }
}

impl std::fmt::Display for Color {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Color::Grey => "grey",
            Color::Rgb => "rgb",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(w: usize, h: usize, paper: f32, ink: f32, rect: (usize, usize, usize, usize)) -> GreyImage {
        let mut p = vec![paper; w * h];
        for y in rect.1..rect.3 {
            for x in rect.0..rect.2 {
                p[y * w + x] = ink;
            }
        }
        GreyImage::new(w, h, p).unwrap()
    }

    #[test]
    fn a_digit_anywhere_ends_up_centred_and_20_pixels_tall() {
        // A 10x40 bar in the top-left corner of a 200x100 white picture.
        let img = blob(200, 100, 1.0, 0.0, (5, 5, 15, 45));
        let out = to_model_input(&img, 28, Invert::Auto).unwrap();
        let rows: Vec<usize> = (0..28).filter(|y| (0..28).any(|x| out[y * 28 + x] > 0.5)).collect();
        let cols: Vec<usize> = (0..28).filter(|x| (0..28).any(|y| out[y * 28 + x] > 0.5)).collect();
        assert_eq!(rows, (4..24).collect::<Vec<_>>());
        assert_eq!(cols, (12..17).collect::<Vec<_>>());
    }

    #[test]
    fn inversion_is_automatic_and_can_be_forced() {
        let dark_on_light = blob(30, 30, 0.75, 0.25, (10, 5, 20, 25));
        let light_on_dark = blob(30, 30, 0.25, 0.75, (10, 5, 20, 25));
        let a = to_model_input(&dark_on_light, 28, Invert::Auto).unwrap();
        let b = to_model_input(&light_on_dark, 28, Invert::Auto).unwrap();
        assert_eq!(a, b);
        assert_eq!(to_model_input(&light_on_dark, 28, Invert::No).unwrap(), b);
        assert_eq!(to_model_input(&dark_on_light, 28, Invert::Yes).unwrap(), b);
        // The background is 0, the ink 1, as in MNIST.
        assert_eq!(b.iter().cloned().fold(0.0, f32::max), 1.0);
        assert_eq!(b[0], 0.0);
    }

    #[test]
    fn blank_and_malformed_pictures_are_errors() {
        let err = to_model_input(&blob(10, 10, 1.0, 1.0, (0, 0, 0, 0)), 28, Invert::Auto).unwrap_err();
        assert!(err.to_string().contains("no digit found"), "{err}");
        assert!(GreyImage::new(3, 3, vec![0.0; 8]).is_err());
        assert!(GreyImage::new(0, 0, vec![]).is_err());
        assert!(GreyImage::new(1, 1, vec![2.0]).is_err());
        assert!(decode(b"GIF89a").unwrap_err().to_string().contains("not a PNG or JPEG"));
        assert!(decode(b"\x89PNG\r\n\x1a\n\0\0").is_err());
        assert!(decode(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10]).is_err());
        assert!(input_side(10).is_err());
    }

    #[test]
    fn area_resampling_keeps_the_mean() {
        let src: Vec<f32> = (0..12).map(|i| i as f32 / 12.0).collect();
        let out = resample(&src, 4, 3, 2, 2);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean(&out) - mean(&src)).abs() < 1e-6);
        assert_eq!(resample(&src, 4, 3, 4, 3), src);
    }

    #[test]
    fn an_eight_by_eight_model_gets_an_eight_by_eight_digit() {
        let out = to_model_input(&blob(50, 50, 0.0, 1.0, (20, 10, 30, 40)), 8, Invert::Auto).unwrap();
        assert_eq!(out.len(), 64);
        assert!(out.iter().any(|&v| v > 0.5));
    }
}
