//! The playground's state, natively (the same code the page runs as WebAssembly): training a
//! few steps at a time is one uninterrupted fit, bit for bit; reset gives the same initial
//! weights; a drawing's probabilities are the model's; model files go out and back in.

use neurite::data::image::{self, GreyImage, Invert};
use neurite::data::Dataset;
use neurite::io;
use neurite::train::{FitOptions, Verbosity};
use neurite::Tensor;
use neurite_wasm::{Playground, Settings};
use serde_json::{json, Value};

fn settings() -> Settings {
    Settings { hidden: vec![16], epochs: 3, batch_size: 50, seed: 7, ..Settings::default() }
}

/// The weights and biases in a model file (its metadata's key order may vary).
fn weights(file: &[u8]) -> Vec<(String, Vec<f32>)> {
    let model = io::model_from_bytes(file).unwrap();
    io::model_to_arrays(&model).unwrap().into_iter().map(|(name, t)| (name, t.to_vec())).collect()
}

/// Trains `playground` to the end in chunks of `steps`, returning the epoch losses.
fn train_in_chunks(playground: &mut Playground, steps: usize) -> Vec<f64> {
    let mut losses = vec![];
    for _ in 0..10_000 {
        let report = playground.train(steps).unwrap();
        for e in report["new_epochs"].as_array().unwrap() {
            losses.push(e["logs"]["loss"].as_f64().unwrap());
        }
        if report["finished"].as_bool().unwrap() {
            return losses;
        }
    }
    panic!("the fit did not finish");
}

#[test]
fn chunks_of_steps_are_one_fit_and_reset_starts_again() {
    let (train, _) = Dataset::digits().unwrap();
    let mut model = settings().build(64, 10).unwrap();
    let options = FitOptions::default().epochs(3).batch_size(50).seed(7).verbose(Verbosity::Silent);
    let whole: Vec<f64> = model.fit_with(&train, None, &options, &mut []).unwrap().get("loss");

    let mut playground = Playground::new();
    playground.load_digits().unwrap();
    playground.configure(settings()).unwrap();
    let initial = weights(&playground.model_file().unwrap());
    // 29 steps per epoch: chunks of 1, 7 and 29 end inside epochs and exactly at their ends.
    for steps in [7, 1, 29, 1000] {
        playground.reset().unwrap();
        assert!(weights(&playground.model_file().unwrap()) == initial, "reset gives the same initial weights");
        assert_eq!(train_in_chunks(&mut playground, steps), whole, "chunks of {steps} steps");
    }
    assert!(
        weights(&io::model_bytes(&model).unwrap()) == weights(&playground.model_file().unwrap()),
        "the same final weights"
    );
}

#[test]
fn a_drawing_gets_the_models_probabilities_and_every_layers_output() {
    let mut playground = Playground::new();
    playground.load_digits().unwrap();
    playground.configure(settings()).unwrap();
    playground.train(100).unwrap();
    // A white-on-black "1" of 40 x 40 RGBA pixels.
    let (w, h) = (40, 40);
    let mut rgba = vec![0u8; w * h * 4];
    for y in 5..35 {
        for x in 18..22 {
            rgba[(y * w + x) * 4..][..4].copy_from_slice(&[255, 255, 255, 255]);
        }
    }
    for p in rgba.chunks_exact_mut(4) {
        p[3] = 255;
    }
    let answer = playground.predict(&rgba, w, h).unwrap();
    let input = image::to_model_input(&GreyImage::from_rgba8(w, h, &rgba).unwrap(), 8, Invert::Auto).unwrap();
    let shown: Vec<f32> = answer["input"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    assert_eq!(shown, input, "the input shown is predict's preprocessing");
    let layers = answer["layers"].as_array().unwrap();
    assert_eq!(layers.iter().map(|l| l.as_array().unwrap().len()).collect::<Vec<_>>(), [16, 10]);

    let mut model = io::model_from_bytes(&playground.model_file().unwrap()).unwrap();
    let expected = model.predict(&Tensor::from_vec(input, &[1, 64]).unwrap()).unwrap().to_vec();
    let probabilities = answer["probabilities"].as_array().unwrap();
    for (p, e) in probabilities.iter().zip(&expected) {
        assert!((p.as_f64().unwrap() - *e as f64).abs() < 1e-6, "{p} vs {e}");
    }
    let best = expected.iter().enumerate().fold(0, |b, (i, &v)| if v > expected[b] { i } else { b });
    assert_eq!(answer["class"], best);

    // A blank drawing is an error, not a panic.
    assert!(playground.predict(&vec![0; w * h * 4], w, h).is_err());
    assert!(playground.predict(&rgba[..10], w, h).is_err());
}

#[test]
fn model_files_go_out_and_back_in() {
    let mut playground = Playground::new();
    playground.load_digits().unwrap();
    playground.configure(settings()).unwrap();
    playground.train(40).unwrap();
    let file = playground.model_file().unwrap();
    let accuracy = playground.evaluate().unwrap();

    let mut other = Playground::new();
    other.load_digits().unwrap();
    other.configure(Settings { seed: 99, ..settings() }).unwrap();
    let info = other.load_model(&file, "model.safetensors").unwrap();
    assert_eq!(info["origin"], "model.safetensors");
    assert_eq!(other.evaluate().unwrap(), accuracy);
    assert!(other.load_model(b"not a model", "junk.bin").unwrap_err().to_string().contains("junk.bin"));
    // A model for other data is refused, naming both shapes.
    let mut mnist = settings().build(784, 10).unwrap();
    mnist.set_threads(1).unwrap();
    let wrong = io::model_bytes(&mnist).unwrap();
    let error = other.load_model(&wrong, "mnist.safetensors").unwrap_err().to_string();
    assert!(error.contains("784 inputs") && error.contains("64 features"), "{error}");
    // The first layer's weights as pictures: 16 units of 8 x 8 RGBA.
    let (units, side, rgba) = other.first_layer_pictures().unwrap();
    assert_eq!((units, side, rgba.len()), (16, 8, 16 * 64 * 4));
}

/// A small convnet on the 8x8 digits, as the page builds it from `--layers` text.
fn convnet() -> Settings {
    Settings {
        layers: Some("conv:4:3:relu,maxpool:2,flatten,dense:10:softmax".into()),
        epochs: 2,
        batch_size: 50,
        seed: 5,
        ..Settings::default()
    }
}

#[test]
fn a_convnet_trains_in_chunks_as_one_fit_and_shows_its_feature_maps() {
    let (train, _) = Dataset::digits().unwrap();
    let mut model = convnet().build(64, 10).unwrap();
    assert_eq!(model.input_shape(), Some(vec![8, 8, 1]), "the pictures' shape, as `neurite train` gives it");
    let options = FitOptions::default().epochs(2).batch_size(50).seed(5).verbose(Verbosity::Silent);
    let whole: Vec<f64> = model.fit_with(&train, None, &options, &mut []).unwrap().get("loss");

    let mut playground = Playground::new();
    playground.load_digits().unwrap();
    let info = playground.configure(convnet()).unwrap();
    let shapes: Vec<Value> = info["layers"].as_array().unwrap().iter().map(|l| l["shape"].clone()).collect();
    assert_eq!(shapes, [json!([6, 6, 4]), json!([3, 3, 4]), json!([36]), json!([10])]);
    assert_eq!(train_in_chunks(&mut playground, 7), whole, "chunks of 7 steps");

    // A drawing: every layer's output with its shape, the maps channels last.
    let (w, h) = (40, 40);
    let mut rgba = vec![0u8; w * h * 4];
    for y in 5..35 {
        for x in 18..22 {
            rgba[(y * w + x) * 4..][..3].copy_from_slice(&[255, 255, 255]);
        }
    }
    for p in rgba.chunks_exact_mut(4) {
        p[3] = 255;
    }
    let answer = playground.predict(&rgba, w, h).unwrap();
    assert_eq!(answer["shapes"], json!([[6, 6, 4], [3, 3, 4], [36], [10]]));
    let layers = answer["layers"].as_array().unwrap();
    assert_eq!(layers.iter().map(|l| l.as_array().unwrap().len()).collect::<Vec<_>>(), [144, 36, 36, 10]);
    // Flatten keeps the pooled maps' order: channels last.
    assert_eq!(layers[1], layers[2]);
    // A convnet's first layer has no pictures of weights: the page shows its feature maps.
    assert_eq!(playground.first_layer_pictures().unwrap(), (0, 0, vec![]));
}
