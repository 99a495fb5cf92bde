//! `e^x` and `e^x - 1` for f32 without library calls, so that the loops of the activations and
//! of softmax that call them vectorise in a portable binary. Its own module so that both
//! `activation` and `softmax` use it without using each other.

/// `(e^x, e^x - 1)` for f32 without a library call, so that loops over them vectorise.
///
/// Range reduction `x = n ln2 + r` with `|r| <= ln2/2`, then a degree-7 polynomial for
/// `q = e^r - 1` and `2^n` built from the exponent bits: `e^x = 2^n (1 + q)` and
/// `e^x - 1 = 2^n q + (2^n - 1)`, which keeps every digit of `q` when `x` is near 0 (where
/// `e^x - 1` would cancel). Both are within 2 ulp over the whole range; inputs below
/// -87.3 give `(0, -1)` (no subnormals), above 88.7 give infinity, NaN stays NaN.
#[inline(always)]
pub fn exp_and_expm1(x: f32) -> (f32, f32) {
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
    // Taylor coefficients of (e^r - 1) / r to degree 6, by Horner's rule; |r| <= 0.347
    // keeps the truncation error near 5e-9.
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let q = p * r;
    // 2^n with n in [-126, 128]: split so that each factor is a normal float. The integer
    // n is read from the low bits of `shifted` (1.5 * 2^23 + n): `n as i32` would saturate
    // lane by lane, which keeps the loop from vectorising.
    let n = shifted.to_bits() as i32 - ROUNDER.to_bits() as i32;
    let half = n / 2;
    let scale_a = f32::from_bits(((half + 127) as u32) << 23);
    let scale_b = f32::from_bits(((n - half + 127) as u32) << 23);
    let e = (q + 1.0) * scale_a * scale_b;
    // 2^128 is not a float: at the very top, e^x - 1 is e^x to the last bit anyway.
    let scale = scale_a * scale_b;
    let m = if n == 0 {
        q
    } else if n == 128 {
        e
    } else {
        scale * q + (scale - 1.0)
    };
    if input < LOW {
        (0.0, -1.0)
    } else if input > HIGH {
        (f32::INFINITY, f32::INFINITY)
    } else if input.is_nan() {
        (f32::NAN, f32::NAN)
    } else {
        (e, m)
    }
}

/// `e^x` (see [`exp_and_expm1`]).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    exp_and_expm1(x).0
}

/// `e^x - 1`, accurate near 0 (see [`exp_and_expm1`]).
#[inline(always)]
pub fn expm1(x: f32) -> f32 {
    exp_and_expm1(x).1
}
