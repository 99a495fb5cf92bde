//! The layers beyond Dense on the one layer contract: batch normalisation against PyTorch's
//! float64 numbers and Keras' rule for its moving statistics, dropout against its definition,
//! every kind by gradcheck, the engine against the autograd path on a model that has them all,
//! dropout's masks at any thread count and across a resume, and the model description's
//! summary, files and exports.

mod common;

use neurite::autograd::{gradcheck_f32, Var};
use neurite::io::{self, Checkpointer};
use neurite::nn::{
    forward_var, Activation, BatchNormalization, Dense, Dropout, Flatten, Layer, Loss, Mode, Module, Noise, Reshape,
};
use neurite::optim::{Optim, Optimizer};
use neurite::train::{
    BatchLogs, Callback, FitOptions, Metric, ModelConfig, Sequential, StopSignal, TensorExamples, Verbosity,
};
use neurite::{Rng, Tensor};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/layers_torch.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

/// The largest difference, relative to the larger of 1 and the reference's size.
fn close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= tolerance * scale, "{what}: differs by {worst} (scale {scale})\n got {got:?}\nwant {want:?}");
}

/// A model of one batch normalisation layer with the fixture's gamma and beta.
fn batch_norm_model(f: &Value) -> Sequential {
    let features = f["features"].as_u64().unwrap() as usize;
    let mut model = Sequential::with_seed(0);
    model.set_input_shape(&[features]).unwrap();
    model.add(BatchNormalization::new()).unwrap();
    let p = model.params();
    p.set("batch_normalization/gamma", &Tensor::vector(&floats(&f["gamma"]))).unwrap();
    p.set("batch_normalization/beta", &Tensor::vector(&floats(&f["beta"]))).unwrap();
    model
}

#[test]
fn batch_normalization_matches_pytorch_in_training_and_inference() {
    let f = fixture();
    let (rows, features) = (f["rows"].as_u64().unwrap() as usize, f["features"].as_u64().unwrap() as usize);
    let x = Tensor::from_vec(floats(&f["x"]), &[rows, features]).unwrap();
    let dy = Tensor::from_vec(floats(&f["dy"]), &[rows, features]).unwrap();
    for (mode, key) in [(true, "training"), (false, "inference")] {
        let mut model = batch_norm_model(&f);
        if !mode {
            let p = model.params();
            p.set("batch_normalization/moving_mean", &Tensor::vector(&floats(&f["moving_mean"]))).unwrap();
            p.set("batch_normalization/moving_variance", &Tensor::vector(&floats(&f["moving_variance"]))).unwrap();
        }
        model.set_training(mode);
        let xv = Var::parameter(x.clone());
        let y = model.forward(&xv).unwrap();
        close(&format!("{key} y"), &y.value().to_vec(), &floats(&f[key]["y"]), 1e-5);
        (&y * &Var::constant(dy.clone())).unwrap().sum().unwrap().backward().unwrap();
        close(&format!("{key} dx"), &xv.grad().unwrap().to_vec(), &floats(&f[key]["dx"]), 1e-5);
        if mode {
            let params = model.parameters();
            close("dgamma", &params[0].grad().unwrap().to_vec(), &floats(&f["training"]["dgamma"]), 1e-5);
            close("dbeta", &params[1].grad().unwrap().to_vec(), &floats(&f["training"]["dbeta"]), 1e-5);
        }
    }
}

#[test]
fn moving_statistics_follow_keras_rule_in_the_engine() {
    // Three training steps of the engine on the fixture's batches: the moving mean and
    // variance end where Keras' rule (momentum 0.99, the batch's biased variance) puts them.
    let f = fixture();
    let (rows, features) = (f["rows"].as_u64().unwrap() as usize, f["features"].as_u64().unwrap() as usize);
    for threads in [1, 2, 3] {
        let mut model = Sequential::with_seed(0);
        model.set_threads(threads).unwrap();
        model.set_input_shape(&[features]).unwrap();
        model.add(BatchNormalization::new()).unwrap();
        model.add(Dense::new(2).activation(Activation::Softmax)).unwrap();
        model.compile(Optimizer::sgd(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
        for batch in f["batches"].as_array().unwrap() {
            let x = Tensor::from_vec(floats(batch), &[rows, features]).unwrap();
            let y = Tensor::vector(&(0..rows).map(|i| (i % 2) as f32).collect::<Vec<_>>());
            let data = TensorExamples::new(&x, &y, Some(2)).unwrap();
            model.train_on_batch(&data, &(0..rows as u32).collect::<Vec<_>>()).unwrap();
        }
        let p = model.params();
        close(
            "moving_mean",
            &p.get("batch_normalization/moving_mean").unwrap().to_vec(),
            &floats(&f["moving_after"]["mean"]),
            1e-6,
        );
        close(
            "moving_variance",
            &p.get("batch_normalization/moving_variance").unwrap().to_vec(),
            &floats(&f["moving_after"]["variance"]),
            1e-6,
        );
    }
}

#[test]
fn dropout_keeps_what_it_keeps_scaled_and_passes_the_gradient_through_its_mask() {
    let rate = 0.3f32;
    let (rows, width) = (64usize, 50usize);
    let mut model = Sequential::with_seed(5);
    model.set_input_shape(&[width]).unwrap();
    model.add(Dropout::new(rate)).unwrap();
    let x = Tensor::uniform(&[rows, width], 0.5, 1.5, &mut Rng::new(1));
    // Inference: the identity, and no copy of a mask.
    assert_eq!(model.forward(&Var::constant(x.clone())).unwrap().value().to_vec(), x.to_vec());
    model.set_training(true);
    let xv = Var::parameter(x.clone());
    let y = model.forward(&xv).unwrap();
    let (xs, ys) = (x.to_vec(), y.value().to_vec());
    let kept = 1.0 / (1.0 - rate);
    let mut dropped = 0;
    for (a, b) in xs.iter().zip(&ys) {
        if *b == 0.0 {
            dropped += 1;
        } else {
            assert_eq!(*b, a * kept, "a kept value is scaled by 1 / (1 - rate)");
        }
    }
    // 3,200 draws of probability 0.3: 960 expected, standard deviation 26; 6 deviations.
    let expected = rate as f64 * (rows * width) as f64;
    assert!((dropped as f64 - expected).abs() < 6.0 * (expected * (1.0 - rate as f64)).sqrt(), "{dropped} dropped");
    y.sum().unwrap().backward().unwrap();
    let dx = xv.grad().unwrap().to_vec();
    for (g, b) in dx.iter().zip(&ys) {
        assert_eq!(*g, if *b == 0.0 { 0.0 } else { kept });
    }
    // A second forward pass in training draws another mask.
    let again = model.forward(&Var::constant(x)).unwrap().value().to_vec();
    assert_ne!(again, ys);
}

#[test]
fn dropout_masks_depend_on_the_row_not_on_who_computes_it() {
    // The engine cuts a batch into parts per thread: a part starting at batch row 24 draws what
    // the whole batch draws for those rows.
    let mut layer = Dropout::new(0.5);
    layer.build(&[7]).unwrap();
    let noise = Noise::new(3, 11, 2);
    let x = vec![1.0f32; 40 * 7];
    let run = |rows: usize, noise: Noise| {
        let (mut y, mut cache) = (vec![0.0; rows * 7], vec![0.0; rows * 7]);
        layer
            .forward_rows(neurite::nn::layer::ForwardRows {
                mode: Mode::Training,
                params: &[],
                x: &x[..rows * 7],
                rows,
                y: &mut y,
                cache: &mut cache,
                stats: &mut [],
                noise,
                logits: false,
            })
            .unwrap();
        y
    };
    let whole = run(40, noise);
    let part = run(16, noise.from_row(24));
    assert_eq!(part, whole[24 * 7..]);
    assert_ne!(run(40, Noise::new(3, 12, 2)), whole, "another step draws other masks");
}

#[test]
fn every_new_layer_passes_gradcheck() {
    let mut rng = Rng::new(2);
    let x = Tensor::uniform(&[6, 12], -1.0, 1.0, &mut rng);
    let check = |what: &str, layer: Box<dyn Layer>, mode: Mode| {
        let mut model = Sequential::with_seed(1);
        model.set_input_shape(&[12]).unwrap();
        model.add_layer(layer).unwrap();
        model.set_training(mode == Mode::Training);
        // Weights the loss differently per output so that no gradient vanishes by symmetry.
        let w = Tensor::uniform(&[6 * 12], 0.5, 1.5, &mut Rng::new(9));
        let report = gradcheck_f32(
            |v| {
                let y = model.forward(&v[0])?;
                let y = y.reshape(&[-1])?;
                (&y * &Var::constant(w.clone()))?.powf(2.0)?.sum()
            },
            std::slice::from_ref(&x),
        )
        .unwrap();
        assert!(report.passed(), "{what}: {report}");
    };
    check("BatchNormalization, training", Box::new(BatchNormalization::new()), Mode::Training);
    check("BatchNormalization, inference", Box::new(BatchNormalization::new()), Mode::Inference);
    check("Flatten", Box::new(Flatten::new()), Mode::Training);
    check("Reshape", Box::new(Reshape::new(&[3, -1])), Mode::Training);
    // Dropout draws a new mask each forward pass in training; gradcheck needs one function,
    // so its training pass is checked through forward_var with one fixed key.
    let mut dropout = Dropout::new(0.4);
    dropout.build(&[12]).unwrap();
    let report = gradcheck_f32(
        |v| forward_var(&dropout, &v[0], &[], Mode::Training, Noise::new(1, 1, 0))?.powf(2.0)?.sum(),
        std::slice::from_ref(&x),
    )
    .unwrap();
    assert!(report.passed(), "Dropout: {report}");
}

/// Dense(relu) -> BatchNormalization -> Dropout -> Dense(softmax), seeded.
fn mixed_model(seed: u64, threads: usize) -> Sequential {
    let config = ModelConfig::parse_layers(
        &[10],
        "dense:16:relu,batchnorm,dropout:0.25,dense:4:softmax",
        neurite::nn::Initializer::GlorotUniform,
    )
    .unwrap();
    let mut model = Sequential::from_config(&config, seed).unwrap();
    model.set_threads(threads).unwrap();
    model
}

#[test]
fn the_engine_and_autograd_take_the_same_steps_through_every_kind() {
    // The engine's training step and a hand-written autograd loop over the same layers take
    // the same two SGD steps: same masks (both draw from the model's seed, the step and the
    // layer's place), same batch statistics, same gradients.
    let mut rng = Rng::new(4);
    let (rows, lr) = (12usize, 0.5f32);
    let x = Tensor::uniform(&[rows, 10], -1.0, 1.0, &mut rng);
    let y = Tensor::vector(&(0..rows).map(|i| (i % 4) as f32).collect::<Vec<_>>());
    let data = TensorExamples::new(&x, &y, Some(4)).unwrap();
    let batch: Vec<u32> = (0..rows as u32).collect();
    for threads in [1, 2] {
        let mut engine = mixed_model(7, threads);
        engine.compile(Optimizer::sgd().learning_rate(lr), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
        let mut autograd = mixed_model(7, 1);
        autograd.set_training(true);
        let mut opt = Optim::new(Optimizer::sgd().learning_rate(lr), autograd.parameters()).unwrap();
        for step in 0..2 {
            let totals = engine.train_on_batch(&data, &batch).unwrap();
            opt.zero_grad();
            let out = autograd.forward(&Var::constant(x.clone())).unwrap();
            let loss = Loss::SparseCategoricalCrossentropy.forward(&out, &y).unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
            let l = loss.value().item().unwrap() as f64;
            assert!(
                (totals.loss - l).abs() <= 1e-5 * (1.0 + l),
                "step {step}, {threads} threads: {} vs {l}",
                totals.loss
            );
        }
        let (a, b) = (engine.params().snapshot().unwrap(), autograd.params().snapshot().unwrap());
        let start = mixed_model(7, 1).params().snapshot().unwrap();
        let moved = start.iter().zip(&b).map(|(s, v)| (s - v).abs()).fold(0.0f32, f32::max);
        let diff = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(moved > 0.01, "the steps moved the parameters by {moved}");
        assert!(diff <= 1e-4 * moved, "{threads} threads: the paths differ by {diff} of a move of {moved}");
    }
}

fn mixed_data() -> (Tensor, Tensor) {
    let mut rng = Rng::new(8);
    let x = Tensor::uniform(&[200, 10], -1.0, 1.0, &mut rng);
    let y = Tensor::vector(&(0..200).map(|i| ((i * 7) % 4) as f32).collect::<Vec<_>>());
    (x, y)
}

#[test]
fn a_fit_with_dropout_repeats_bit_for_bit_and_resumes_from_any_step_to_the_same_bits() {
    let (x, y) = mixed_data();
    let data = TensorExamples::new(&x, &y, Some(4)).unwrap();
    let options = FitOptions::default().epochs(3).batch_size(16).seed(3).verbose(Verbosity::Silent);
    let fitted = |threads: usize| {
        let mut m = mixed_model(1, threads);
        m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
        m.fit_with(&data, None, &options, &mut []).unwrap();
        m.params().snapshot().unwrap()
    };
    let whole = fitted(2);
    assert_eq!(fitted(2), whole, "the same seed gives the same bits");

    /// Raises the stop signal after `at` steps.
    struct StopAfter(usize, usize, StopSignal);
    impl Callback for StopAfter {
        fn on_batch_end(&mut self, _batch: usize, _logs: &BatchLogs) {
            self.1 += 1;
            if self.1 == self.0 {
                self.2.raise();
            }
        }
    }
    for stop_at in [1, 5, 13, 20, 27] {
        let dir = common::temp_dir(&format!("layers-resume-{stop_at}"));
        let signal = StopSignal::new();
        let mut m = mixed_model(1, 2);
        m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
        let mut checkpoints = Checkpointer::new(&dir).unwrap();
        let mut stop = StopAfter(stop_at, 0, signal.clone());
        let err = m.fit_with(&data, None, &options.clone().stop_on(signal), &mut [&mut checkpoints, &mut stop]);
        assert!(err.is_err(), "the fit stops after step {stop_at}");
        let saved = io::load_checkpoint(&dir).unwrap();
        let mut resumed = saved.model;
        resumed.set_threads(2).unwrap();
        resumed.fit_with(&data, None, &options.clone().resume(saved.progress), &mut []).unwrap();
        assert_eq!(resumed.params().snapshot().unwrap(), whole, "stopped after step {stop_at} and resumed");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn the_model_description_counts_saves_and_exports_every_kind() {
    let config = ModelConfig::parse_layers(
        &[784],
        "dense:256:relu,batchnorm,dropout:0.3,dense:10:softmax",
        neurite::nn::Initializer::GlorotUniform,
    )
    .unwrap();
    assert_eq!(config.param_count().unwrap(), 784 * 256 + 256 + 4 * 256 + 2570);
    let mut model = Sequential::from_config(&config, 0).unwrap();
    let summary = model.summary();
    for line in [
        "dense (Dense)",
        "batch_normalization (BatchNormalization)",
        "dropout (Dropout)",
        "dense_1 (Dense)",
        "Total params: 204,554 (799.04 KB)",
        "Trainable params: 204,042 (797.04 KB)",
        "Non-trainable params: 512 (2.00 KB)",
    ] {
        assert!(summary.contains(line), "{line} missing from\n{summary}");
    }
    assert_eq!(model.trainable_count(), 204_042);
    assert_eq!(model.parameters().len(), 6, "kernel, bias, gamma, beta, kernel, bias");
    // A file round trip keeps the architecture and every tensor, moving statistics included.
    model.params().set("batch_normalization/moving_mean", &Tensor::full(&[256], 0.25)).unwrap();
    let back = io::model_from_bytes(&io::model_bytes(&model).unwrap()).unwrap();
    assert_eq!(back.config(), model.config());
    assert_eq!(back.params().tensors().unwrap(), model.params().tensors().unwrap());
    // PyTorch's names and modules.
    let keys: Vec<String> = io::torch::state_dict(&model).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "4.weight", "4.bias"]
    );
    assert_eq!(
        io::torch::torch_modules(&model).unwrap(),
        "nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.BatchNorm1d(256, eps=0.001, momentum=0.01), nn.Dropout(p=0.3), nn.Linear(256, 10), nn.Softmax(dim=-1))"
    );
    // NumPy arrays: a model that is not a stack of dense layers is written with its store's
    // names (the book's W1, b1, ... name dense stacks only), and reads back from them.
    let arrays = io::model_to_arrays(&model).unwrap();
    assert_eq!(arrays[2].0, "batch_normalization/gamma");
    let npz = io::npy::npz_bytes(&arrays).unwrap();
    let acts = io::Activations { hidden: Some(Activation::Relu), output: Some(Activation::Softmax) };
    let mut from_npz = io::read_model(&npz, acts).unwrap();
    assert_eq!(from_npz.params().tensors().unwrap(), model.params().tensors().unwrap());
    // Predictions are the same before and after the file.
    let x = Tensor::uniform(&[5, 784], 0.0, 1.0, &mut Rng::new(3));
    let mut back = back;
    assert_eq!(back.predict(&x).unwrap().to_vec(), model.predict(&x).unwrap().to_vec());
    assert_eq!(from_npz.predict(&x).unwrap().to_vec(), model.predict(&x).unwrap().to_vec());
}

#[test]
fn bad_layer_settings_are_clear_errors_before_training() {
    let bad = |spec: &str, input: &[usize]| {
        let config = ModelConfig::parse_layers(input, spec, neurite::nn::Initializer::GlorotUniform);
        config.and_then(|c| Sequential::from_config(&c, 0)).err().map(|e| e.to_string()).unwrap_or_default()
    };
    assert!(bad("dropout:1.5,dense:2", &[4]).contains("rate must be in [0, 1), got 1.5"));
    assert!(bad("reshape:5x-1,dense:2", &[784]).contains("cannot reshape (None, 784)"));
    assert!(bad("dense:3", &[28, 28]).contains("put a Flatten layer before it"));
    assert!(bad("batchnorm:2,dense:2", &[4]).contains("momentum must be in [0, 1]"));
    assert!(bad("conv:3", &[4]).contains("is not a layer neurite knows"));
    let err = Sequential::from_config(&ModelConfig::new(Some(vec![usize::MAX, 4]), vec![]), 0).unwrap_err();
    assert!(err.to_string().contains("too many values"), "{err}");
}

#[test]
fn a_model_file_whose_architecture_lies_is_refused_before_anything_is_built() {
    // Issue 26, defect 1: `units` of 1e12 in the architecture aborted the process (a 3.1 PB
    // allocation); 500,000 took 4.6 GB. The architecture is now counted against the tensors.
    let mut model = Sequential::with_seed(0);
    model.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(784)).unwrap();
    model.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
    let bytes = io::model_bytes(&model).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    assert!(header.contains(r#"\"units\":50"#), "{header}");
    // A last layer that lies, alone: counted against the tensors.
    let forged = header.replace(r#"\"units\":10"#, r#"\"units\":100000000000"#);
    let mut file = (forged.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(forged.as_bytes());
    file.extend_from_slice(&bytes[8 + header_len..]);
    let err = io::model_from_bytes(&file).unwrap_err().to_string();
    assert!(err.contains("the architecture describes 5100000039250 parameter values, the file holds 39760 (dense/bias (50,), dense/kernel (784, 50), dense_1/bias (10,), dense_1/kernel (50, 10))"), "{err}");
    // (The second layer records its 50 inputs, so the lie shows as shapes that do not chain.)
    for (lie, says) in
        [("1000000000000", "previous layer gives 1000000000000"), ("500000", "previous layer gives 500000")]
    {
        let forged = header.replace(r#"\"units\":50"#, &format!(r#"\"units\":{lie}"#));
        let mut file = (forged.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(forged.as_bytes());
        file.extend_from_slice(&bytes[8 + header_len..]);
        let err = io::model_from_bytes(&file).unwrap_err().to_string();
        assert!(err.contains("the architecture is not valid") && err.contains(says), "units {lie}: {err}");
    }
}

#[test]
fn a_pytorch_model_with_batch_normalization_imports_and_predicts_as_pytorch_does() {
    // nn.Sequential(Linear(6, 8), ReLU, BatchNorm1d(8), Dropout, Linear(8, 3), Softmax) in eval
    // mode, saved by torch.save and by safetensors' save_file (num_batches_tracked, int64,
    // included) and exported by torch.onnx.export, its outputs computed by PyTorch
    // (scripts/layer_fixtures.py).
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let f: Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/torch_mlp_bn.json")).unwrap()).unwrap();
    let x = Tensor::from_vec(floats(&f["x"]), &[5, 6]).unwrap();
    let acts = io::Activations { hidden: Some(Activation::Relu), output: Some(Activation::Softmax) };
    for file in ["torch_mlp_bn.pt", "torch_mlp_bn.safetensors", "torch_mlp_bn.onnx"] {
        let mut model = io::load_any(std::path::Path::new(&format!("{dir}/{file}")), acts).unwrap();
        let kinds: Vec<&str> = model.layers().iter().map(|l| l.class_name()).collect();
        assert_eq!(kinds, ["Dense", "BatchNormalization", "Dense"], "{file}");
        close(file, &model.predict(&x).unwrap().to_vec(), &floats(&f["y"]), 1e-5);
        // Back through neurite's own ONNX export: the same predictions.
        let again = io::read_model(&io::onnx::to_onnx(&model).unwrap(), io::Activations::default());
        close(
            &format!("{file}, ONNX round trip"),
            &again.unwrap().predict(&x).unwrap().to_vec(),
            &floats(&f["y"]),
            1e-5,
        );
        // And back: the state_dict neurite writes has PyTorch's keys for the same modules.
        let keys: Vec<String> = io::torch::state_dict(&model).unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "3.weight", "3.bias"]
        );
    }
}

#[test]
fn a_state_dict_neurite_wrote_reads_back_with_its_epsilon() {
    // PyTorch's state_dict keeps no epsilon; neurite's file says it in its metadata
    // (`nn.BatchNorm1d(16, eps=0.001, momentum=0.01)`), and reading it back uses it: the same
    // predictions, bit for bit, not those of PyTorch's default 1e-5.
    let mut model = mixed_model(2, 1);
    let p = model.params();
    p.set("batch_normalization/moving_variance", &Tensor::full(&[16], 0.004)).unwrap();
    let x = Tensor::uniform(&[7, 10], -1.0, 1.0, &mut Rng::new(6));
    let bytes = io::torch::state_dict_bytes(&model).unwrap();
    let acts = io::Activations { hidden: Some(Activation::Relu), output: Some(Activation::Softmax) };
    let mut back = io::read_model(&bytes, acts).unwrap();
    assert_eq!(back.predict(&x).unwrap().to_vec(), model.predict(&x).unwrap().to_vec());
}

#[test]
fn architectures_as_keras_writes_them_build_the_models_keras_builds() {
    // Keras 3.15's own model.to_json() (scripts/keras_fixtures.py), counted as Keras counts them.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let read =
        |name: &str| io::keras::model_config_from_json(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap());
    let model = Sequential::from_config(&read("keras_mlp_bn.json").unwrap(), 0).unwrap();
    assert_eq!((model.param_count(), model.trainable_count()), (204_554, 204_042));
    let names: Vec<&str> = model.layers().iter().map(|l| l.name().unwrap()).collect();
    assert_eq!(names, ["dense", "batch_normalization", "dropout", "dense_1"]);
    let images = Sequential::from_config(&read("keras_flatten.json").unwrap(), 0).unwrap();
    assert_eq!(images.param_count(), 50_880);
    assert_eq!(images.input_shape(), Some(vec![28, 28]));
    let dense = images.dense_layers();
    assert_eq!(dense[0].activation_fn(), Activation::LEAKY_RELU);
    assert_eq!(dense[0].config().kernel_initializer, neurite::nn::Initializer::HeNormal);
    assert!(!dense[1].config().use_bias);
    // What neurite cannot honour is named, not dropped.
    let text = std::fs::read_to_string(format!("{dir}/keras_mlp_bn.json")).unwrap();
    let err = io::keras::model_config_from_json(&text.replace("\"axis\": -1", "\"axis\": 1")).unwrap_err();
    assert!(err.to_string().contains("axis is 1; neurite normalises the last axis"), "{err}");
    let err = io::keras::model_config_from_json(&text.replace("\"Dropout\"", "\"SpatialDropout1D\"")).unwrap_err();
    assert!(err.to_string().contains("neurite has no SpatialDropout1D layer"), "{err}");
}

#[test]
fn a_model_with_a_nan_weight_is_not_exported() {
    // Issue 26, point 4: refused when loaded, imported or exported, naming the tensor.
    let model = mixed_model(3, 1);
    let mut gamma = model.params().get("batch_normalization/gamma").unwrap().to_vec();
    gamma[5] = f32::NAN;
    model.params().set("batch_normalization/gamma", &Tensor::vector(&gamma)).unwrap();
    for err in [
        io::onnx::to_onnx(&model).map(|_| ()).unwrap_err(),
        io::torch::state_dict(&model).map(|_| ()).unwrap_err(),
        io::model_to_arrays(&model).map(|_| ()).unwrap_err(),
    ] {
        let err = err.to_string();
        assert!(
            err.contains("export: tensor batch_normalization/gamma (shape (16,)) holds NaN at flat index 5"),
            "{err}"
        );
    }
}
