//! Neurons, layers, activations, losses, initialisers and optimisers, checked against the
//! notes' worked values, hand-computed steps and autograd.

use neurite::autograd::{gradcheck_f32, Var};
use neurite::nn::{accuracy, zero_one_loss, Activation, Dense, Initializer, Loss, Module};
use neurite::optim::{Optim, Optimizer, OptimizerState};
use neurite::train::{FitOptions, Metric, Sequential, TensorExamples, Verbosity};
use neurite::{Rng, Tensor};

fn close(a: &Tensor, b: &[f32], tol: f32) {
    let av = a.to_vec();
    assert_eq!(av.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in av.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
    }
}

#[test]
fn sigmoid_worked_values_from_the_notes() {
    let y = Activation::Sigmoid.forward(&Tensor::vector(&[-1.0, 1.0, 2.0])).unwrap();
    close(&y, &[0.268_941_42, 0.731_058_6, 0.880_797_1], 1e-7);
    let one = Activation::Sigmoid.forward(&Tensor::scalar(1.0)).unwrap().item().unwrap();
    let two = Activation::Sigmoid.forward(&Tensor::scalar(2.0)).unwrap().item().unwrap();
    // The notes print sigmoid(1.0)=0.731 and sigmoid(2.0)=0.880 (three digits, truncated).
    assert_eq!(format!("{:.3}", (one * 1000.0).trunc() / 1000.0), "0.731");
    assert_eq!(format!("{:.3}", (two * 1000.0).trunc() / 1000.0), "0.880");
}

#[test]
fn softmax_worked_values_and_overflow_safety() {
    let y = Activation::Softmax.forward(&Tensor::vector(&[0.3, 2.9, 4.0])).unwrap();
    close(&y, &[0.018_211_27, 0.245_191_81, 0.736_596_9], 1e-6);
    let big = Activation::Softmax.forward(&Tensor::vector(&[1010.0, 1000.0, 990.0])).unwrap();
    assert!(big.to_vec().iter().all(|v| v.is_finite()));
    assert!((big.sum().item().unwrap() - 1.0).abs() < 1e-6);
    // The same as for [20, 10, 0], which it is once the largest is subtracted.
    close(&big, &Activation::Softmax.forward(&Tensor::vector(&[20.0, 10.0, 0.0])).unwrap().to_vec(), 0.0);
}

/// Softmax's derivative is a Jacobian: `diag(y) - y y^T`, checked on the notes' input
/// against central differences of the forward pass; element-wise activations give diagonals.
#[test]
fn softmax_jacobian_matches_finite_differences_and_others_are_diagonal() {
    let x = [0.3f32, 2.9, 4.0];
    let j = Activation::Softmax.jacobian(&Tensor::vector(&x)).unwrap();
    assert_eq!(j.shape(), &[3, 3]);
    let j = j.to_vec();
    let y = [0.018_211_27f32, 0.245_191_81, 0.736_596_9];
    close(&Tensor::vector(&j[..3]), &[y[0] * (1.0 - y[0]), -y[0] * y[1], -y[0] * y[2]], 1e-6);
    for row in j.chunks(3) {
        assert!(row.iter().sum::<f32>().abs() < 1e-6, "a softmax Jacobian row sums to 0: {row:?}");
    }
    let h = 1e-2f64;
    let softmax64 = |v: &[f64]| {
        let m = v.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = v.iter().map(|a| (a - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|a| a / s).collect::<Vec<_>>()
    };
    for col in 0..3 {
        let mut up: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut down = up.clone();
        up[col] += h;
        down[col] -= h;
        let (yu, yd) = (softmax64(&up), softmax64(&down));
        for row in 0..3 {
            let numeric = (yu[row] - yd[row]) / (2.0 * h);
            // Central differences err by O(h^2) ~ 1e-5 here; f32 rounding adds ~1e-7.
            assert!((j[row * 3 + col] as f64 - numeric).abs() < 1e-4, "J[{row},{col}]");
        }
    }
    let batch = Tensor::from_vec(vec![-1.0, 0.0, 2.0, 0.5], &[2, 2]).unwrap();
    let js = Activation::Sigmoid.jacobian(&batch).unwrap();
    assert_eq!(js.shape(), &[2, 2, 2]);
    let d = Activation::Sigmoid.derivative(&batch).unwrap().to_vec();
    assert_eq!(js.to_vec(), vec![d[0], 0.0, 0.0, d[1], d[2], 0.0, 0.0, d[3]]);
    assert!(Activation::Relu.jacobian(&Tensor::scalar(1.0)).is_err());
}

#[test]
fn step_relu_leaky_elu_tanh_identity_values_and_derivatives() {
    let x = Tensor::vector(&[-2.0, -0.5, 0.5, 2.0]);
    close(&Activation::Step.forward(&x).unwrap(), &[0.0, 0.0, 1.0, 1.0], 0.0);
    close(&Activation::Relu.forward(&x).unwrap(), &[0.0, 0.0, 0.5, 2.0], 0.0);
    close(&Activation::LEAKY_RELU.forward(&x).unwrap(), &[-0.02, -0.005, 0.5, 2.0], 1e-7);
    let e = (-2.0f32).exp() - 1.0;
    close(&Activation::ELU.forward(&x).unwrap(), &[e, (-0.5f32).exp() - 1.0, 0.5, 2.0], 1e-6);
    close(&Activation::Tanh.forward(&x).unwrap(), &x.to_vec().iter().map(|v| v.tanh()).collect::<Vec<_>>(), 1e-6);
    close(&Activation::Identity.forward(&x).unwrap(), &x.to_vec(), 0.0);
    // Derivatives against the formulas.
    let s: Vec<f32> = x.to_vec().iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    close(&Activation::Sigmoid.derivative(&x).unwrap(), &s.iter().map(|s| s * (1.0 - s)).collect::<Vec<_>>(), 1e-6);
    close(
        &Activation::Tanh.derivative(&x).unwrap(),
        &x.to_vec().iter().map(|v| 1.0 - v.tanh().powi(2)).collect::<Vec<_>>(),
        1e-6,
    );
    close(&Activation::Relu.derivative(&x).unwrap(), &[0.0, 0.0, 1.0, 1.0], 0.0);
    close(&Activation::LEAKY_RELU.derivative(&x).unwrap(), &[0.01, 0.01, 1.0, 1.0], 1e-7);
    close(&Activation::ELU.derivative(&x).unwrap(), &[(-2.0f32).exp(), (-0.5f32).exp(), 1.0, 1.0], 1e-6);
    close(&Activation::Step.derivative(&x).unwrap(), &[0.0; 4], 0.0);
    close(&Activation::Identity.derivative(&x).unwrap(), &[1.0; 4], 0.0);
    assert!(Activation::Softmax.derivative(&x).is_err());
}

#[test]
fn activations_parse_from_keras_names() {
    assert_eq!("sigmoid".parse::<Activation>().unwrap(), Activation::Sigmoid);
    assert_eq!("leaky_relu(0.2)".parse::<Activation>().unwrap(), Activation::LeakyRelu { alpha: 0.2 });
    assert_eq!("linear".parse::<Activation>().unwrap(), Activation::Identity);
    assert!("swish".parse::<Activation>().unwrap_err().to_string().contains("unknown activation"));
    assert!("elu(-1)".parse::<Activation>().is_err());
}

#[test]
fn gradcheck_every_activation_through_its_layer_kernels() {
    let x = Tensor::matrix([[0.3, -0.7, 1.2], [-1.1, 0.4, 0.9]]);
    // Every activation but the step, whose derivative is 0 where it exists (and whose
    // finite differences straddle its jump at 0 nowhere here: the inputs are away from 0).
    for act in Activation::ALL.into_iter().filter(|a| *a != Activation::Step) {
        let r = gradcheck_f32(move |v| act.apply(&v[0]), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed(), "{act}: {r}");
    }
    let r = gradcheck_f32(|v| Activation::Step.apply(&v[0]), std::slice::from_ref(&x)).unwrap();
    assert!(r.passed() && r.max_abs_error == 0.0, "step: {r}");
}

#[test]
fn the_notes_three_layer_forward_pass() {
    let x = Tensor::vector(&[1.0, 0.5]);
    let w1 = Tensor::matrix([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]);
    let b1 = Tensor::vector(&[0.1, 0.2, 0.3]);
    let w2 = Tensor::matrix([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]);
    let b2 = Tensor::vector(&[0.1, 0.2]);
    let w3 = Tensor::matrix([[0.1, 0.3], [0.2, 0.4]]);
    let b3 = Tensor::vector(&[0.1, 0.2]);
    // By hand, with tensors: A1 = X.W1 + B1, Z1 = sigmoid(A1).
    let a1 = x.dot(&w1).unwrap().add(&b1).unwrap();
    close(&a1, &[0.3, 0.7, 1.1], 1e-6);
    let z1 = a1.sigmoid();
    close(&z1, &[0.574_442_5, 0.668_187_8, 0.750_260_1], 1e-6);
    // With layers: the same numbers through Dense.
    let l1 = Dense::from_weights(w1, Some(b1), Activation::Sigmoid).unwrap();
    let l2 = Dense::from_weights(w2, Some(b2), Activation::Sigmoid).unwrap();
    let l3 = Dense::from_weights(w3, Some(b3), Activation::Identity).unwrap();
    let input = Var::constant(x.reshape(&[1, 2]).unwrap());
    let y = l3.forward(&l2.forward(&l1.forward(&input).unwrap()).unwrap()).unwrap();
    close(&y.value(), &[0.316_827_1, 0.696_279_1], 1e-6);
    // And through the training engine's inference, in a model's parameter store.
    let mut model = Sequential::new();
    for layer in [l1, l2, l3] {
        model.add(layer).unwrap();
    }
    assert_eq!(
        model.params().names(),
        ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"]
    );
    let out = model.predict(&x.reshape(&[1, 2]).unwrap()).unwrap();
    close(&out, &[0.316_827_1, 0.696_279_1], 1e-6);
}

#[test]
fn dense_layer_rejects_wrong_inputs_with_the_shapes() {
    let mut rng = Rng::new(0);
    let layer = Dense::new(3).input_shape(4).build(&mut rng).unwrap();
    let err = layer.forward(&Var::constant(Tensor::zeros(&[2, 5]))).unwrap_err().to_string();
    assert!(err.contains("4 features") && err.contains("(2, 5)"), "{err}");
    assert!(Dense::new(3).build(&mut rng).is_err());
    assert!(Dense::from_weights(Tensor::zeros(&[2, 3]), Some(Tensor::zeros(&[2])), Activation::Relu).is_err());
    let mut model = Sequential::new();
    model.add(layer).unwrap();
    let err = model.predict(&Tensor::zeros(&[1, 5])).unwrap_err().to_string();
    assert!(err.contains("(None, 4)") && err.contains("(1, 5)"), "{err}");
}

#[test]
fn initialisers_have_keras_ranges_and_spreads() {
    let mut rng = Rng::new(5);
    let (fi, fo) = (784usize, 50usize);
    let stats = |t: &Tensor| {
        let v = t.to_vec();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt(), v.iter().fold(0.0f32, |m, x| m.max(x.abs())))
    };
    let limit = (6.0 / (fi + fo) as f32).sqrt();
    let (_, sd, max) = stats(&Initializer::GlorotUniform.init(&[fi, fo], fi, fo, &mut rng));
    assert!(max <= limit && max > 0.99 * limit && (sd / (limit as f64 / 3f64.sqrt()) - 1.0).abs() < 0.01);
    let (_, sd, max) = stats(&Initializer::HeNormal.init(&[fi, fo], fi, fo, &mut rng));
    assert!((sd - (2.0 / fi as f64).sqrt()).abs() < 0.003, "he_normal std {sd}");
    assert!(max <= 2.0 * (2.0 / fi as f32).sqrt() / 0.879_625_7 + 1e-6);
    let (_, sd, _) = stats(&Initializer::GlorotNormal.init(&[fi, fo], fi, fo, &mut rng));
    assert!((sd - (2.0 / (fi + fo) as f64).sqrt()).abs() < 0.002, "glorot_normal std {sd}");
    // A uniform in [-l, l) has standard deviation l / sqrt(3) and reaches near l: an all-zero
    // or too narrow draw fails. 39,200 draws put the sample deviation within 0.5% of it.
    let he = (6.0 / fi as f32).sqrt();
    let (mean, sd, max) = stats(&Initializer::HeUniform.init(&[fi, fo], fi, fo, &mut rng));
    assert!(max <= he && max > 0.99 * he, "he_uniform max {max} for limit {he}");
    assert!(
        mean.abs() < 0.01 * he as f64 && (sd / (he as f64 / 3f64.sqrt()) - 1.0).abs() < 0.01,
        "he_uniform std {sd}"
    );
    let (mean, sd, _) = stats(&Initializer::NORMAL.init(&[fi, fo], fi, fo, &mut rng));
    assert!(mean.abs() < 0.002 && (sd - 0.05).abs() < 0.002);
    let (mean, sd, max) = stats(&Initializer::UNIFORM.init(&[fi, fo], fi, fo, &mut rng));
    assert!(max <= 0.05 && max > 0.0495, "uniform max {max}");
    assert!(mean.abs() < 5e-4 && (sd / (0.05 / 3f64.sqrt()) - 1.0).abs() < 0.01, "uniform std {sd}");
    assert_eq!(Initializer::Zeros.init(&[3], 1, 1, &mut rng).to_vec(), vec![0.0; 3]);
    assert_eq!("xavier_uniform".parse::<Initializer>().unwrap(), Initializer::GlorotUniform);
}

#[test]
fn losses_match_their_definitions() {
    let p = Var::constant(Tensor::matrix([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]]));
    let onehot = Tensor::matrix([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
    let labels = Tensor::vector(&[1.0, 2.0]);
    let want_ce = -((0.7f32).ln() + (0.1f32).ln()) / 2.0;
    let ce = Loss::CategoricalCrossentropy.forward(&p, &onehot).unwrap().value().item().unwrap();
    let sce = Loss::SparseCategoricalCrossentropy.forward(&p, &labels).unwrap().value().item().unwrap();
    assert!((ce - want_ce).abs() < 1e-6 && (sce - want_ce).abs() < 1e-6);
    let mse = Loss::MeanSquaredError.forward(&p, &onehot).unwrap().value().item().unwrap();
    let want_mse = (0.04 + 0.09 + 0.01 + 0.36 + 0.09 + 0.81) / 6.0;
    assert!((mse - want_mse).abs() < 1e-6);
    let half = Loss::HalfMeanSquaredError.forward(&p, &onehot).unwrap().value().item().unwrap();
    assert!((half - want_mse / 2.0).abs() < 1e-6);
    let q = Var::constant(Tensor::vector(&[0.9, 0.2]));
    let bce = Loss::BinaryCrossentropy.forward(&q, &Tensor::vector(&[1.0, 0.0])).unwrap().value().item().unwrap();
    assert!((bce - -((0.9f32).ln() + (0.8f32).ln()) / 2.0).abs() < 1e-6);
    assert!(Loss::SparseCategoricalCrossentropy.forward(&p, &Tensor::vector(&[1.0, 3.0])).is_err());
    assert!(Loss::MeanSquaredError.forward(&p, &labels).is_err());
    assert_eq!("sparse_categorical_crossentropy".parse::<Loss>().unwrap(), Loss::SparseCategoricalCrossentropy);
}

#[test]
fn fused_cross_entropy_from_logits_is_stable_and_agrees() {
    let z = Tensor::matrix([[1.0, 2.0, 0.5], [1000.0, -1000.0, 0.0]]);
    let labels = Tensor::vector(&[1.0, 0.0]);
    let fused = Loss::SparseCategoricalCrossentropy
        .forward_logits(&Var::constant(z.clone()), Activation::Softmax, &labels)
        .unwrap();
    let v = fused.value().item().unwrap();
    assert!(v.is_finite());
    let row0 = -(z.select(0, 0).unwrap().log_softmax(-1).unwrap().get(&[1]).unwrap());
    assert!((v - row0 / 2.0).abs() < 1e-5, "{v} vs {}", row0 / 2.0);
    for (loss, act, t) in [
        (Loss::SparseCategoricalCrossentropy, Activation::Softmax, Tensor::vector(&[2.0, 0.0])),
        (Loss::CategoricalCrossentropy, Activation::Softmax, Tensor::matrix([[0.0, 0.0, 1.0], [0.2, 0.8, 0.0]])),
        (Loss::BinaryCrossentropy, Activation::Sigmoid, Tensor::matrix([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])),
        (Loss::MeanSquaredError, Activation::Tanh, Tensor::matrix([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])),
    ] {
        let x = Tensor::matrix([[0.3, -0.6, 1.1], [0.8, 0.1, -0.4]]);
        let fused_grad = gradcheck_f32(move |v| loss.forward_logits(&v[0], act, &t), std::slice::from_ref(&x)).unwrap();
        assert!(fused_grad.passed(), "{loss:?}: {fused_grad}");
    }
}

#[test]
fn gradcheck_each_loss_on_probabilities() {
    let p = Tensor::matrix([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]);
    let onehot = Tensor::matrix([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
    for (loss, t) in [
        (Loss::MeanSquaredError, onehot.clone()),
        (Loss::HalfMeanSquaredError, onehot.clone()),
        (Loss::CategoricalCrossentropy, onehot.clone()),
        (Loss::SparseCategoricalCrossentropy, Tensor::vector(&[1.0, 2.0])),
        (Loss::BinaryCrossentropy, onehot.clone()),
    ] {
        let r = gradcheck_f32(move |v| loss.forward(&v[0], &t), std::slice::from_ref(&p)).unwrap();
        assert!(r.passed(), "{loss:?}: {r}");
    }
}

#[test]
fn accuracy_and_the_zero_one_loss() {
    let y = Tensor::matrix([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]);
    assert!((accuracy(&y, &Tensor::vector(&[1.0, 0.0, 0.0])).unwrap() - 2.0 / 3.0).abs() < 1e-6);
    let onehot = Tensor::matrix([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]);
    assert!((zero_one_loss(&y, &onehot).unwrap() - 1.0 / 3.0).abs() < 1e-6);
    let b = Tensor::matrix([[0.9], [0.4]]);
    assert_eq!(accuracy(&b, &Tensor::matrix([[1.0], [1.0]])).unwrap(), 0.5);
    assert!(accuracy(&y, &Tensor::vector(&[1.0])).is_err());
}

/// One step of each optimiser on f(w) = sum(w * g) (gradient g), against the formulas.
#[test]
fn each_optimizer_matches_a_hand_computed_step() {
    let w0 = [1.0f32, -2.0];
    let g = [0.5f32, -0.25];
    let step = |opt: Optimizer, steps: usize| {
        let mut state = OptimizerState::for_params(opt, vec![("w".into(), vec![2])]).unwrap();
        let mut w = w0;
        for _ in 0..steps {
            state.begin_step();
            state.update(0, &mut w, &g).unwrap();
        }
        w
    };
    let near =
        |a: [f32; 2], b: [f32; 2]| assert!((a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6, "{a:?} vs {b:?}");
    // SGD: w - lr g
    near(step(Optimizer::sgd().learning_rate(0.1), 1), [0.95, -1.975]);
    // Momentum 0.9, two steps: v1 = -lr g, v2 = 0.9 v1 - lr g; w = w0 + v1 + v2
    near(step(Optimizer::momentum(0.9).learning_rate(0.1), 2), [1.0 - 0.05 - 0.095, -2.0 + 0.025 + 0.0475]);
    // Nesterov one step: v = -lr g; w += 0.9 v - lr g
    let nesterov = Optimizer::Sgd { learning_rate: 0.1, momentum: 0.9, nesterov: true };
    near(step(nesterov, 1), [1.0 - 0.045 - 0.05, -2.0 + 0.0225 + 0.025]);
    // AdaGrad: acc = 0.1 + g^2; w -= lr g / sqrt(acc + eps)
    let ada = |gi: f32| 0.001 * gi / (0.1 + gi * gi + 1e-7f32).sqrt();
    near(step(Optimizer::adagrad(), 1), [1.0 - ada(0.5), -2.0 - ada(-0.25)]);
    // RMSprop: v = 0.1 g^2; w -= lr g / sqrt(v + eps)
    let rms = |gi: f32| 0.001 * gi / (0.1 * gi * gi + 1e-7f32).sqrt();
    near(step(Optimizer::rmsprop(), 1), [1.0 - rms(0.5), -2.0 - rms(-0.25)]);
    // Adam, first step: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1
    let adam = |gi: f32| {
        let alpha = 0.001 * (1.0f32 - 0.999).sqrt() / (1.0 - 0.9);
        0.1 * gi * alpha / ((0.001 * gi * gi).sqrt() + 1e-7)
    };
    near(step(Optimizer::adam(), 1), [1.0 - adam(0.5), -2.0 - adam(-0.25)]);
    // Keras' defaults.
    assert_eq!(Optimizer::adam(), Optimizer::Adam { learning_rate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    assert!(Optimizer::sgd().learning_rate(-1.0).validate().is_err());
    assert!(OptimizerState::for_params(Optimizer::adam(), vec![("w".into(), vec![2])])
        .unwrap()
        .update(1, &mut [0.0], &[0.0])
        .is_err());
}

fn seed_model(seed: u64, inputs: usize, hidden: usize, outputs: usize) -> Sequential {
    let mut model = Sequential::with_seed(seed);
    model.add(Dense::new(hidden).activation(Activation::Sigmoid).input_shape(inputs)).unwrap();
    model.add(Dense::new(outputs).activation(Activation::Softmax)).unwrap();
    model
}

#[test]
fn summary_of_the_seed_model_shows_39_760_parameters() {
    let mut model = seed_model(0, 784, 50, 10);
    let s = model.summary();
    println!("{s}");
    assert!(s.contains("dense (Dense)") && s.contains("(None, 50)") && s.contains("39,250"));
    assert!(s.contains("dense_1 (Dense)") && s.contains("(None, 10)") && s.contains("510"));
    assert!(s.contains("Total params: 39,760"));
    assert_eq!(model.param_count(), 39_760);
    model.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
}

#[test]
fn pytorch_style_loop_learns_xor() {
    let mut rng = Rng::new(4);
    let l1 = Dense::new(8).activation(Activation::Tanh).input_shape(2).build(&mut rng).unwrap();
    let l2 = Dense::new(1).input_shape(8).build(&mut rng).unwrap();
    let x = Var::constant(Tensor::matrix([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]));
    let t = Tensor::matrix([[0.0], [1.0], [1.0], [0.0]]);
    let mut params = l1.parameters();
    params.extend(l2.parameters());
    let mut opt = Optim::new(Optimizer::adam().learning_rate(0.05), params).unwrap();
    for _ in 0..300 {
        opt.zero_grad();
        let z = l2.forward(&l1.forward(&x).unwrap()).unwrap();
        let loss = Loss::BinaryCrossentropy.forward_logits(&z, Activation::Sigmoid, &t).unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let p = l2.forward(&l1.forward(&x).unwrap()).unwrap().sigmoid().unwrap().value();
    assert_eq!(accuracy(&p, &t).unwrap(), 1.0, "{p:?}");
}

#[test]
fn fit_learns_a_separable_problem_and_is_deterministic() {
    let mut rng = Rng::new(8);
    let x = Tensor::randn(&[600, 4], &mut rng);
    // Class = which of the first two features is larger, plus a third class near zero sum.
    let xv = x.to_vec();
    let y: Vec<f32> = xv
        .chunks(4)
        .map(|r| {
            if r[0] + r[1] > 0.8 {
                2.0
            } else if r[0] > r[1] {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    let y = Tensor::vector(&y);
    let run = |threads: usize| {
        let mut m = seed_model(9, 4, 16, 3);
        m.set_threads(threads).unwrap();
        m.compile(Optimizer::adam().learning_rate(0.02), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])
            .unwrap();
        let opts =
            FitOptions::default().epochs(30).batch_size(32).seed(5).validation_split(0.2).verbose(Verbosity::Silent);
        let h = m.fit(&x, &y, &opts).unwrap();
        (h, m.predict(&x).unwrap())
    };
    let (h1, p1) = run(2);
    let (h2, p2) = run(2);
    assert_eq!(h1, h2.clone().tap_seconds(&h1));
    assert_eq!(p1.to_vec(), p2.to_vec());
    let last = h1.epochs.last().unwrap();
    assert!(last.accuracy.is_some_and(|a| a > 0.9), "{last:?}");
    assert!(last.val_accuracy.unwrap() > 0.85, "{last:?}");
    assert!(h1.get("loss")[0] > last.loss);
}

/// `fit` runs the first layer of each next batch ahead, inside the current step; a loop of
/// `train_on_batch` over the same batches, which never runs ahead, must land on the same bits.
#[test]
fn fit_equals_a_loop_of_train_on_batch_bit_for_bit() {
    let mut rng = Rng::new(21);
    let (n, features) = (150, 6);
    let x = Tensor::randn(&[n, features], &mut rng);
    let y = Tensor::vector(&(0..n).map(|i| (i % 3) as f32).collect::<Vec<_>>());
    let data = neurite::train::TensorExamples::new(&x, &y, Some(3)).unwrap();
    for threads in [1, 2] {
        let fresh = || {
            let mut m = seed_model(4, features, 8, 3);
            m.set_threads(threads).unwrap();
            m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
            m
        };
        let mut fitted = fresh();
        let opts = FitOptions::default().epochs(2).batch_size(32).shuffle(false).verbose(Verbosity::Silent);
        fitted.fit(&x, &y, &opts).unwrap();
        let mut stepped = fresh();
        for _ in 0..2 {
            for start in (0..n as u32).step_by(32) {
                let batch: Vec<u32> = (start..(start + 32).min(n as u32)).collect();
                stepped.train_on_batch(&data, &batch).unwrap();
            }
        }
        assert_eq!(fitted.predict(&x).unwrap().to_vec(), stepped.predict(&x).unwrap().to_vec(), "{threads} threads");
    }
}

/// Rows borrowed from someone else's memory (a NumPy array, for the Python package) train,
/// evaluate and predict to the same bits as the same numbers held as tensors and as the data
/// set's own bytes; a bad label or a ragged slice is refused.
#[test]
fn borrowed_rows_train_like_tensors_and_bytes() {
    use neurite::train::{Examples, SliceExamples};
    let (train, test) = neurite::data::Dataset::digits().unwrap();
    let (x, y) = train.normalized_tensors();
    let labels: Vec<u32> = train.labels().iter().map(|&l| l as u32).collect();
    let rows = x.to_vec();
    let borrowed = SliceExamples::new(&rows, 64).unwrap().with_classes(&labels, 10).unwrap();
    assert_eq!((borrowed.len(), borrowed.features()), (1437, 64));
    let tensors = TensorExamples::new(&x, &y, Some(10)).unwrap();
    let opts = FitOptions::default().epochs(2).validation_split(0.1).verbose(Verbosity::Silent);
    let mut outputs = Vec::new();
    for data in [&borrowed as &dyn Examples, &tensors, &train] {
        let mut m = seed_model(3, 64, 16, 10);
        m.set_threads(2).unwrap();
        m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
        let h = m.fit_with(data, None, &opts, &mut []).unwrap();
        let (tx, _) = test.normalized_tensors();
        let tx = tx.to_vec();
        let predicted = m.predict_with(&SliceExamples::new(&tx, 64).unwrap()).unwrap().to_vec();
        outputs.push((h.get("loss"), h.get("val_accuracy"), m.evaluate_with(&test).unwrap(), predicted));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    let bad = [0, 1, 10];
    let err = SliceExamples::new(&rows[..3 * 64], 64).unwrap().with_classes(&bad, 10).unwrap_err();
    assert_eq!(err.to_string(), "invalid value: label 10 (example 2) is not a class index below 10");
    assert!(SliceExamples::new(&rows[..100], 64).unwrap_err().to_string().contains("rows of 64 features"));
    assert!(SliceExamples::new(&rows[..128], 64).unwrap().with_rows(&rows[..3], 1).is_err());
}

trait TapSeconds {
    fn tap_seconds(self, other: &Self) -> Self;
}

impl TapSeconds for neurite::train::History {
    /// Copies the other history's timings, so that two runs compare on their numbers alone.
    fn tap_seconds(mut self, other: &Self) -> Self {
        for (a, b) in self.epochs.iter_mut().zip(&other.epochs) {
            a.seconds = b.seconds;
        }
        self
    }
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() {
    use neurite::train::{Callback, EarlyStopping};
    let mut rng = Rng::new(2);
    let x = Tensor::randn(&[200, 3], &mut rng);
    let y = Tensor::randn(&[200, 1], &mut rng); // noise: validation loss stops improving quickly
    let mut m = Sequential::with_seed(1);
    m.add(Dense::new(32).activation(Activation::Relu).input_shape(3)).unwrap();
    m.add(Dense::new(1)).unwrap();
    m.compile(Optimizer::adam().learning_rate(0.05), Loss::MeanSquaredError, &[]).unwrap();
    let data = TensorExamples::new(&x, &y, None).unwrap();
    let mut stop = EarlyStopping::new("val_loss").patience(2).restore_best_weights(true);
    let opts = FitOptions::default().epochs(200).batch_size(16).validation_split(0.5).verbose(Verbosity::Silent);
    let h = m.fit_with(&data, None, &opts, &mut [&mut stop as &mut dyn Callback]).unwrap();
    assert!(h.stopped_early && h.epochs.len() < 200, "ran {} epochs", h.epochs.len());
    let best = h.get("val_loss").into_iter().fold(f64::INFINITY, f64::min);
    // As in Keras, training stops `patience` epochs after the last improvement.
    let best_epoch = h.get("val_loss").iter().position(|&v| v == best).unwrap() + 1;
    assert_eq!(h.epochs.len(), best_epoch + 2, "stopped at epoch {}, best was {best_epoch}", h.epochs.len());
    let val = TensorExamples::new(&x.narrow(0, 100, 100).unwrap(), &y.narrow(0, 100, 100).unwrap(), None).unwrap();
    let after = m.evaluate_with(&val).unwrap().loss;
    assert!((after - best).abs() < 1e-6, "restored val_loss {after} vs best {best}");
}

#[test]
fn fit_and_evaluate_report_bad_input_as_errors() {
    let mut m = seed_model(0, 4, 3, 2);
    let x = Tensor::zeros(&[5, 4]);
    assert!(m.fit(&x, &Tensor::zeros(&[5]), &FitOptions::default()).unwrap_err().to_string().contains("compiled"));
    m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    assert!(m.fit(&Tensor::zeros(&[5, 3]), &Tensor::zeros(&[5]), &FitOptions::default()).is_err());
    assert!(m.fit(&x, &Tensor::zeros(&[4]), &FitOptions::default()).is_err());
    assert!(m.fit(&x, &Tensor::full(&[5], 7.0), &FitOptions::default()).is_err());
    assert!(m.fit(&x, &Tensor::zeros(&[5]), &FitOptions::default().batch_size(0)).is_err());
    assert!(m.fit(&x, &Tensor::zeros(&[5]), &FitOptions::default().validation_split(1.0)).is_err());
    assert!(m.predict(&Tensor::zeros(&[2, 5])).is_err());
    assert!(m.set_threads(0).is_err());
}
