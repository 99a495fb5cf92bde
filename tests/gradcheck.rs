//! Every differentiable operation's backward rule checked against central finite
//! differences (see `neurite::autograd::gradcheck` for the tolerance and why it holds).

use neurite::autograd::{gradcheck, gradcheck_f32, no_grad, Var};
use neurite::{Result, Rng, Tensor};

/// Inputs drawn away from 0 so that |x|, ReLU and friends are differentiable there.
fn input(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    let t = Tensor::uniform(shape, 0.2, 1.5, &mut rng);
    let signs = Tensor::uniform(shape, -1.0, 1.0, &mut rng).sign();
    t.mul(&signs).unwrap()
}

fn positive(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = Rng::new(seed);
    Tensor::uniform(shape, 0.5, 2.0, &mut rng)
}

fn check(f: impl Fn(&[Var]) -> Result<Var>, inputs: &[Tensor]) {
    // The step and the tolerance come from float32's rounding (see gradcheck_f32).
    let report = gradcheck_f32(f, inputs).unwrap();
    println!("{report}");
    assert!(report.passed(), "{report}");
    assert!(report.checked > 0);
}

#[test]
fn gradcheck_add_with_broadcasting() {
    check(|v| v[0].add(&v[1]), &[input(&[3, 4], 1), input(&[4], 2)]);
    check(|v| v[0].add(&v[1]), &[input(&[3, 1], 1), input(&[1, 4], 2)]);
}

#[test]
fn gradcheck_sub_with_broadcasting() {
    check(|v| v[0].sub(&v[1]), &[input(&[2, 3], 3), input(&[2, 1], 4)]);
}

#[test]
fn gradcheck_mul_with_broadcasting() {
    check(|v| v[0].mul(&v[1]), &[input(&[2, 3, 4], 5), input(&[3, 1], 6)]);
}

#[test]
fn gradcheck_div_with_broadcasting() {
    check(|v| v[0].div(&v[1]), &[input(&[3, 4], 7), positive(&[4], 8)]);
}

#[test]
fn gradcheck_pow_tensor_exponent() {
    check(|v| v[0].pow(&v[1]), &[positive(&[5], 9), input(&[5], 10)]);
}

#[test]
fn gradcheck_powf_neg_exp_log_sqrt_abs() {
    let x = positive(&[6], 11);
    check(|v| v[0].powf(3.0), std::slice::from_ref(&x));
    check(|v| v[0].neg(), std::slice::from_ref(&x));
    check(|v| v[0].exp(), std::slice::from_ref(&x));
    check(|v| v[0].log(), std::slice::from_ref(&x));
    check(|v| v[0].sqrt(), std::slice::from_ref(&x));
    check(|v| v[0].abs(), &[input(&[6], 12)]);
}

#[test]
fn gradcheck_scalar_ops_and_clamp() {
    let x = input(&[2, 3], 13);
    check(|v| v[0].add_scalar(2.0)?.mul_scalar(-3.0), std::slice::from_ref(&x));
    check(|v| v[0].clamp(-0.7, 0.9), &[Tensor::vector(&[-1.2, -0.3, 0.4, 1.1])]);
}

#[test]
fn gradcheck_maximum_minimum_where() {
    let (a, b) = (input(&[3, 4], 14), input(&[4], 15));
    check(|v| v[0].maximum(&v[1]), &[a.clone(), b.clone()]);
    check(|v| v[0].minimum(&v[1]), &[a.clone(), b.clone()]);
    let cond = a.gt(0.0).unwrap();
    check(move |v| Var::where_cond(&cond, &v[0], &v[1]), &[a, b]);
}

#[test]
fn gradcheck_activations() {
    let x = input(&[4, 5], 16);
    check(|v| v[0].sigmoid(), std::slice::from_ref(&x));
    check(|v| v[0].tanh(), std::slice::from_ref(&x));
    check(|v| v[0].relu(), std::slice::from_ref(&x));
    check(|v| v[0].leaky_relu(0.01), std::slice::from_ref(&x));
    check(|v| v[0].elu(1.0), std::slice::from_ref(&x));
    check(|v| v[0].step(), std::slice::from_ref(&x));
}

#[test]
fn gradcheck_softmax_and_log_softmax_on_each_axis() {
    let x = input(&[3, 4], 17);
    for axis in [-1, 0] {
        check(|v| v[0].softmax(axis), std::slice::from_ref(&x));
        check(|v| v[0].log_softmax(axis), std::slice::from_ref(&x));
    }
}

#[test]
fn gradcheck_matmul_2d_batched_and_vector() {
    check(|v| v[0].matmul(&v[1]), &[input(&[3, 4], 18), input(&[4, 2], 19)]);
    check(|v| v[0].matmul(&v[1]), &[input(&[2, 3, 4], 20), input(&[4, 2], 21)]);
    check(|v| v[0].matmul(&v[1]), &[input(&[4], 22), input(&[2, 4, 3], 23)]);
    check(|v| v[0].matmul(&v[1]), &[input(&[3, 4], 24), input(&[4], 25)]);
    check(|v| v[0].matmul(&v[1]), &[input(&[4], 26), input(&[4], 27)]);
}

#[test]
fn gradcheck_matmul_through_a_transposed_operand() {
    check(|v| v[0].t()?.matmul(&v[1]), &[input(&[4, 3], 28), input(&[4, 2], 29)]);
}

#[test]
fn gradcheck_dot_numpy_rules() {
    check(|v| v[0].dot(&v[1]), &[input(&[2, 3], 30), input(&[3, 2], 31)]);
    check(|v| v[0].dot(&v[1]), &[input(&[2, 2, 3], 32), input(&[3], 33)]);
    check(|v| v[0].dot(&v[1]), &[input(&[2, 3], 34), input(&[2, 3, 2], 35)]);
    check(|v| v[0].dot(&v[1]), &[input(&[3], 36), input(&[], 37)]);
}

#[test]
fn gradcheck_reductions() {
    let x = input(&[3, 4], 38);
    check(|v| v[0].sum(), std::slice::from_ref(&x));
    check(|v| v[0].mean(), std::slice::from_ref(&x));
    check(|v| v[0].max(), std::slice::from_ref(&x));
    for keepdim in [false, true] {
        check(|v| v[0].sum_axis(0, keepdim), std::slice::from_ref(&x));
        check(|v| v[0].mean_axis(-1, keepdim), std::slice::from_ref(&x));
        check(|v| v[0].max_axis(1, keepdim), std::slice::from_ref(&x));
    }
}

#[test]
fn gradcheck_shape_operations() {
    let x = input(&[2, 3, 4], 39);
    check(|v| v[0].reshape(&[-1, 4]), std::slice::from_ref(&x));
    check(|v| v[0].transpose(0, 2), std::slice::from_ref(&x));
    check(|v| v[0].permute(&[1, 2, 0]), std::slice::from_ref(&x));
    check(|v| v[0].unsqueeze(1)?.squeeze_axis(1), std::slice::from_ref(&x));
    check(|v| v[0].flatten(), std::slice::from_ref(&x));
    check(|v| v[0].narrow(2, 1, 2), std::slice::from_ref(&x));
    check(|v| v[0].index_select(1, &[2, 0, 2]), std::slice::from_ref(&x));
    check(|v| v[0].broadcast_to(&[5, 2, 3, 4]), std::slice::from_ref(&x));
}

#[test]
fn gradcheck_cat_and_stack() {
    let (a, b) = (input(&[2, 3], 40), input(&[2, 1], 41));
    check(|v| Var::cat(&[&v[0], &v[1]], 1), &[a.clone(), b]);
    check(|v| Var::stack(&[&v[0], &v[1]], 0), &[a.clone(), input(&[2, 3], 42)]);
}

#[test]
fn gradcheck_dense_layer_weight_and_bias() {
    // z = xW + b with the bias broadcast over the batch; dL/db sums over the batch rows,
    // and b is then updated exactly like a weight: b = b - lr * dL/db (note 000).
    let x = input(&[5, 3], 43);
    check(
        move |v| Var::constant(x.clone()).matmul(&v[0])?.add(&v[1])?.sigmoid(),
        &[input(&[3, 2], 44), input(&[2], 45)],
    );
}

#[test]
fn bias_update_follows_note_000() {
    let w = Var::parameter(Tensor::matrix([[0.5], [-0.5]]));
    let b = Var::parameter(Tensor::vector(&[0.1]));
    let x = Var::constant(Tensor::matrix([[1.0, 2.0], [3.0, 4.0]]));
    let loss = x.matmul(&w).unwrap().add(&b).unwrap().powf(2.0).unwrap().mean().unwrap();
    loss.backward().unwrap();
    // z = [-0.4, -0.4]; dL/dz = 2z/2 = z; dL/db = sum(dL/dz) = -0.8
    let g = b.grad().unwrap();
    assert!((g.item().unwrap() + 0.8).abs() < 1e-6);
    let lr = 0.5;
    let updated = no_grad(|| b.value().sub(&(&g * lr))).unwrap();
    assert!((updated.item().unwrap() - 0.5).abs() < 1e-6);
}

#[test]
fn gradients_accumulate_until_zero_grad() {
    let w = Var::parameter(Tensor::vector(&[1.0, 2.0]));
    for _ in 0..2 {
        w.mul_scalar(3.0).unwrap().sum().unwrap().backward().unwrap();
    }
    assert_eq!(w.grad().unwrap().to_vec(), vec![6.0, 6.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
}

#[test]
fn a_variable_used_twice_gets_both_contributions() {
    let x = Var::parameter(Tensor::scalar(3.0));
    let y = x.mul(&x).unwrap().add(&x).unwrap(); // x^2 + x, dy/dx = 2x + 1 = 7
    y.backward().unwrap();
    assert_eq!(x.grad().unwrap().item().unwrap(), 7.0);
}

#[test]
fn no_grad_and_detach_stop_the_graph() {
    let w = Var::parameter(Tensor::vector(&[1.0]));
    let y = no_grad(|| w.mul_scalar(2.0)).unwrap();
    assert!(!y.requires_grad());
    assert!(y.backward().is_err());
    let d = w.detach();
    assert!(!d.requires_grad());
    assert!(w.mul_scalar(2.0).unwrap().requires_grad());
}

#[test]
fn backward_on_a_non_scalar_needs_a_gradient() {
    let w = Var::parameter(Tensor::vector(&[1.0, 2.0]));
    let y = w.mul_scalar(2.0).unwrap();
    let err = y.backward().unwrap_err().to_string();
    assert!(err.contains("shape (2,)"), "{err}");
    y.backward_with(&Tensor::vector(&[1.0, 0.5])).unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![2.0, 1.0]);
    assert!(y.backward_with(&Tensor::vector(&[1.0])).is_err());
}

#[test]
fn custom_operations_take_a_backward_rule() {
    use std::sync::Arc;
    let x = Var::parameter(Tensor::vector(&[1.0, 2.0]));
    let value = x.value() * 5.0;
    let y = Var::custom("times_five", vec![x.clone()], value, Arc::new(|g, _| Ok(vec![Some(g * 5.0)])));
    y.sum().unwrap().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![5.0, 5.0]);
}

/// `x^2` with a backward rule scaled by `1 + error`.
fn square_with_a_wrong_rule(error: f32) -> impl Fn(&[Var]) -> neurite::Result<Var> {
    use std::sync::Arc;
    move |v: &[Var]| {
        let x = v[0].value();
        let value = x.mul(&x)?;
        let rule = Arc::new(move |g: &Tensor, _: &Tensor| Ok(vec![Some(&g.mul(&x)? * (2.0 * (1.0 + error)))]));
        Ok(Var::custom("square", vec![v[0].clone()], value, rule))
    }
}

#[test]
fn a_wrong_rule_is_caught_by_gradcheck() {
    let x = [Tensor::vector(&[1.0, 2.0, -0.7, 3.5])];
    // Right, the check passes; wrong by 1%, or by 0.1%, it fails.
    assert!(gradcheck_f32(square_with_a_wrong_rule(0.0), &x).unwrap().passed());
    assert!(!gradcheck_f32(square_with_a_wrong_rule(0.01), &x).unwrap().passed());
    assert!(!gradcheck_f32(square_with_a_wrong_rule(0.001), &x).unwrap().passed());
    // With explicit tolerances too.
    assert!(!gradcheck(square_with_a_wrong_rule(1.0), &x, 1e-2, 1e-3, 1e-2).unwrap().passed());
}

#[test]
fn gradcheck_linear_with_and_without_bias() {
    // PyTorch's layout: the weight is (out, in); inputs of 2 and 3 dimensions.
    check(|v| v[0].linear(&v[1], Some(&v[2])), &[input(&[4, 3], 60), input(&[5, 3], 61), input(&[5], 62)]);
    check(|v| v[0].linear(&v[1], None), &[input(&[2, 4, 3], 63), input(&[2, 3], 64)]);
    // A weight viewed transposed (strides (1, in)) is read in place, with the same values.
    let w = input(&[3, 5], 65);
    let x = input(&[4, 3], 66);
    let viewed = x.linear(&w.t().unwrap(), None).unwrap();
    assert!(viewed.allclose(&x.matmul(&w).unwrap(), 1e-6, 1e-6));
}

#[test]
fn linear_backward_skips_inputs_without_gradients() {
    let x = Var::constant(input(&[4, 3], 67));
    let w = Var::parameter(input(&[2, 3], 68));
    let y = x.linear(&w, None).unwrap().sum().unwrap();
    y.backward().unwrap();
    assert!(x.grad().is_none() && w.grad().is_some());
}

/// A layer run on parameters of its own (not a model's store), as `neurite.torch`'s `Conv2d`
/// runs the library's Conv2D: its gradients for the input, the kernel and the bias.
#[test]
fn gradcheck_layer_on_parameters_outside_a_store() {
    use neurite::nn::{forward_var, Conv2D, Layer, Mode, Noise, Padding};
    let mut layer = Conv2D::new(2, 3).strides(1, 1).padding(Padding::Same);
    layer.build(&[5, 4, 3]).unwrap();
    let f = move |v: &[Var]| {
        forward_var(&layer, &v[0], &[v[1].clone(), v[2].clone()], Mode::Inference, Noise::new(0, 0, 0))
    };
    check(f, &[input(&[2, 5, 4, 3], 70), input(&[3, 3, 3, 2], 71), input(&[2], 72)]);
}
