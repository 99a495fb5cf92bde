//! Every activation's value and derivative against a float64 reference written here from the
//! textbook formulas, over the whole range: tiny inputs (|x| < 1e-4, where tanh and ELU used
//! to lose digits), the negative tail [-20, -5] (where ELU's derivative taken from its output
//! used to cancel), and large |x| (where a derivative taken from a rounded output is 0).
//!
//! The bar is 1e-6 relative, about 8 float32 ulp. One exception, stated where it applies:
//! neurite's `exp` returns 0 below e^-87.34, the smallest normal float32, so a result within
//! a few times that smallest normal may come out as 0 (float32 keeps no digits there).

use neurite::autograd::Var;
use neurite::nn::Activation;
use neurite::Tensor;

/// Relative error allowed against the float64 reference.
const RTOL: f64 = 1e-6;
/// Below this, float32 has no normal numbers left for `4 e^x`-sized results (see the header).
const FLUSH: f64 = 4.0 * f32::MIN_POSITIVE as f64;

/// (h(x), h'(x)) in float64, straight from the definitions.
fn reference(a: Activation, x: f64) -> (f64, f64) {
    let sigmoid = |x: f64| if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) };
    match a {
        Activation::Identity => (x, 1.0),
        Activation::Step => (if x > 0.0 { 1.0 } else { 0.0 }, 0.0),
        Activation::Sigmoid => {
            let e = (-x.abs()).exp();
            (sigmoid(x), e / ((1.0 + e) * (1.0 + e)))
        }
        // 1 - tanh^2 = 1 / cosh^2, which keeps its digits where tanh rounds to 1.
        Activation::Tanh => (x.tanh(), 1.0 / (x.cosh() * x.cosh())),
        Activation::Relu => (x.max(0.0), if x > 0.0 { 1.0 } else { 0.0 }),
        Activation::LeakyRelu { alpha } => {
            let alpha = alpha as f64;
            if x > 0.0 {
                (x, 1.0)
            } else {
                (alpha * x, alpha)
            }
        }
        Activation::Elu { alpha } => {
            let alpha = alpha as f64;
            if x > 0.0 {
                (x, 1.0)
            } else {
                (alpha * x.exp_m1(), alpha * x.exp())
            }
        }
        Activation::Softplus => (x.max(0.0) + (-x.abs()).exp().ln_1p(), sigmoid(x)),
        Activation::Softmax => unreachable!("softmax is checked row by row"),
    }
}

/// The inputs: a dense sweep, the tails, tiny values, the values the issue named, and large
/// magnitudes, each with both signs.
fn inputs() -> Vec<f32> {
    let mut xs = vec![0.0f32];
    let mut x = 1e-30f32;
    while x < 1e30 {
        xs.extend([x, -x, x * 3.7, -x * 3.7]);
        x *= 10.0;
    }
    for i in -4000..=4000 {
        xs.push(i as f32 * 0.025); // [-100, 100]
    }
    for i in 0..=1500 {
        xs.push(-20.0 + i as f32 * 0.01); // [-20, -5] finely
    }
    xs.extend([-7.909_8e-6, 7.909_8e-6, -6.38, -14.0, -7.0, 43.6, -43.7, 44.2, 87.0, -87.5, 88.8, -1e4, 1e4, f32::MAX]);
    xs
}

/// Checks one computed value against its reference; returns a description when it fails.
fn mismatch(what: &str, a: Activation, x: f32, got: f32, want: f64) -> Option<String> {
    let got = got as f64;
    let ok = if want.abs() < FLUSH {
        got.abs() < FLUSH && (got == 0.0 || got.signum() == want.signum())
    } else {
        (got - want).abs() <= RTOL * want.abs()
    };
    (!ok).then(|| format!("{a} {what} at x = {x:e}: {got:e}, float64 reference {want:e}"))
}

#[test]
fn every_elementwise_activation_matches_float64_to_one_part_in_a_million() {
    let xs = inputs();
    let x = Tensor::vector(&xs);
    let mut failures = Vec::new();
    for a in Activation::ALL.into_iter().chain([Activation::LeakyRelu { alpha: 0.3 }, Activation::Elu { alpha: 2.5 }]) {
        if !a.is_elementwise() {
            continue;
        }
        let values = a.forward(&x).unwrap().to_vec();
        let derivatives = a.derivative(&x).unwrap().to_vec();
        for ((&xi, &y), &d) in xs.iter().zip(&values).zip(&derivatives) {
            let (want_y, want_d) = reference(a, xi as f64);
            failures.extend(mismatch("value", a, xi, y, want_y));
            failures.extend(mismatch("derivative", a, xi, d, want_d));
        }
        // The autograd path runs the same definition: its gradient is the derivative, bit for bit.
        let v = Var::parameter(x.clone());
        v.activate(a).unwrap().sum().unwrap().backward().unwrap();
        assert_eq!(v.grad().unwrap().to_vec(), derivatives, "{a}: autograd and Activation::derivative differ");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches, the first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn the_cases_the_issue_named() {
    // tanh(-7.9098e-6) came out as -7.8977e-6.
    let t = Activation::Tanh.forward(&Tensor::vector(&[-7.909_8e-6])).unwrap().to_vec()[0];
    assert!(((t as f64) / -7.909_8e-6 - 1.0).abs() < 1e-6, "{t:e}");
    // ELU's derivative at -6.38 was off by 3e-5 relative: alpha e^x from the input.
    let d = Activation::ELU.derivative(&Tensor::vector(&[-6.38])).unwrap().to_vec()[0];
    assert!(((d as f64) / (-6.38f64).exp() - 1.0).abs() < 1e-6, "{d:e}");
    // ELU just below zero: alpha (e^x - 1) through expm1.
    let e = Activation::ELU.forward(&Tensor::vector(&[-1e-5])).unwrap().to_vec()[0];
    assert!(((e as f64) / (-1e-5f64).exp_m1() - 1.0).abs() < 1e-6, "{e:e}");
    // A derivative taken from a float32 output that rounds to 1 would be 0 here.
    let d = Activation::Sigmoid.derivative(&Tensor::vector(&[20.0])).unwrap().to_vec()[0];
    assert!(((d as f64) / 2.061_153_618_190_204e-9 - 1.0).abs() < 1e-6, "{d:e}");
}

/// Softmax along a row, and its Jacobian `diag(y) - y y^T`, in float64.
fn softmax_reference(row: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let e: Vec<f64> = row.iter().map(|&v| (v as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    let y: Vec<f64> = e.iter().map(|v| v / s).collect();
    let n = row.len();
    let mut j = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            // The diagonal as y_i (sum of the others), the form that keeps its digits.
            let others: f64 = (0..n).filter(|&l| l != i).map(|l| y[l]).sum();
            j[i * n + k] = if i == k { y[i] * others } else { -y[i] * y[k] };
        }
    }
    (y, j)
}

#[test]
fn softmax_and_its_jacobian_match_float64() {
    let rows: Vec<Vec<f32>> = vec![
        vec![0.3, 2.9, 4.0],
        vec![1010.0, 1000.0, 990.0],
        vec![0.0, 20.0],
        vec![-50.0, 0.0, 50.0, 1.0],
        vec![1e-6, -1e-6, 0.0],
        vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        vec![-3.0, 14.0, 13.5, -20.0],
    ];
    let mut failures = Vec::new();
    for row in &rows {
        let x = Tensor::vector(row);
        let y = Activation::Softmax.forward(&x).unwrap().to_vec();
        let j = Activation::Softmax.jacobian(&x).unwrap().to_vec();
        let (want_y, want_j) = softmax_reference(row);
        for (i, (&got, &want)) in y.iter().zip(&want_y).enumerate() {
            failures.extend(mismatch(&format!("y[{i}] of {row:?}"), Activation::Softmax, row[i], got, want));
        }
        for (k, (&got, &want)) in j.iter().zip(&want_j).enumerate() {
            failures.extend(mismatch(&format!("J[{k}] of {row:?}"), Activation::Softmax, 0.0, got, want));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
