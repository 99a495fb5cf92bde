//! Convolution and pooling (Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D)
//! against PyTorch's float64 numbers (scripts/conv_fixtures.py: strides, both paddings, odd
//! sizes, even kernels), by gradcheck, the engine against the autograd path on a small
//! convnet at 1, 2 and 3 threads, the same bits at any thread count, and bad shapes refused
//! before training with the layer and the shapes named.

use neurite::autograd::{gradcheck_f32, Var};
use neurite::io::keras::layer_config_from_json;
use neurite::nn::{Conv2D, Initializer, Layer, Loss, MaxPooling2D, Mode, Module, Padding};
use neurite::optim::{Optim, Optimizer};
use neurite::train::{ModelConfig, Sequential, TensorExamples};
use neurite::{Rng, Tensor};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/conv_torch.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn sizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

/// The largest difference, relative to the larger of 1 and the reference's size.
fn close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= tolerance * scale, "{what}: differs by {worst} (scale {scale})");
}

#[test]
fn every_case_matches_pytorch_in_values_and_gradients() {
    let f = fixture();
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let class = case["layer"].as_str().unwrap();
        // Built from Keras' configuration keys, as a model file or Python gives them.
        let config = layer_config_from_json(class, &case["config"].to_string()).unwrap();
        let x_shape = sizes(&case["x_shape"]);
        let mut model = Sequential::with_seed(0);
        model.set_input_shape(&x_shape[1..]).unwrap();
        model.add_layer(config.into_layer()).unwrap();
        assert_eq!(model.output_shape().unwrap(), sizes(&case["y_shape"])[1..], "{name}: output shape");
        if class == "Conv2D" {
            let p = model.params();
            let kernel_shape = model.layers()[0].param_specs()[0].shape.clone();
            p.set("conv2d/kernel", &Tensor::from_vec(floats(&case["kernel"]), &kernel_shape).unwrap()).unwrap();
            p.set("conv2d/bias", &Tensor::vector(&floats(&case["bias"]))).unwrap();
        }
        {
            let x = Var::parameter(Tensor::from_vec(floats(&case["x"]), &x_shape).unwrap());
            let y = model.forward(&x).unwrap();
            close(&format!("{name}: y"), &y.value().to_vec(), &floats(&case["y"]), 1e-5);
            for p in model.parameters() {
                p.zero_grad();
            }
            let dy = Tensor::from_vec(floats(&case["dy"]), &y.shape()).unwrap();
            (&y * &Var::constant(dy)).unwrap().sum().unwrap().backward().unwrap();
            close(&format!("{name}: dx"), &x.grad().unwrap().to_vec(), &floats(&case["dx"]), 1e-5);
            if class == "Conv2D" {
                let params = model.parameters();
                close(
                    &format!("{name}: dkernel"),
                    &params[0].grad().unwrap().to_vec(),
                    &floats(&case["dkernel"]),
                    1e-5,
                );
                close(&format!("{name}: dbias"), &params[1].grad().unwrap().to_vec(), &floats(&case["dbias"]), 1e-5);
            }
        }
    }
}

#[test]
fn every_kind_passes_gradcheck_with_strides_and_both_paddings() {
    // Values 0.05 apart in a shuffled order: max pooling's gradient is defined (no two values
    // of a window within gradcheck's step of each other).
    let mut order: Vec<usize> = (0..2 * 7 * 6 * 2).collect();
    Rng::new(3).shuffle(&mut order);
    let values: Vec<f32> = order.iter().map(|&i| i as f32 * 0.05 - 4.0).collect();
    let x = Tensor::from_vec(values, &[2, 7, 6, 2]).unwrap();
    let layers: Vec<(&str, &str, &str)> = vec![
        ("conv valid", "Conv2D", r#"{"filters": 3, "kernel_size": [3, 2], "activation": "tanh"}"#),
        ("conv same strided", "Conv2D", r#"{"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}"#),
        ("max same strided", "MaxPooling2D", r#"{"pool_size": 3, "strides": 2, "padding": "same"}"#),
        ("average same", "AveragePooling2D", r#"{"pool_size": [2, 3], "strides": [1, 2], "padding": "same"}"#),
        ("global average", "GlobalAveragePooling2D", r#"{}"#),
    ];
    for (what, class, config) in layers {
        let mut model = Sequential::with_seed(1);
        model.set_input_shape(&[7, 6, 2]).unwrap();
        model.add_layer(layer_config_from_json(class, config).unwrap().into_layer()).unwrap();
        let out: usize = model.output_shape().unwrap().iter().product();
        let w = Tensor::uniform(&[2 * out], 0.5, 1.5, &mut Rng::new(9));
        let report = gradcheck_f32(
            |v| {
                let y = model.forward(&v[0])?.reshape(&[-1])?;
                (&y * &Var::constant(w.clone()))?.powf(2.0)?.sum()
            },
            std::slice::from_ref(&x),
        )
        .unwrap();
        assert!(report.passed(), "{what}: {report}");
    }
}

/// A small convnet: a strided `same` convolution, max pooling, a `valid` one, average
/// pooling, dropout and the output.
fn small_convnet(seed: u64, threads: usize) -> Sequential {
    let config = ModelConfig::parse_layers(
        &[9, 8, 2],
        "conv:4:3:relu:s2:same,maxpool:2:s1,conv:5:2x2:tanh,avgpool:2:same,flatten,dropout:0.25,dense:3:softmax",
        Initializer::GlorotUniform,
    )
    .unwrap();
    let mut model = Sequential::from_config(&config, seed).unwrap();
    model.set_threads(threads).unwrap();
    model
}

fn image_data(rows: usize) -> (Tensor, Tensor) {
    let mut rng = Rng::new(5);
    let x = Tensor::uniform(&[rows, 9, 8, 2], -1.0, 1.0, &mut rng);
    let y = Tensor::vector(&(0..rows).map(|i| (i % 3) as f32).collect::<Vec<_>>());
    (x, y)
}

#[test]
fn the_engine_takes_the_steps_autograd_takes_at_one_two_and_three_threads() {
    let (rows, lr) = (37usize, 0.3f32);
    let (x, y) = image_data(rows);
    let data = TensorExamples::new(&x, &y, Some(3)).unwrap();
    let batch: Vec<u32> = (0..rows as u32).collect();
    for threads in [1, 2, 3] {
        let mut engine = small_convnet(7, threads);
        engine.compile(Optimizer::sgd().learning_rate(lr), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
        let mut autograd = small_convnet(7, 1);
        autograd.set_training(true);
        let mut opt = Optim::new(Optimizer::sgd().learning_rate(lr), autograd.parameters()).unwrap();
        for step in 0..3 {
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
        let start = small_convnet(7, 1).params().snapshot().unwrap();
        let moved = start.iter().zip(&b).map(|(s, v)| (s - v).abs()).fold(0.0f32, f32::max);
        let diff = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(moved > 0.01, "the steps moved the parameters by {moved}");
        assert!(diff <= 1e-4 * moved, "{threads} threads: the paths differ by {diff} of a move of {moved}");
    }
}

#[test]
fn a_convnet_trains_to_the_same_bits_at_any_thread_count() {
    let (x, y) = image_data(150);
    let options = neurite::train::FitOptions::default()
        .epochs(2)
        .batch_size(40)
        .seed(3)
        .verbose(neurite::train::Verbosity::Silent);
    let mut runs = vec![];
    for threads in [1, 2, 3] {
        let mut model = small_convnet(11, threads);
        model.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
        let history = model.fit(&x, &y, &options).unwrap();
        let predictions = model.predict(&x).unwrap().to_vec();
        runs.push((model.params().snapshot().unwrap(), history.get("loss").to_vec(), predictions));
    }
    for (t, run) in runs.iter().enumerate().skip(1) {
        assert!(
            run.0.iter().zip(&runs[0].0).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{} threads: other weights",
            t + 1
        );
        assert_eq!(run.1, runs[0].1, "{} threads: other losses", t + 1);
        assert!(
            run.2.iter().zip(&runs[0].2).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{} threads: other outputs",
            t + 1
        );
    }
}

#[test]
fn bad_shapes_are_one_clear_error_each_before_training() {
    let build = |input: &[usize], spec: &str| -> String {
        let config = ModelConfig::parse_layers(input, spec, Initializer::GlorotUniform).unwrap();
        Sequential::from_config(&config, 0).err().map(|e| e.to_string()).unwrap_or_default()
    };
    let e = build(&[2, 2, 1], "conv:4:3,flatten,dense:2");
    assert!(e.contains("conv2d") && e.contains("3x3") && e.contains("(None, 2, 2, 1)"), "{e}");
    let e = build(&[8, 8, 1], "maxpool:9,flatten,dense:2");
    assert!(e.contains("max_pooling2d") && e.contains("9x9") && e.contains("(None, 8, 8, 1)"), "{e}");
    let e = build(&[784], "conv:4:3,flatten,dense:2");
    assert!(e.contains("conv2d") && e.contains("(None, 784)") && e.contains("flat rows"), "{e}");
    // A shape whose size overflows is refused at the model's input, before Flatten is built.
    let e = build(&[4_000_000_000, 4_000_000_000, 4_000_000_000], "flatten,dense:2");
    assert!(e.contains("(None, 4000000000, 4000000000, 4000000000)") && e.contains("too many values"), "{e}");
    // A stride of 0 is refused where it is written: in the Keras configuration, and in a layer.
    let e = layer_config_from_json("Conv2D", r#"{"filters": 2, "kernel_size": 3, "strides": 0}"#)
        .map(|c| {
            let mut m = Sequential::with_seed(0);
            m.set_input_shape(&[5, 5, 1]).unwrap();
            m.add_layer(c.into_layer()).unwrap_err().to_string()
        })
        .unwrap_or_else(|e| e.to_string());
    assert!(e.contains("strides 1x0") || e.contains("strides 0x0"), "{e}");
    let mut m = Sequential::with_seed(0);
    m.set_input_shape(&[5, 5, 1]).unwrap();
    let e = m.add(Conv2D::new(2, 3).strides(0, 1)).unwrap_err().to_string();
    assert!(e.contains("conv2d") && e.contains("strides 0x1"), "{e}");
    // Flat rows for an image model, and images for a model of flat rows.
    let mut convnet = small_convnet(0, 1);
    convnet.compile(Optimizer::sgd(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let flat = Tensor::zeros(&[4, 144]);
    let labels = Tensor::zeros(&[4]);
    let e = convnet.fit(&flat, &labels, &Default::default()).unwrap_err().to_string();
    assert!(e.contains("conv2d") && e.contains("(None, 9, 8, 2)") && e.contains("flat rows of 144"), "{e}");
    let mut mlp =
        Sequential::from_config(&ModelConfig::parse_layers(&[144], "dense:3:softmax", Initializer::Zeros).unwrap(), 0)
            .unwrap();
    mlp.compile(Optimizer::sgd(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let images = Tensor::zeros(&[4, 9, 8, 2]);
    let e = mlp.fit(&images, &labels, &Default::default()).unwrap_err().to_string();
    assert!(e.contains("(None, 144)") && e.contains("[4, 9, 8, 2]") || e.contains("(4, 9, 8, 2)"), "{e}");
    let e = mlp.predict(&images).unwrap_err().to_string();
    assert!(e.contains("(None, 144)"), "{e}");
}

#[test]
fn keras_names_and_counts_for_its_convnet() {
    let config = ModelConfig::parse_layers(&[28, 28, 1], "keras-convnet", Initializer::GlorotUniform).unwrap();
    let model = Sequential::from_config(&config, 0).unwrap();
    let names: Vec<&str> = model.layers().iter().map(|l| l.name().unwrap()).collect();
    assert_eq!(names, ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dropout", "dense"]);
    let summary = model.summary();
    for line in
        ["(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 11, 11, 64)", "(None, 5, 5, 64)", "(None, 1600)", "34,826"]
    {
        assert!(summary.contains(line), "{line} missing from\n{summary}");
    }
    let pool = MaxPooling2D::new(2).padding(Padding::Same);
    assert_eq!(pool.output_shape(&[5, 5, 3]).unwrap(), vec![3, 3, 3]);
    let _ = Mode::Inference;
}
