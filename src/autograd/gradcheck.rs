//! Checks analytic gradients against finite differences.
//!
//! The function's output is projected to one number with fixed random weights
//! (`L = sum(r * f(x))`, r in [0.5, 1.5)) so that every output element matters and errors
//! cannot cancel. Then `dL/dx_j` from `backward` is compared with a finite difference of `L`,
//! accumulated in f64: [`gradcheck`] with the central difference of a step and tolerances
//! you choose, [`gradcheck_f32`] with both chosen from float32's rounding.

use std::fmt;

use super::{no_grad, Var};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The outcome of a [`gradcheck`].
#[derive(Debug, Clone)]
pub struct GradcheckReport {
    /// Number of gradient entries compared.
    pub checked: usize,
    /// Largest `|analytic - numeric|`.
    pub max_abs_error: f64,
    /// The largest error as a fraction of what was allowed (below 1 when all passed).
    pub worst_ratio: f64,
    /// The entry that failed the tolerance worst, if any: (input, element, analytic, numeric).
    pub failure: Option<(usize, usize, f64, f64)>,
}

impl GradcheckReport {
    /// True when every entry was within tolerance.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failure {
            None => write!(
                f,
                "{} gradient entries agree (max abs error {:.2e}, {:.0}% of the tolerance)",
                self.checked,
                self.max_abs_error,
                100.0 * self.worst_ratio
            ),
            Some((i, j, a, n)) => write!(f, "input {i}, element {j}: analytic {a:.7} vs numeric {n:.7}"),
        }
    }
}

/// Compares the gradients that autograd gives for `f` at `inputs` with central finite
/// differences `(L(x + h e_j) - L(x - h e_j)) / 2h`, element by element, within
/// `atol + rtol * |numeric|`.
///
/// ```
/// use neurite::{autograd::{gradcheck, Var}, Tensor};
/// let x = Tensor::vector(&[0.5, -1.0, 2.0]);
/// let report = gradcheck(|v: &[Var]| v[0].sigmoid(), &[x], 1e-2, 1e-3, 1e-2)?;
/// assert!(report.passed(), "{report}");
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn gradcheck(
    f: impl Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
    h: f32,
    atol: f64,
    rtol: f64,
) -> Result<GradcheckReport> {
    if !(h > 0.0 && h.is_finite()) {
        return Err(Error::Value(format!("gradcheck: step h must be > 0, got {h}")));
    }
    check(&f, inputs, |project, values, i, j, _| {
        let d = central(project, values, i, j, h)?;
        Ok((d, atol + rtol * d.abs()))
    })
}

/// [`gradcheck`] with the step and the tolerance chosen from float32's rounding, so that it
/// is as tight as the arithmetic allows.
///
/// The numeric derivative is Richardson's extrapolation of two central differences,
/// `(4 D(h/2) - D(h)) / 3`, with a step relative to the element, `h = max(|x|, 1/8) / 32`
/// (so that a logarithm at 0.1 is stepped as finely as one at 1, relative to its scale). Its
/// truncation error, about `h^4 |f^(5)| / 480`, is then below 1e-6 for the functions of the
/// library, which leaves float32's rounding as the real error: evaluating `L` rounds each of
/// its terms by a few parts in 2^24, at most `c eps S` with `S = sum |r f(x)|`, `eps = 2^-24`
/// and `c = 4` operations' worth, and the extrapolated difference amplifies that by `3 / h`.
/// The tolerance is that bound, plus 1e-5 of the derivative for the truncation. A wrong rule
/// (a wrong sign, a missing factor, a gradient off by 1%) is off by far more. The inputs of
/// a function with kinks (ReLU, abs, clamp) must be more than `|x| / 32` away from them.
///
/// ```
/// use neurite::{autograd::{gradcheck_f32, Var}, Tensor};
/// let x = Tensor::vector(&[0.5, -1.0, 2.0]);
/// let report = gradcheck_f32(|v: &[Var]| v[0].tanh(), &[x])?;
/// assert!(report.passed(), "{report}");
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn gradcheck_f32(f: impl Fn(&[Var]) -> Result<Var>, inputs: &[Tensor]) -> Result<GradcheckReport> {
    const EPS: f64 = 1.0 / (1u64 << 24) as f64;
    check(&f, inputs, |project, values, i, j, scale| {
        let h = values[i].data_mut()[j].abs().max(0.125) / 32.0;
        let coarse = central(project, values, i, j, h)?;
        let fine = central(project, values, i, j, h / 2.0)?;
        let numeric = (4.0 * fine - coarse) / 3.0;
        Ok((numeric, 4.0 * EPS * scale * 3.0 / h as f64 + 1e-5 * numeric.abs()))
    })
}

/// `L` and `sum |r f(x)|` (the scale of `L`'s rounding) at some values of the inputs.
type Projection<'a> = dyn Fn(&[Tensor]) -> Result<(f64, f64)> + 'a;

/// `(L(x + h e_j) - L(x - h e_j)) / 2h` for element `j` of input `i`.
fn central(project: &Projection<'_>, values: &mut [Tensor], i: usize, j: usize, h: f32) -> Result<f64> {
    let base = values[i].data_mut()[j];
    values[i].data_mut()[j] = base + h;
    let up = project(values)?.0;
    values[i].data_mut()[j] = base - h;
    let down = project(values)?.0;
    values[i].data_mut()[j] = base;
    // The step actually taken, after float32 rounded x + h and x - h.
    let step = ((base + h) as f64) - ((base - h) as f64);
    Ok((up - down) / step)
}

/// Backpropagates `L` through `f` once, then compares every gradient entry with
/// `numeric(project, values, input, element, scale)`, which gives the numeric derivative and
/// the tolerance for it (`scale` is `sum |r f(x)|` at the inputs).
fn check(
    f: &dyn Fn(&[Var]) -> Result<Var>,
    inputs: &[Tensor],
    numeric: impl Fn(&Projection<'_>, &mut [Tensor], usize, usize, f64) -> Result<(f64, f64)>,
) -> Result<GradcheckReport> {
    let params: Vec<Var> = inputs.iter().map(|t| Var::parameter(t.contiguous())).collect();
    let out = f(&params)?;
    let mut rng = Rng::new(0x5EED);
    let weights = Tensor::uniform(&out.shape(), 0.5, 1.5, &mut rng);
    out.mul(&Var::constant(weights.clone()))?.sum()?.backward()?;
    let r = weights.to_vec();
    let project = |values: &[Tensor]| -> Result<(f64, f64)> {
        let vars: Vec<Var> = values.iter().map(|t| Var::constant(t.clone())).collect();
        let y = no_grad(|| f(&vars))?.value().to_vec();
        let terms = y.iter().zip(&r).map(|(&a, &b)| a as f64 * b as f64);
        Ok(terms.fold((0.0, 0.0), |(l, s), t| (l + t, s + t.abs())))
    };

    let mut report = GradcheckReport { checked: 0, max_abs_error: 0.0, worst_ratio: 0.0, failure: None };
    let mut values: Vec<Tensor> = params.iter().map(|p| p.value().contiguous()).collect();
    let (_, scale) = project(&values)?;
    for (i, param) in params.iter().enumerate() {
        let analytic = param.grad().map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; inputs[i].size()]);
        for (j, &a) in analytic.iter().enumerate() {
            let (n, allowed) = numeric(&project, &mut values, i, j, scale)?;
            let err = (a as f64 - n).abs();
            report.checked += 1;
            report.max_abs_error = report.max_abs_error.max(err);
            let ratio = err / allowed;
            if ratio > report.worst_ratio {
                report.worst_ratio = ratio;
                if ratio > 1.0 {
                    report.failure = Some((i, j, a as f64, n));
                }
            }
        }
    }
    Ok(report)
}
