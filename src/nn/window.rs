//! The geometry that convolution and pooling layers share: a window of `kernel` cells slid
//! over an image `(height, width, channels)` with `strides`, with Keras' `valid` padding (no
//! padding; only windows that fit) or `same` padding (`ceil(size / stride)` outputs, the
//! missing cells split as TensorFlow splits them, the smaller half before).
//!
//! ```
//! use neurite::nn::Padding;
//! // Keras' MNIST convnet: 28 -> 26 with a 3x3 kernel; `same` keeps 28.
//! assert_eq!(Padding::Valid.output_size(28, 3, 1), Some(26));
//! assert_eq!(Padding::Same.output_size(28, 3, 1), Some(28));
//! assert_eq!(Padding::Valid.output_size(2, 3, 1), None);
//! ```

use serde::{Deserialize, Serialize};

use super::layer::batch_shape_str;
use crate::error::{Error, Result};
pub(crate) use crate::kernels::window::Window;

/// How a window treats the image's edges (Keras' `padding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// No padding: only the windows that fit inside the image.
    #[default]
    Valid,
    /// Zeros (for convolution; nothing, for pooling) around the image so that the output has
    /// `ceil(size / stride)` positions.
    Same,
}

impl Padding {
    /// The output positions along an axis of `size` cells for a window of `kernel` cells
    /// and a stride; None when none fits (a `valid` window larger than the image) or a size
    /// is 0.
    pub fn output_size(self, size: usize, kernel: usize, stride: usize) -> Option<usize> {
        if size == 0 || kernel == 0 || stride == 0 {
            return None;
        }
        match self {
            Padding::Valid => size.checked_sub(kernel).map(|d| d / stride + 1),
            Padding::Same => Some(size.div_ceil(stride)),
        }
    }

    /// The cells added before the image along an axis (TensorFlow's split: the total is
    /// `(out - 1) * stride + kernel - size`, its smaller half before).
    fn before(self, size: usize, kernel: usize, stride: usize, out: usize) -> usize {
        match self {
            Padding::Valid => 0,
            Padding::Same => ((out - 1) * stride + kernel).saturating_sub(size) / 2,
        }
    }

    /// Keras' name.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        }
    }
}

/// The window of a layer (`layer`, its name for messages) over per-example input shape
/// `input`, or an error naming the layer and the shapes: an input that is not an image
/// `(height, width, channels)`, a kernel or stride of 0, a window larger than the image.
pub(crate) fn plan(
    layer: &str,
    input: &[usize],
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
) -> Result<Window> {
    let &[in_h, in_w, channels] = input else {
        return Err(Error::Shape(format!(
            "{layer}: expects images of shape (None, height, width, channels), got {}{}",
            batch_shape_str(input),
            if input.len() == 1 {
                " (flat rows: give the model an input shape such as (28, 28, 1), or add Reshape)"
            } else {
                ""
            }
        )));
    };
    if kernel.contains(&0) || strides.contains(&0) {
        return Err(Error::Value(format!(
            "{layer}: window {}x{} with strides {}x{}: sizes and strides must be at least 1",
            kernel[0], kernel[1], strides[0], strides[1]
        )));
    }
    if channels == 0 || in_h == 0 || in_w == 0 {
        return Err(Error::Shape(format!("{layer}: an empty image {}", batch_shape_str(input))));
    }
    let out = |size, k, s| padding.output_size(size, k, s);
    let (Some(out_h), Some(out_w)) = (out(in_h, kernel[0], strides[0]), out(in_w, kernel[1], strides[1])) else {
        return Err(Error::Shape(format!(
            "{layer}: a {}x{} window does not fit in an input of shape {} with padding \"valid\"",
            kernel[0],
            kernel[1],
            batch_shape_str(input)
        )));
    };
    Ok(Window {
        in_h,
        in_w,
        channels,
        k_h: kernel[0],
        k_w: kernel[1],
        s_h: strides[0],
        s_w: strides[1],
        pad_top: padding.before(in_h, kernel[0], strides[0], out_h),
        pad_left: padding.before(in_w, kernel[1], strides[1], out_w),
        out_h,
        out_w,
    })
}

/// The configuration of Keras' `MaxPooling2D` and `AveragePooling2D` (channels last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolingConfig {
    /// The window's height and width (Keras: 2 x 2).
    #[serde(default = "two_by_two")]
    pub pool_size: [usize; 2],
    /// The step between windows; the window's size when absent (Keras' default).
    #[serde(default)]
    pub strides: Option<[usize; 2]>,
    /// `valid` or `same`.
    #[serde(default)]
    pub padding: Padding,
    /// The per-example input shape, when the layer declares it.
    #[serde(default)]
    pub input_shape: Option<Vec<usize>>,
    /// The layer's name.
    #[serde(default)]
    pub name: Option<String>,
}

fn two_by_two() -> [usize; 2] {
    [2, 2]
}

impl Default for PoolingConfig {
    fn default() -> Self {
        PoolingConfig { pool_size: two_by_two(), strides: None, padding: Padding::Valid, input_shape: None, name: None }
    }
}

impl PoolingConfig {
    /// A `size x size` window moved by its own size.
    pub fn new(size: usize) -> PoolingConfig {
        PoolingConfig { pool_size: [size, size], ..PoolingConfig::default() }
    }

    /// The window over per-example input `input`, for the layer named `layer`.
    pub(crate) fn window(&self, layer: &str, input: &[usize]) -> Result<Window> {
        plan(layer, input, self.pool_size, self.strides.unwrap_or(self.pool_size), self.padding)
    }
}

/// A `[height, width]` pair from Keras' `kernel_size`, `strides` or `pool_size`: one number
/// for both, or two.
pub(crate) fn pair(values: &[usize]) -> Option<[usize; 2]> {
    match *values {
        [v] => Some([v, v]),
        [h, w] => Some([h, w]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_splits_like_tensorflow() {
        // 5 cells, kernel 4, stride 2: 3 outputs, (3-1)*2+4-5 = 3 padding cells, 1 before.
        let w = plan("t", &[5, 5, 1], [4, 4], [2, 2], Padding::Same).unwrap();
        assert_eq!((w.out_h, w.pad_top), (3, 1));
        let w = plan("t", &[28, 28, 1], [3, 3], [1, 1], Padding::Valid).unwrap();
        assert_eq!((w.out_h, w.out_w, w.pad_top), (26, 26, 0));
    }

    #[test]
    fn bad_windows_are_named() {
        let e = plan("conv2d", &[2, 2, 1], [3, 3], [1, 1], Padding::Valid).unwrap_err().to_string();
        assert!(e.contains("conv2d") && e.contains("3x3") && e.contains("(None, 2, 2, 1)"), "{e}");
        let e = plan("conv2d", &[8, 8, 1], [3, 3], [0, 1], Padding::Valid).unwrap_err().to_string();
        assert!(e.contains("strides 0x1"), "{e}");
        let e = plan("conv2d", &[784], [3, 3], [1, 1], Padding::Valid).unwrap_err().to_string();
        assert!(e.contains("(None, 784)") && e.contains("flat rows"), "{e}");
    }
}
