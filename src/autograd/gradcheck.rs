//! Checks analytic gradients against central finite differences.
//!
//! The function's output is projected to one number with fixed random weights
//! (`L = sum(r * f(x))`, r in [0.5, 1.5)) so that every output element matters and errors
//! cannot cancel. Then `dL/dx_j` from `backward` is compared with
//! `(L(x + h e_j) - L(x - h e_j)) / 2h`, where `L` is accumulated in f64.
//!
//! Tolerance: values are f32, so evaluating `L` carries a rounding error of about
//! `1e-7 |L|`, which the difference quotient amplifies by `1/h`; the truncation error of
//! central differences is about `h^2 |f'''| / 6`. With `h = 1e-2` both are near `1e-5` for
//! values of order one, so `atol = 1e-3`, `rtol = 1e-2` leave a margin of about 100 while
//! still catching any wrong rule (a wrong sign, a missing factor or an unreduced broadcast
//! is off by order one).

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
            None => write!(f, "{} gradient entries agree (max abs error {:.2e})", self.checked, self.max_abs_error),
            Some((i, j, a, n)) => write!(f, "input {i}, element {j}: analytic {a:.6} vs numeric {n:.6}"),
        }
    }
}

/// Compares the gradients that autograd gives for `f` at `inputs` with central finite
/// differences (step `h`), element by element, within `atol + rtol * |numeric|`.
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
    if h <= 0.0 {
        return Err(Error::Value(format!("gradcheck: step h must be > 0, got {h}")));
    }
    let params: Vec<Var> = inputs.iter().map(|t| Var::parameter(t.contiguous())).collect();
    let out = f(&params)?;
    let mut rng = Rng::new(0x5EED);
    let weights = Tensor::uniform(&out.shape(), 0.5, 1.5, &mut rng);
    out.mul(&Var::constant(weights.clone()))?.sum()?.backward()?;

    let project = |values: &[Tensor]| -> Result<f64> {
        let vars: Vec<Var> = values.iter().map(|t| Var::constant(t.clone())).collect();
        let y = no_grad(|| f(&vars))?.value();
        Ok(y.to_vec().iter().zip(weights.to_vec()).map(|(&a, b)| a as f64 * b as f64).sum())
    };

    let mut report = GradcheckReport { checked: 0, max_abs_error: 0.0, failure: None };
    let mut worst_ratio = 1.0;
    for (i, param) in params.iter().enumerate() {
        let analytic = param.grad().map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; inputs[i].size()]);
        for (j, &a) in analytic.iter().enumerate() {
            let mut values: Vec<Tensor> = params.iter().map(|p| p.value()).collect();
            let base = values[i].data_mut()[j];
            values[i].data_mut()[j] = base + h;
            let up = project(&values)?;
            values[i].data_mut()[j] = base - h;
            let down = project(&values)?;
            let numeric = (up - down) / (2.0 * h as f64);
            let err = (a as f64 - numeric).abs();
            let allowed = atol + rtol * numeric.abs();
            report.checked += 1;
            report.max_abs_error = report.max_abs_error.max(err);
            if err > allowed && err / allowed > worst_ratio {
                worst_ratio = err / allowed;
                report.failure = Some((i, j, a as f64, numeric));
            }
        }
    }
    Ok(report)
}
