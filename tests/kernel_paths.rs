//! Every kernel path this machine supports gives the same answers: neurite's own loops at each
//! instruction-set level it runs (baseline, AVX2, AVX-512; the products of inputs that are
//! mostly zeros skip them at AVX2 and AVX-512, and small products run there on neurite's own
//! chains, the same bits as `matrixmultiply`), crossed with each way of sending the products
//! to the GEMM crates (each to the crate that measured faster for its shape, all
//! to `matrixmultiply`, all to `gemm`). Products, the element-wise kernels, and a few training
//! steps and a prediction of a model whose products take both crates by default must agree
//! within 1e-5, and each path must repeat itself bit for bit.
//!
//! The paths are process-wide settings, so this file holds one test (its own process).
//! Training uses SGD: its step is `lr * gradient`, so the comparison sees the products'
//! rounding as it is; Adam divides each gradient by its own running size, which can turn a
//! rounding-level difference in a gradient that cancels to almost zero into a full step.

use neurite::autograd::Var;
use neurite::kernels::dispatch::{self, Isa, ProductKernel};
use neurite::kernels::{gemm, sparse, MatLayout};
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::{Optimizer, OptimizerState};
use neurite::train::{Sequential, TensorExamples};
use neurite::{Rng, Tensor};

const TOLERANCE: f32 = 1e-5;

/// Every combination of a level this machine runs and a product routing.
fn paths() -> Vec<(Isa, ProductKernel)> {
    Isa::supported().into_iter().flat_map(|isa| ProductKernel::ALL.into_iter().map(move |k| (isa, k))).collect()
}

fn select(isa: Isa, products: ProductKernel) {
    assert_eq!(dispatch::limit_isa(Some(isa)), isa);
    dispatch::set_product_kernel(products);
}

/// `C = A B` for the shapes the engine multiplies (the seed model's first layer forward and
/// its weight gradient read transposed, the wide model's hidden layer split over two
/// threads, a short inner dimension), with `|got - exact| <= 1e-5 * sum_k |a_ik b_kj|`: the
/// size of the rounding error of any order of summation, scaled by 1e-5.
fn products_agree(path: (Isa, ProductKernel)) {
    let mut rng = Rng::new(5);
    // (m, k, n, A transposed)
    for (m, k, n, a_t) in [(32, 392, 50, false), (392, 32, 50, true), (128, 1024, 1024, false), (32, 50, 10, false)] {
        let a = Tensor::uniform(&[m * k], -1.0, 1.0, &mut rng).to_vec();
        let b = Tensor::uniform(&[k * n], -1.0, 1.0, &mut rng).to_vec();
        let la = if a_t { MatLayout::row_major(k, m).t() } else { MatLayout::row_major(m, k) };
        let lb = MatLayout::row_major(k, n);
        let mut c = vec![f32::NAN; m * n];
        gemm(1.0, &a, la, &b, lb, 0.0, &mut c, MatLayout::row_major(m, n)).unwrap();
        let at = |i: usize, p: usize| a[la.offset + i * la.row_stride + p * la.col_stride] as f64;
        for i in (0..m).step_by(7) {
            for j in (0..n).step_by(3) {
                let (mut exact, mut scale) = (0.0f64, 0.0f64);
                for p in 0..k {
                    let term = at(i, p) * b[p * n + j] as f64;
                    exact += term;
                    scale += term.abs();
                }
                let err = (c[i * n + j] as f64 - exact).abs();
                assert!(
                    err <= TOLERANCE as f64 * scale,
                    "{path:?}: ({m}x{k}) x ({k}x{n}) at ({i}, {j}): {} against {exact} (scale {scale})",
                    c[i * n + j]
                );
            }
        }
    }
}

/// Every activation's values and gradients (through autograd, which runs the same row
/// kernels as the layers), the fused softmax cross-entropy, Adam's update and PyTorch's
/// update rules (each of their buffer layouts, with weight decay, AMSGrad, AdamW, centred
/// RMSprop, Adagrad's decaying rate), over lengths whose tails are not whole vectors, at the
/// current level.
fn elementwise() -> Vec<f32> {
    let mut rng = Rng::new(1);
    let x = Tensor::uniform(&[103, 10], -6.0, 6.0, &mut rng);
    let mut out = Vec::new();
    for act in Activation::ALL {
        let v = Var::parameter(x.clone());
        let y = v.activate(act).unwrap();
        // A weighted sum, so that softmax's gradient is not zero.
        (&y * &Var::constant(x.clone())).unwrap().sum().unwrap().backward().unwrap();
        out.extend(y.value().to_vec());
        out.extend(v.grad().unwrap().to_vec());
    }
    let labels = Tensor::vector(&(0..103).map(|i| (i % 10) as f32).collect::<Vec<_>>());
    let z = Var::parameter(x.clone());
    let loss = Loss::SparseCategoricalCrossentropy.forward_logits(&z, Activation::Softmax, &labels).unwrap();
    loss.backward().unwrap();
    out.push(loss.value().item().unwrap());
    out.extend(z.grad().unwrap().to_vec());
    let mut params = x.to_vec();
    let grad: Vec<f32> = params.iter().rev().map(|g| g * 0.1).collect();
    let mut adam =
        OptimizerState::for_params(Optimizer::adam().learning_rate(0.01), vec![("p".into(), vec![1030])]).unwrap();
    for _ in 0..3 {
        adam.begin_step();
        adam.update(0, &mut params, &grad).unwrap();
    }
    out.extend(params);
    for optimizer in torch_optimizers() {
        let mut params = x.to_vec();
        let mut state = OptimizerState::for_params(optimizer, vec![("p".into(), vec![1030])]).unwrap();
        for _ in 0..3 {
            state.begin_step();
            state.update(0, &mut params, &grad).unwrap();
        }
        out.extend(params);
        for (_, buffer) in state.tensors().unwrap() {
            out.extend(buffer.to_vec());
        }
    }
    out
}

/// PyTorch's rules, so that every loop of their update runs: SGD plain and with Nesterov
/// momentum and weight decay; Adam with AMSGrad and L2, AdamW; RMSprop in its four buffer
/// layouts; Adagrad with a decaying rate.
fn torch_optimizers() -> Vec<Optimizer> {
    [
        r#"{"name": "torch_sgd", "lr": 0.1}"#,
        r#"{"name": "torch_sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 0.01}"#,
        r#"{"name": "torch_adam", "lr": 0.01, "amsgrad": true, "weight_decay": 0.1}"#,
        r#"{"name": "torch_adam", "lr": 0.01, "weight_decay": 0.01, "decoupled_weight_decay": true, "maximize": true}"#,
        r#"{"name": "torch_rmsprop"}"#,
        r#"{"name": "torch_rmsprop", "momentum": 0.9}"#,
        r#"{"name": "torch_rmsprop", "centered": true}"#,
        r#"{"name": "torch_rmsprop", "momentum": 0.9, "centered": true, "weight_decay": 0.05}"#,
        r#"{"name": "torch_adagrad", "lr_decay": 0.1, "initial_accumulator_value": 0.1}"#,
    ]
    .into_iter()
    .map(|json| serde_json::from_str(json).unwrap())
    .collect()
}

/// A 300-64-10 model on inputs that are mostly zeros (at AVX2 and AVX-512 the first layer's
/// products skip them by default; at the baseline, and with every product sent to one crate,
/// they go to the GEMM crates): its parameters after four steps of SGD with momentum on 32
/// examples, then its predictions for them.
fn train(threads: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(9);
    // Pixels: a border of features always 0 and half of the others, so that by default
    // the first layer's two products skip zeros (`kernels::sparse`) at AVX2 and AVX-512.
    let x = Tensor::uniform(&[32, 300], 0.0, 1.0, &mut rng);
    let x = Tensor::from_vec(
        x.to_vec()
            .into_iter()
            .enumerate()
            .map(|(i, v)| if !(100..200).contains(&(i % 300)) || v < 0.5 { 0.0 } else { v })
            .collect(),
        &[32, 300],
    )
    .unwrap();
    let y = Tensor::vector(&(0..32).map(|i| (i % 10) as f32).collect::<Vec<_>>());
    let data = TensorExamples::new(&x, &y, Some(10)).unwrap();
    let mut model = Sequential::with_seed(4);
    model.set_threads(threads).unwrap();
    model.add(Dense::new(64).activation(Activation::Tanh).input_shape(300)).unwrap();
    model.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
    model.compile(Optimizer::momentum(0.9).learning_rate(0.2), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let batch: Vec<u32> = (0..32).collect();
    for _ in 0..4 {
        model.train_on_batch(&data, &batch).unwrap();
    }
    let params = model.params().snapshot().unwrap().to_vec();
    let predictions = model.predict(&x).unwrap().to_vec();
    (params, predictions)
}

/// The levels this machine runs that have neurite's own FMA kernels (AVX2 and up); where
/// there are none, says so with `skipped`, what the caller then does not run.
fn own_kernel_levels(skipped: &str) -> Vec<Isa> {
    let levels: Vec<Isa> = Isa::supported().into_iter().filter(|&i| i >= Isa::Avx2).collect();
    if levels.is_empty() {
        eprintln!("no AVX2 here: {skipped}");
    }
    levels
}

/// The zero-skipping kernels give the same bits at every level that has them (each output is
/// the same chain of fused multiply-adds), and agree with the GEMM crates' products: for a
/// narrow product and for one as wide as they take (1,024 columns: blocks of `delta` copied
/// per group of rows, more rows than one group), with three in four entries 0 (taken in sets
/// of rows) and with one in two (each row alone, as ReLU's outputs are: more rows and columns
/// than one group of each, and a width that leaves a part block).
fn sparse_levels_agree() {
    let levels = own_kernel_levels("the zero-skipping kernels are not run");
    if levels.is_empty() {
        return;
    }
    for (m, k, n, cut) in [(40, 200, 70, 0.5), (40, 150, 1024, 0.5), (150, 150, 1024, 0.0), (150, 100, 300, 0.0)] {
        sparse_levels_agree_for(&levels, m, k, n, cut);
    }
}

/// `x` is 0 where a uniform draw in [-1, 1) is below `cut`.
fn sparse_levels_agree_for(levels: &[Isa], m: usize, k: usize, n: usize, cut: f32) {
    let mut rng = Rng::new(3);
    let x: Vec<f32> = Tensor::uniform(&[m * k], -1.0, 1.0, &mut rng)
        .to_vec()
        .into_iter()
        .map(|v| if v < cut { 0.0 } else { v })
        .collect();
    let w = Tensor::uniform(&[k * n], -1.0, 1.0, &mut rng).to_vec();
    let d = Tensor::uniform(&[m * n], -1.0, 1.0, &mut rng).to_vec();
    let mut results = Vec::new();
    for &level in levels {
        dispatch::limit_isa(Some(level));
        let (mut out, mut grad) = (vec![0.0; m * n], vec![0.0; k * n]);
        assert!(sparse::product(&x, m, k, k, &w, n, &mut out, false));
        assert!(sparse::transposed_product(&x, m, k, k, &d, n, &mut grad, false));
        results.push((level, out, grad));
    }
    dispatch::limit_isa(None);
    let (first, out0, grad0) = &results[0];
    for (level, out, grad) in &results {
        assert_eq!(out, out0, "sparse product {m} x {k} x {n} at {level} against {first}");
        assert_eq!(grad, grad0, "sparse transposed product {m} x {k} x {n} at {level} against {first}");
    }
    let (mut out, mut grad) = (vec![0.0; m * n], vec![0.0; k * n]);
    gemm(
        1.0,
        &x,
        MatLayout::row_major(m, k),
        &w,
        MatLayout::row_major(k, n),
        0.0,
        &mut out,
        MatLayout::row_major(m, n),
    )
    .unwrap();
    gemm(
        1.0,
        &x,
        MatLayout::row_major(m, k).t(),
        &d,
        MatLayout::row_major(m, n),
        0.0,
        &mut grad,
        MatLayout::row_major(k, n),
    )
    .unwrap();
    assert!(max_difference(&out, out0) <= 1e-4 && max_difference(&grad, grad0) <= 1e-4);
}

/// Pixels kept as bytes (a data set's, issue 25) give, at every level that has the kernels,
/// the same bits as the floats they stand for, in the seed model's shapes (a thread's half of
/// the first layer, its weight gradient) and one past a tile, two blocks of columns wide.
fn byte_inputs_agree() {
    let levels = own_kernel_levels("the products of bytes are not run");
    let table = sparse::ByteTable::new(std::array::from_fn(|b| b as f32 / 255.0)).unwrap();
    let mut rng = Rng::new(9);
    for (m, k, n) in [(32, 392, 50), (40, 150, 60)] {
        let x: Vec<u8> = (0..m * k).map(|_| if rng.next_f32() < 0.85 { 0 } else { rng.below(255) as u8 + 1 }).collect();
        let mut floats = vec![0.0; m * k];
        table.convert(&x, &mut floats);
        let w = Tensor::uniform(&[k * n], -1.0, 1.0, &mut rng).to_vec();
        let d = Tensor::uniform(&[m * n], -1.0, 1.0, &mut rng).to_vec();
        for &level in &levels {
            dispatch::limit_isa(Some(level));
            let (mut out, mut grad) = (vec![0.0; m * n], vec![0.0; k * n]);
            assert!(sparse::product_of_bytes(&x, &table, m, k, k, &w, n, &mut out, false));
            assert!(sparse::transposed_product_of_bytes(&x, &table, m, k, k, &d, n, &mut grad, false));
            let (mut want, mut want_g) = (vec![0.0; m * n], vec![0.0; k * n]);
            assert!(sparse::product(&floats, m, k, k, &w, n, &mut want, false));
            assert!(sparse::transposed_product(&floats, m, k, k, &d, n, &mut want_g, false));
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&want), "product of bytes {m} x {k} x {n} at {level}");
            assert_eq!(bits(&grad), bits(&want_g), "transposed product of bytes {m} x {k} x {n} at {level}");
        }
    }
    dispatch::limit_isa(None);
}

/// Small products (a training step's output layer, its weight gradient read transposed, an
/// accumulation) run on neurite's own chains at every level that has them, and give the
/// same bits as `matrixmultiply`, which computes each output as the same chain (FMA being
/// part of those levels).
fn small_products_match_matrixmultiply() {
    let levels = own_kernel_levels("small products are not run on neurite's own chains");
    if levels.is_empty() {
        return;
    }
    let mut rng = Rng::new(4);
    // (m, k, n, A transposed, beta)
    for (m, k, n, a_t, beta) in
        [(16, 50, 10, false, 0.0), (25, 16, 10, true, 1.0), (32, 50, 10, false, 0.0), (7, 33, 65, false, 1.0)]
    {
        let a = Tensor::uniform(&[m * k], -1.0, 1.0, &mut rng).to_vec();
        let b = Tensor::uniform(&[k * n], -1.0, 1.0, &mut rng).to_vec();
        let old = Tensor::uniform(&[m * n], -1.0, 1.0, &mut rng).to_vec();
        let la = if a_t { MatLayout::row_major(k, m).t() } else { MatLayout::row_major(m, k) };
        let (lb, lc) = (MatLayout::row_major(k, n), MatLayout::row_major(m, n));
        let product = |products: ProductKernel| {
            dispatch::set_product_kernel(products);
            let mut c = old.clone();
            gemm(1.0, &a, la, &b, lb, beta, &mut c, lc).unwrap();
            c
        };
        for &level in &levels {
            dispatch::limit_isa(Some(level));
            dispatch::set_product_kernel(ProductKernel::Auto);
            let mut c = old.clone();
            let at = (la.row_stride, la.col_stride);
            assert!(sparse::small_product(&a, at.0, at.1, m, k, &b, n, n, &mut c, n, beta == 1.0), "{level}: declined");
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let (own, crate_) = (product(ProductKernel::Auto), product(ProductKernel::Matrixmultiply));
            assert_eq!(bits(&own), bits(&crate_), "{level}: ({m}x{k}) x ({k}x{n}), beta {beta}");
            assert_eq!(bits(&c), bits(&own), "{level}: small_product called directly");
        }
    }
    dispatch::limit_isa(None);
    dispatch::set_product_kernel(ProductKernel::Auto);
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| if x == y { 0.0 } else { (x - y).abs() }).fold(0.0, f32::max)
}

#[test]
fn every_kernel_path_gives_the_same_answers() {
    let all = paths();
    assert!(all.len() >= 3, "at least the baseline with each product routing");
    eprintln!(
        "kernel paths on {} ({}; detected {}): {}",
        dispatch::cpu_model(),
        dispatch::product_kernels_in_use(),
        dispatch::detected_isa(),
        all.iter().map(|(i, k)| format!("{i}/{k}")).collect::<Vec<_>>().join(", ")
    );
    sparse_levels_agree();
    byte_inputs_agree();
    small_products_match_matrixmultiply();
    select(dispatch::detected_isa(), ProductKernel::Auto);
    let reference_elementwise = elementwise();
    let reference_training: Vec<_> = [1, 2].into_iter().map(train).collect();
    for path in all {
        select(path.0, path.1);
        products_agree(path);
        let e = elementwise();
        let d = max_difference(&e, &reference_elementwise);
        assert!(d <= TOLERANCE, "{path:?}: element-wise kernels differ by {d}");
        assert_eq!(e, elementwise(), "{path:?}: element-wise kernels are not repeatable");
        for (threads, reference) in [1, 2].into_iter().zip(&reference_training) {
            let run = train(threads);
            let (dp, dy) = (max_difference(&run.0, &reference.0), max_difference(&run.1, &reference.1));
            assert!(dp <= TOLERANCE, "{path:?}, {threads} threads: parameters differ by {dp}");
            assert!(dy <= TOLERANCE, "{path:?}, {threads} threads: predictions differ by {dy}");
            assert_eq!(run, train(threads), "{path:?}, {threads} threads: not repeatable bit for bit");
        }
    }
    dispatch::limit_isa(None);
    dispatch::set_product_kernel(ProductKernel::Auto);
}
