//! Activation functions and their derivatives, in place on slices.
//!
//! Each derivative is written in terms of the activation's *output* `y` (sigmoid:
//! `y (1 - y)`, tanh: `1 - y^2`, ReLU: `y > 0`, ...). That is why a layer only keeps its
//! activated output for the backward pass: no second buffer for the pre-activation.
//! The `*_grad` functions multiply an incoming gradient `g` by the derivative, in place.
//! The loops are compiled for several instruction sets and picked at run time
//! (`multiversion`), so they run at full SIMD width in a portable binary.

use multiversion::multiversion;

/// `e^x` for f32 without a library call, so that loops over it vectorise.
///
/// Range reduction `x = n ln2 + r` with `|r| <= ln2/2`, then a degree-7 polynomial for `e^r`
/// and `2^n` built from the exponent bits. Relative error is below 2 ulp over the whole
/// range; inputs below -87.3 give 0 (no subnormals), above 88.7 give infinity, NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const LOW: f32 = -87.336_55;
    const HIGH: f32 = 88.722_83;
    let input = x;
    let x = x.clamp(LOW, HIGH);
    // Round to nearest by adding and subtracting 1.5 * 2^23: plain arithmetic, so the loop
    // vectorises (f32::round is a library call without SSE4.1). |x log2 e| < 2^22 here.
    const ROUNDER: f32 = 12_582_912.0;
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Taylor coefficients of e^r to degree 7, by Horner's rule; |r| <= 0.347 keeps the
    // truncation error near 5e-9.
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2^n with n in [-126, 128]: split so that each factor is a normal float. The integer
    // n is read from the low bits of `shifted` (1.5 * 2^23 + n): `n as i32` would saturate
    // lane by lane, which keeps the loop from vectorising.
    let n = shifted.to_bits() as i32 - ROUNDER.to_bits() as i32;
    let half = n / 2;
    let scale_a = f32::from_bits(((half + 127) as u32) << 23);
    let scale_b = f32::from_bits(((n - half + 127) as u32) << 23);
    let y = p * scale_a * scale_b;
    if input < LOW {
        0.0
    } else if input > HIGH {
        f32::INFINITY
    } else if input.is_nan() {
        f32::NAN
    } else {
        y
    }
}

/// Heaviside step: 1 where `x > 0`, else 0 (the perceptron's activation).
#[multiversion(targets = "simd")]
pub fn step(x: &mut [f32]) {
    for v in x {
        *v = if *v > 0.0 { 1.0 } else { 0.0 };
    }
}

/// The step function's derivative is 0 wherever it exists.
#[multiversion(targets = "simd")]
pub fn step_grad(_y: &[f32], g: &mut [f32]) {
    g.fill(0.0);
}

/// `1 / (1 + e^-x)`, computed as `e^x / (1 + e^x)` for negative `x` so that neither branch
/// overflows.
#[multiversion(targets = "simd")]
pub fn sigmoid(x: &mut [f32]) {
    for v in x {
        let e = exp(-v.abs());
        let s = 1.0 / (1.0 + e);
        *v = if *v >= 0.0 { s } else { e * s };
    }
}

/// `g *= y (1 - y)`.
#[multiversion(targets = "simd")]
pub fn sigmoid_grad(y: &[f32], g: &mut [f32]) {
    for (g, &y) in g.iter_mut().zip(y) {
        *g *= y * (1.0 - y);
    }
}

/// Hyperbolic tangent, `1 - 2 / (e^{2x} + 1)`, exact at both tails.
#[multiversion(targets = "simd")]
pub fn tanh(x: &mut [f32]) {
    for v in x {
        let e = exp(-2.0 * v.abs());
        let t = (1.0 - e) / (1.0 + e);
        *v = t.copysign(*v);
    }
}

/// `g *= 1 - y^2`.
#[multiversion(targets = "simd")]
pub fn tanh_grad(y: &[f32], g: &mut [f32]) {
    for (g, &y) in g.iter_mut().zip(y) {
        *g *= 1.0 - y * y;
    }
}

/// `max(0, x)`.
#[multiversion(targets = "simd")]
pub fn relu(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}

/// `g *= (y > 0)`: the derivative at 0 is taken as 0, as in PyTorch.
#[multiversion(targets = "simd")]
pub fn relu_grad(y: &[f32], g: &mut [f32]) {
    for (g, &y) in g.iter_mut().zip(y) {
        *g = if y > 0.0 { *g } else { 0.0 };
    }
}

/// `x` for `x > 0`, else `alpha x` (alpha >= 0).
#[multiversion(targets = "simd")]
pub fn leaky_relu(x: &mut [f32], alpha: f32) {
    for v in x {
        if *v <= 0.0 {
            *v *= alpha;
        }
    }
}

/// `g *= 1` where `y > 0`, else `alpha` (for `alpha >= 0` the sign of `y` is that of `x`).
#[multiversion(targets = "simd")]
pub fn leaky_relu_grad(y: &[f32], g: &mut [f32], alpha: f32) {
    for (g, &y) in g.iter_mut().zip(y) {
        if y <= 0.0 {
            *g *= alpha;
        }
    }
}

/// `x` for `x > 0`, else `alpha (e^x - 1)` (alpha > 0).
#[multiversion(targets = "simd")]
pub fn elu(x: &mut [f32], alpha: f32) {
    for v in x {
        if *v <= 0.0 {
            *v = alpha * (exp(*v) - 1.0);
        }
    }
}

/// `g *= 1` where `y > 0`, else `y + alpha` (which is `alpha e^x`).
#[multiversion(targets = "simd")]
pub fn elu_grad(y: &[f32], g: &mut [f32], alpha: f32) {
    for (g, &y) in g.iter_mut().zip(y) {
        if y <= 0.0 {
            *g *= y + alpha;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_matches_the_library_within_two_ulp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 2.5 * f32::EPSILON as f64, "worst relative error {worst}");
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(1000.0), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn sigmoid_is_stable_at_the_tails() {
        let mut x = [-1000.0, -1.0, 0.0, 1.0, 1000.0];
        sigmoid(&mut x);
        assert_eq!(x[0], 0.0);
        assert_eq!(x[2], 0.5);
        assert_eq!(x[4], 1.0);
        assert!((x[1] - 0.268_941_42).abs() < 1e-7);
        assert!((x[3] - 0.731_058_6).abs() < 1e-7);
    }

    #[test]
    fn tanh_matches_the_library() {
        for i in -100..=100 {
            let x = i as f32 * 0.1;
            let mut v = [x];
            tanh(&mut v);
            assert!((v[0] - x.tanh()).abs() < 3e-7, "tanh({x}) = {} vs {}", v[0], x.tanh());
        }
    }
}
