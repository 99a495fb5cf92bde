//! The pictures: every function writes a readable PNG (or SVG) of the expected size, refuses
//! what it cannot draw with a message that names it, and draws from any model and history.

#![cfg(feature = "plot")]

mod common;

use std::path::Path;

use neurite::data::Dataset;
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::plot;
use neurite::teach::{predicted_classes, ConfusionMatrix};
use neurite::train::{FitOptions, History, Metric, Sequential, Verbosity};
use neurite::Tensor;

/// Width and height of a PNG file, checking its signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let word = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn every_activation_gets_a_chart_and_the_overview_has_them_all() {
    let dir = common::temp_dir("activations");
    let written = plot::activation_charts(&dir).unwrap();
    // One chart per activation and the overview, in PNG and SVG.
    assert_eq!(written.len(), 2 * (Activation::ALL.len() + 1));
    assert_eq!(png_size(&dir.join("activation-softmax.png")), (640, 420));
    assert_eq!(png_size(&dir.join("activations.png")), (1200, 40 + 330 * 3));
    let svg = std::fs::read_to_string(dir.join("activation-sigmoid.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("sigmoid"), "{}", &svg[..100]);
    let err = plot::activation_chart(Activation::Tanh, &dir.join("tanh.jpg")).unwrap_err().to_string();
    assert!(err.contains("tanh.jpg") && err.contains(".png or .svg"), "{err}");
}

#[test]
fn a_trained_model_and_its_history_are_drawn() {
    let (train, test) = Dataset::digits().unwrap();
    let mut model = Sequential::with_seed(0);
    model.add(Dense::new(16).activation(Activation::Relu).input_shape(64)).unwrap();
    model.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
    model
        .compile(Optimizer::adam().learning_rate(0.01), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])
        .unwrap();
    let options = FitOptions::default().epochs(5).validation_split(0.2).verbose(Verbosity::Silent);
    let history = model.fit_with(&train, None, &options, &mut []).unwrap();
    let dir = common::temp_dir("model-pictures");

    plot::history_chart(&history, &dir.join("history.png")).unwrap();
    plot::history_chart(&history, &dir.join("history.svg")).unwrap();
    assert_eq!(png_size(&dir.join("history.png")), (1100, 440));
    // A history read back from its JSON (what `neurite plot history` draws) has the same
    // numbers, to serde_json's parsing, which may differ in the last bit of an f64.
    let back: History = serde_json::from_str(&serde_json::to_string(&history).unwrap()).unwrap();
    for name in ["loss", "accuracy", "val_loss", "val_accuracy"] {
        let (a, b) = (history.get(name), back.get(name));
        assert_eq!(a.len(), 5);
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-15 * x.abs()), "{name}: {a:?} {b:?}");
    }
    let err = plot::history_chart(&History::default(), &dir.join("h.png")).unwrap_err().to_string();
    assert!(err.contains("no epochs"), "{err}");

    plot::first_layer_weights(&model, (8, 8), &dir.join("weights.png")).unwrap();
    let (w, h) = png_size(&dir.join("weights.png"));
    assert!(w > 1000 && h > 100, "{w}x{h}");
    let err = plot::first_layer_weights(&model, (28, 28), &dir.join("w.png")).unwrap_err().to_string();
    assert!(err.contains("(64, 16)") && err.contains("28x28"), "{err}");

    let (x, _) = test.normalized_tensors();
    plot::layers_picture(
        &model,
        &x.to_vec()[..64],
        (8, 8),
        Some(usize::from(test.labels()[0])),
        &dir.join("layers.png"),
    )
    .unwrap();
    let activations = plot::layer_activations(&model, &x.to_vec()[..64]).unwrap();
    assert_eq!(activations.iter().map(|a| a.size()).collect::<Vec<_>>(), vec![16, 10]);

    let predicted = predicted_classes(&mut model, &test).unwrap();
    let wrong = plot::misclassified_grid(&test, &predicted, 20, &dir.join("errors.png")).unwrap();
    let actual: Vec<usize> = test.labels().iter().map(|&l| usize::from(l)).collect();
    let confusion = ConfusionMatrix::new(&actual, &predicted, 10).unwrap();
    assert_eq!(wrong, confusion.count() - (0..10).map(|c| confusion.get(c, c)).sum::<usize>());
    plot::confusion_chart(&confusion, &dir.join("confusion.png")).unwrap();
    assert_eq!(png_size(&dir.join("confusion.png")), (110 + 560 + 40, 100 + 560 + 40));
    let err = plot::misclassified_grid(&test, &predicted[1..], 20, &dir.join("e.png")).unwrap_err().to_string();
    assert!(err.contains("359 predictions for 360 examples"), "{err}");
}

#[test]
fn weight_images_need_pixels_by_units() {
    let dir = common::temp_dir("weight-shapes");
    let w = Tensor::zeros(&[10, 3]);
    let err = plot::weight_images(&w, (3, 3), &[], "t", &dir.join("w.png")).unwrap_err().to_string();
    assert!(err.contains("(10, 3)") && err.contains("3x3"), "{err}");
    // All-zero weights are black, not an error.
    plot::weight_images(&Tensor::zeros(&[9, 2]), (3, 3), &[], "zeros", &dir.join("z.png")).unwrap();
}

#[test]
fn a_convnets_filters_and_feature_maps_are_drawn_one_panel_each() {
    use neurite::nn::{AveragePooling2D, Conv2D, Flatten, GlobalAveragePooling2D, MaxPooling2D, Padding};
    let dir = common::temp_dir("convnet-pictures");
    let mut model = Sequential::with_seed(3);
    model.add(Conv2D::new(5, 3).activation(Activation::Relu).padding(Padding::Same).input_shape(&[10, 12, 3])).unwrap();
    model.add(MaxPooling2D::new(2)).unwrap();
    model.add(Conv2D::new(7, 3).activation(Activation::Relu)).unwrap();
    model.add(AveragePooling2D::new(2)).unwrap();
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(4).activation(Activation::Softmax)).unwrap();
    // Three input channels: one image per filter and channel; the second layer's by name.
    for ext in ["png", "svg"] {
        let path = dir.join(format!("filters.{ext}"));
        assert_eq!(plot::conv_filters(&model, None, &path).unwrap(), 5 * 3);
        assert!(path.is_file());
    }
    let svg = std::fs::read_to_string(dir.join("filters.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("conv2d"), "{}", &svg[..100]);
    assert_eq!(plot::conv_filters(&model, Some("conv2d_1"), &dir.join("f1.png")).unwrap(), 7 * 5);
    let err = plot::conv_filters(&model, Some("dense"), &dir.join("f.png")).unwrap_err().to_string();
    assert!(err.contains("no Conv2D layer named \"dense\"") && err.contains("conv2d, conv2d_1"), "{err}");
    // Every conv and pooling layer: 5 + 5 + 7 + 7 maps, in PNG and SVG.
    let image: Vec<f32> = (0..10 * 12 * 3).map(|i| (i % 17) as f32 / 16.0).collect();
    assert_eq!(plot::feature_maps(&model, &image, Some(2), &dir.join("maps.png")).unwrap(), 24);
    let (w, h) = png_size(&dir.join("maps.png"));
    assert!(w >= 820 && h > 200, "{w}x{h}");
    assert_eq!(plot::feature_maps(&model, &image, None, &dir.join("maps.svg")).unwrap(), 24);
    let err = plot::feature_maps(&model, &image[1..], None, &dir.join("m.png")).unwrap_err().to_string();
    assert!(err.contains("359"), "{err}");

    // One input channel: one filter image per filter; global pooling ends the maps.
    let mut grey = Sequential::with_seed(0);
    grey.add(Conv2D::new(6, 3).input_shape(&[8, 8, 1])).unwrap();
    grey.add(GlobalAveragePooling2D::new()).unwrap();
    grey.add(Dense::new(2).activation(Activation::Softmax)).unwrap();
    assert_eq!(plot::conv_filters(&grey, None, &dir.join("g.png")).unwrap(), 6);
    assert_eq!(plot::feature_maps(&grey, &[0.25; 64], None, &dir.join("gm.png")).unwrap(), 6);

    // A model of flat inputs has neither.
    let mut mlp = Sequential::with_seed(0);
    mlp.add(Dense::new(3).input_shape(4)).unwrap();
    let err = plot::feature_maps(&mlp, &[0.0; 4], None, &dir.join("x.png")).unwrap_err().to_string();
    assert!(err.contains("(None, 4)") && err.contains("not images"), "{err}");
    let err = plot::conv_filters(&mlp, None, &dir.join("x.png")).unwrap_err().to_string();
    assert!(err.contains("no Conv2D layer") && err.contains("Dense"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
