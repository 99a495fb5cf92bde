//! Decimal numbers as tables write them (`-1234.57`, `0.000123`, `1.5e+06`), read to `f32`
//! without a string: the exact fast path that every correct float parser starts with
//! (Clinger's), for the text it covers, and nothing else.
//!
//! When the digits make an integer of at most 2^24 and the power of ten is at most 10^10 either
//! way, both are exact `f32` values, so one multiplication or division, rounded once by the
//! hardware, is the correctly rounded value: the bits `str::parse::<f32>` gives. Anything else
//! (more digits, larger exponents, `inf`, `NaN`, blanks, text) is declined and the caller
//! falls back to the standard library; a test compares the two on every shape of input.

/// 10^0 ..= 10^10, each exact in `f32` (5^10 < 2^24).
const POWERS: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// The largest integer below which every integer is exact in `f32`.
const EXACT: u64 = 1 << 24;

/// The number at the start of `text` and how many bytes it took, when the fast path is exact
/// for it (its value is then the bits `str::parse::<f32>` gives); `None` sends the caller to
/// `str::parse`. The number is `[+-]digits[.digits]` or `[+-].digits`, then an optional
/// `e`/`E`, sign and digits; whatever follows is not looked at
/// (the caller checks that a delimiter or the line's end comes next), so `text` may run on
/// past the field: eight bytes are read at a time where they are there.
/// For example `-1234.57,12` gives -1234.57 and 8 bytes; `1.23456789` gives `None` (its nine
/// digits make more than 2^24).
#[inline(always)]
pub(crate) fn leading_decimal(text: &[u8]) -> Option<(Decimal, usize)> {
    let negative = text.first() == Some(&b'-');
    let sign = usize::from(matches!(text.first(), Some(b'-' | b'+')));
    let (integer, scale, used) = match short_digits(text, sign) {
        Some(short) => short,
        None => long_digits(text, sign)?,
    };
    // The sign as a bit, not a branch: signs in a table are as good as random. Only a zero's
    // scale can lie outside -10..=10 (`0e99`); clamped, it still gives zero.
    let mantissa = f32::from_bits((integer as f32).to_bits() | (u32::from(negative) << 31));
    Some((Decimal { mantissa, scale: scale.clamp(-10, 10) as i8 }, used))
}

/// The digits of the number from `at` (after its sign) as an integer below 2^24, its power of
/// ten and where it ends, for any shape [`leading_decimal`] takes: digit runs on either side of
/// the point, then the exponent. A zero may come with any power.
#[inline(always)]
fn long_digits(text: &[u8], mut at: usize) -> Option<(u64, i32, usize)> {
    let (whole, whole_digits) = digit_run(text, at)?;
    at += whole_digits;
    let (mut mantissa, mut digits, mut scale) = (whole, whole_digits, 0i32);
    if text.get(at) == Some(&b'.') {
        at += 1;
        // A small number's zeros after the point (0.000123) add to the scale, not the digits.
        let mut zeros = 0;
        if mantissa == 0 {
            while text.get(at + zeros) == Some(&b'0') {
                zeros += 1;
            }
        }
        let (fraction, fraction_digits) = digit_run(text, at + zeros)?;
        at += zeros + fraction_digits;
        mantissa = mantissa * POWERS_U64[fraction_digits] + fraction;
        digits += zeros + fraction_digits;
        scale = -((zeros + fraction_digits) as i32);
    }
    if digits == 0 || mantissa >= EXACT {
        return None;
    }
    if let Some(b'e' | b'E') = text.get(at) {
        at += 1;
        let sign = match text.get(at) {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        at += usize::from(sign != 0);
        let (exponent, exponent_digits) = digit_run(text, at)?;
        if exponent_digits == 0 || exponent_digits > 4 {
            return None;
        }
        at += exponent_digits;
        scale += if sign < 0 { -(exponent as i32) } else { exponent as i32 };
    }
    if mantissa != 0 && !(-10..=10).contains(&scale) {
        return None;
    }
    Some((mantissa, scale, at))
}

/// Bytes with their top bit, one per byte of a word.
const TOP: u64 = 0x8080_8080_8080_8080;
/// One in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;

/// [`long_digits`] for the numbers most tables are made of: at most seven digits and one point
/// from `sign` on, ending (at a delimiter, say) within the eight bytes read at once; `None`
/// for anything else, an exponent included, which the longer path then reads.
///
/// The bytes' kinds (digit, point, other) come from one word with no branch and no borrow
/// between bytes; the point is cut out of the word, and the digits combined as in
/// [`digit_run`]. Most of a table's cells (`-1234.57`, `0.5`, `255`, `0`) then take one pass
/// with no loop, instead of a digit run on each side of the point.
#[inline(always)]
fn short_digits(text: &[u8], sign: usize) -> Option<(u64, i32, usize)> {
    let word = u64::from_le_bytes(text.get(sign..sign + 8)?.try_into().ok()?);
    // Per byte, on its low seven bits (so no carry leaves a byte): at least '0', above '9';
    // equal to '.' (no bit left after the exclusive or).
    let low = word & !TOP;
    let digits = (low + (0x80 - b'0' as u64) * ONES) & !(low + (0x80 - b':' as u64) * ONES) & !word & TOP;
    let from_point = word ^ (b'.' as u64 * ONES);
    let points = !(((from_point & !TOP) + !TOP) | from_point) & TOP;
    let end = ((!(digits | points) & TOP).trailing_zeros() / 8) as usize;
    if end == 8 || matches!(text[sign + end], b'e' | b'E') {
        return None; // longer than the word, or an exponent follows
    }
    let points = points & ((1u64 << (8 * end)) - 1);
    let values = word & (0x0F * ONES);
    let (values, count, fraction_digits) = if points == 0 {
        (values, end, 0)
    } else if points & (points - 1) == 0 {
        // Cut the point's byte out: the bytes after it move down one.
        let at = (points.trailing_zeros() / 8) as usize;
        let below = values & ((1u64 << (8 * at)) - 1);
        let above = (values >> (8 * at) >> 8) << (8 * at);
        (below | above, end - 1, end - at - 1)
    } else {
        return None; // two points: the longer path finds where the number stops
    };
    if count == 0 {
        return None;
    }
    Some((combine(values, count), -(fraction_digits as i32), sign + end))
}

/// The number at the start of `text` as [`leading_decimal`] reads it, as an `f32`.
#[cfg(test)]
fn leading_f32(text: &[u8]) -> Option<(f32, usize)> {
    leading_decimal(text).map(|(d, n)| (d.value(), n))
}

/// A number read by [`leading_decimal`]: an exact `f32` integer (at most 2^24) times ten to
/// `scale` (-10 ..= 10); its value is one multiplication and one division, each by an exact
/// power or by 1, so it is rounded once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decimal {
    pub mantissa: f32,
    pub scale: i8,
}

/// For scale s, index s + 10: the factor (10^s for s >= 0, else 1) and the divisor.
const MULTIPLY: [f32; 21] = {
    let mut t = [1.0; 21];
    let mut s = 0;
    while s <= 10 {
        t[10 + s] = POWERS[s];
        s += 1;
    }
    t
};
const DIVIDE: [f32; 21] = {
    let mut t = [1.0; 21];
    let mut s = 1;
    while s <= 10 {
        t[10 - s] = POWERS[s];
        s += 1;
    }
    t
};

impl Decimal {
    /// The value, as `str::parse::<f32>` gives it (a table's rows scale a row at a time
    /// instead, with [`apply_scales`]).
    #[cfg(test)]
    pub fn value(self) -> f32 {
        apply_scale(self.mantissa, self.scale)
    }
}

/// `mantissa` times ten to `scale`, rounded once.
#[inline(always)]
pub(crate) fn apply_scale(mantissa: f32, scale: i8) -> f32 {
    let i = (scale as i32 + 10).clamp(0, 20) as usize;
    mantissa * MULTIPLY[i] / DIVIDE[i]
}

/// Scales a row of mantissas at once, after the row's text is read: the divisions then run
/// back to back, not one in the middle of each field's parse (where waiting for it was a
/// fifth of the time).
#[inline]
pub(crate) fn apply_scales(values: &mut [f32], scales: &[i8]) {
    for (v, &s) in values.iter_mut().zip(scales) {
        *v = apply_scale(*v, s);
    }
}

/// 10^0 ..= 10^8 as integers.
const POWERS_U64: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// The ASCII digits from `at` as an integer and their count, up to seven of them; `None` for
/// eight or more (the fast path's 2^24 is a 7- or 8-digit number, so the caller declines).
///
/// Where eight bytes are there, they are read as one word: every byte less '0' at once, the
/// first that is not a digit found from the bits, the digits before it kept and combined by
/// three multiplications. The varying lengths of a table's numbers then cost no mispredicted
/// loop exits (they were most of the time of a byte-by-byte loop).
#[inline(always)]
fn digit_run(text: &[u8], at: usize) -> Option<(u64, usize)> {
    let Some(word) = text.get(at..at + 8) else {
        return digit_run_bytes(text.get(at..).unwrap_or_default());
    };
    let word = u64::from_le_bytes(word.try_into().ok()?);
    // Each byte less '0'; a byte was a digit when that is at most 9, i.e. when neither it nor
    // it plus 0x76 has its top bit. A borrow or carry only runs towards later bytes, so the
    // bytes up to the first non-digit are exact.
    let values = word.wrapping_sub(0x3030_3030_3030_3030);
    let not_digits = (values | values.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
    let count = (not_digits.trailing_zeros() / 8) as usize;
    if count == 8 {
        return None;
    }
    if count == 0 {
        return Some((0, 0));
    }
    Some((combine(values, count), count))
}

/// The integer of the first `count` (1 ..= 8) digit values in the bytes of `values`, the
/// first digit in the lowest byte (later bytes are ignored): the digits are moved up so that
/// zeros, as leading zeros of the number, fill the low bytes; then pairs, fours and the two
/// halves are combined by three multiplications.
#[inline(always)]
fn combine(values: u64, count: usize) -> u64 {
    let digits = values << (8 * (8 - count));
    let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8);
    (pairs & 0x0000_00FF_0000_00FF)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32)))
        >> 32
}

/// [`digit_run`] a byte at a time, for the last bytes of a buffer.
fn digit_run_bytes(text: &[u8]) -> Option<(u64, usize)> {
    let count = text.iter().take(8).take_while(|b| b.is_ascii_digit()).count();
    if count == 8 {
        return None;
    }
    Some((text[..count].iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')), count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Whenever the fast path takes the whole text, the standard library reads the same bits.
    /// Both ways of reading digits: the text alone (a byte at a time near its end) and followed
    /// by more of a row (eight bytes at a time).
    fn agrees(text: &str) {
        let alone = leading_f32(text.as_bytes());
        let followed = leading_f32(format!("{text},-12.5,7\n").as_bytes());
        assert_eq!(alone.map(|(v, n)| (v.to_bits(), n)), followed.map(|(v, n)| (v.to_bits(), n)), "{text:?}");
        if let Some((value, used)) = alone {
            if used == text.len() {
                let expected: f32 = text.parse().unwrap_or_else(|e| panic!("{text:?}: fast {value}, std {e}"));
                assert_eq!(value.to_bits(), expected.to_bits(), "{text:?}: fast {value:e}, std {expected:e}");
            }
        }
    }

    #[test]
    fn takes_what_tables_write() {
        assert_eq!(leading_f32(b"-1234.57,12"), Some((-1234.57, 8)));
        assert_eq!(leading_f32(b"0.000123457"), Some((0.000123457, 11)));
        assert_eq!(leading_f32(b"1.23457e+06\r"), Some((1.23457e6, 11)));
        assert_eq!(leading_f32(b"255"), Some((255.0, 3)));
        assert_eq!(leading_f32(b".5"), Some((0.5, 2)));
        assert_eq!(leading_f32(b"-0").map(|(v, _)| v.to_bits()), Some((-0.0f32).to_bits()));
        assert_eq!(leading_f32(b"1677721"), Some((1677721.0, 7)));
        assert_eq!(leading_f32(b"0.000123457,-1"), Some((0.000123457, 11)));
        // Within one word (the short path) and past it.
        assert_eq!(leading_f32(b"0,0,0,0,0"), Some((0.0, 1)));
        assert_eq!(leading_f32(b"-3.5,0,0,0"), Some((-3.5, 4)));
        assert_eq!(leading_f32(b"12.5e3,0,0,0"), Some((12500.0, 6)));
        assert_eq!(leading_f32(b"1.2.3,4,5,6"), Some((1.2, 3)));
        assert_eq!(leading_f32(b"-.,1,2,3,4"), None);
    }

    #[test]
    fn declines_what_needs_the_slow_path() {
        for text in [
            "16777216",
            "12345678",
            "1.23456789",
            "0.0000001234567",
            "1e11",
            "1e-11",
            "1e",
            "1e+",
            ".",
            "-",
            "",
            "inf",
            "NaN",
            " 1",
            "1e00001",
        ] {
            assert_eq!(leading_f32(text.as_bytes()), None, "{text:?}");
        }
    }

    #[test]
    fn every_number_it_takes_is_the_standard_librarys() {
        let special = [
            "0",
            "-0",
            "+0",
            "0.0",
            "00012",
            "1.",
            "-1.",
            ".5",
            "1.e5",
            "1e0",
            "1E+3",
            "1e-3",
            "0e99",
            "0e-9999",
            "9999999",
            "16777215",
            "0.16777215",
            "1677721.5",
            "8388609e3",
            "1e10",
            "1e-10",
            "3e-10",
            "16777215e10",
            "16777215e-10",
            "123456.7e-5",
            "+7",
            "0.1",
            "0.2",
            "0.3",
            "2.5e-3",
        ];
        for text in special {
            agrees(text);
        }
        // Random shapes: sign, digits on either side of the point, exponents near the edges.
        let mut rng = Rng::new(7);
        let mut pick = |n: u64| rng.next_u64() % n;
        for _ in 0..300_000 {
            let mut text = String::new();
            match pick(4) {
                0 => text.push('-'),
                1 => text.push('+'),
                _ => {}
            }
            for _ in 0..pick(9) {
                text.push((b'0' + pick(10) as u8) as char);
            }
            if pick(2) == 0 {
                text.push('.');
                for _ in 0..pick(9) {
                    text.push((b'0' + pick(10) as u8) as char);
                }
            }
            if pick(3) == 0 {
                text.push(if pick(2) == 0 { 'e' } else { 'E' });
                match pick(3) {
                    0 => text.push('-'),
                    1 => text.push('+'),
                    _ => {}
                }
                text.push_str(&pick(14).to_string());
            }
            agrees(&text);
        }
        // Every way `%.6g` writes a float, over magnitudes from 1e-12 to 1e12.
        for _ in 0..300_000 {
            let value = (pick(2_000_001) as f64 - 1e6) * 10f64.powi(pick(25) as i32 - 18);
            agrees(&format!("{value:.6}"));
            agrees(&format!("{value:.5e}"));
            agrees(&format!("{value}"));
        }
    }
}
