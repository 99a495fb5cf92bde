//! Convolutional networks from the shell (issue 27, points 3, 4, 7 and 8): `train` builds one
//! from `--layers`, the `keras-convnet` preset or Keras' own `to_json()`; `eval`, `predict`,
//! `summary`, checkpoints and `--resume` work on it; picture folders (grey or RGB) and picture
//! files feed it in its input shape; `plot` draws its filters and feature maps; and data of the
//! wrong shape is one clear error naming the layer and the shapes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A small convnet for the bundled 8x8 digits: 40 + 370 parameters.
const SMALL: &str = "conv:4:3:relu,maxpool:2,flatten,dense:10:softmax";

fn neurite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurite")).args(args).env_remove("NEURITE_DATA").output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = neurite(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// Runs a command that must fail with exit code 1 and returns its message.
fn fails(args: &[&str]) -> String {
    let out = neurite(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name).display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Width and height of a PNG file, checking its signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let word = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (word(16), word(20))
}

/// The small convnet trained on the digits for `epochs`, saved to `model`: train's JSON.
fn train_small(model: &Path, epochs: &str) -> Value {
    json(&[
        "train",
        "--dataset",
        "digits",
        "--layers",
        SMALL,
        "--epochs",
        epochs,
        "--batch-size",
        "32",
        "--lr",
        "0.01",
        "--threads",
        "2",
        "--save",
        s(model),
        "--json",
    ])
}

#[test]
fn a_digits_convnet_trains_and_eval_summary_and_predict_read_it() {
    let dir = common::temp_dir("convnet-digits");
    let model = dir.join("conv.safetensors");
    let trained = train_small(&model, "8");
    assert_eq!(trained["parameters"], 410);
    let accuracy = trained["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.85, "{trained}");

    // eval gives the numbers train gave, on the same test part.
    let evaluated = json(&["eval", "--model", s(&model), "--json", "--threads", "2"]);
    assert_eq!(evaluated["test_accuracy"], trained["test_accuracy"]);
    assert_eq!(evaluated["test_loss"], trained["test_loss"]);

    // summary: Keras' shapes and counts.
    let text = ok(&["summary", "--model", s(&model)]);
    for want in ["(None, 6, 6, 4)", "(None, 3, 3, 4)", "(None, 36)", "(None, 10)", "Total params: 410"] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    let summary = json(&["summary", "--model", s(&model), "--json"]);
    assert_eq!(summary["input_shape"], serde_json::json!([8, 8, 1]));
    assert_eq!(summary["parameters"], 410);

    // predict reads pictures into the model's (8, 8, 1), as for an MLP of the digits.
    let v = json(&["predict", "--model", s(&model), &fixture("seven.png"), &fixture("zero.jpg"), "--json"]);
    let predictions = v["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 2);
    for p in predictions {
        let probabilities = p["probabilities"].as_array().unwrap();
        assert_eq!(probabilities.len(), 10);
        let sum: f64 = probabilities.iter().map(|x| x.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{p}");
    }
    let text = ok(&["predict", "--model", s(&model), &fixture("seven.png")]);
    assert!(text.contains("seven.png: class "), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keras_own_json_of_a_convnet_trains_and_its_mnist_example_has_keras_summary() {
    let dir = common::temp_dir("convnet-keras");
    // Keras' to_json() of a small convnet for the 8x8 digits: same padding, average and
    // global average pooling; Keras counts 1,418 parameters.
    let model = dir.join("keras.safetensors");
    let out = json(&[
        "train",
        "--dataset",
        "digits",
        "--architecture",
        &fixture("keras_convnet_digits.json"),
        "--epochs",
        "2",
        "--threads",
        "2",
        "--save",
        s(&model),
        "--json",
    ]);
    assert_eq!(out["parameters"], 1418);
    let text = ok(&["summary", "--model", s(&model)]);
    for want in ["(None, 8, 8, 8)", "(None, 4, 4, 8)", "(None, 2, 2, 16)", "(None, 16)", "Total params: 1,418"] {
        assert!(text.contains(want), "{want} in\n{text}");
    }

    // Keras' MNIST convnet example, from its to_json() and from the preset: the same model,
    // with Keras' summary (shapes and 34,826 parameters). Built here without training.
    let from_json =
        neurite::io::keras::model_config_from_json(&std::fs::read_to_string(fixture("keras_convnet.json")).unwrap())
            .unwrap();
    let preset = neurite::train::ModelConfig::parse_layers(
        &[28, 28, 1],
        "keras-convnet",
        neurite::nn::Initializer::GlorotUniform,
    )
    .unwrap();
    let mut summaries = Vec::new();
    for (name, config) in [("json", from_json), ("preset", preset)] {
        let path = dir.join(format!("{name}.safetensors"));
        let built = neurite::train::Sequential::from_config(&config, 0).unwrap();
        neurite::io::save_model(&built, &path).unwrap();
        let text = ok(&["summary", "--model", s(&path)]);
        for want in [
            "(None, 26, 26, 32)",
            "(None, 13, 13, 32)",
            "(None, 11, 11, 64)",
            "(None, 5, 5, 64)",
            "(None, 1600)",
            "Total params: 34,826",
        ] {
            assert!(text.contains(want), "{name}: {want} in\n{text}");
        }
        // Keras named the JSON's layers after the models the script built before (dense_4):
        // the kinds, shapes and counts are compared.
        let rows =
            text.lines().filter(|l| l.contains("(None")).map(|l| l.split_whitespace().skip(1).collect::<String>());
        summaries.push(rows.collect::<Vec<_>>());
    }
    assert_eq!(summaries[0], summaries[1]);

    // Keras' MNIST convnet on the 8x8 digits: refused before training, naming the shapes.
    let err =
        fails(&["train", "--dataset", "digits", "--architecture", &fixture("keras_convnet.json"), "--epochs", "1"]);
    assert!(err.contains("28, 28, 1") && err.contains("8, 8, 1"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn plot_draws_a_convnets_filters_and_feature_maps() {
    let dir = common::temp_dir("convnet-plot");
    let model = dir.join("conv.safetensors");
    let two = "conv:4:3:relu:same,maxpool:2,conv:6:3:relu,avgpool:2,flatten,dense:10:softmax";
    ok(&["train", "--dataset", "digits", "--layers", two, "--epochs", "1", "--save", s(&model), "--json"]);
    let out = dir.join("pictures");
    // The first convolution's filters: one image per filter (one input channel).
    let text = ok(&["plot", "filters", s(&model), "--out", s(&out)]);
    assert!(text.contains("filters.png (4 filter images)"), "{text}");
    png_size(&out.join("filters.png"));
    // The second's: one per filter and input channel.
    let text = ok(&["plot", "filters", s(&model), "--layer", "conv2d_1", "--out", s(&out)]);
    assert!(text.contains("filters.png (24 filter images)"), "{text}");
    let err = fails(&["plot", "filters", s(&model), "--layer", "dense", "--out", s(&out)]);
    assert!(err.contains("no Conv2D layer named \"dense\"") && err.contains("conv2d, conv2d_1"), "{err}");
    // Every conv and pooling layer's maps for a test image: 4 + 4 + 6 + 6.
    let text = ok(&["plot", "feature-maps", s(&model), "--index", "3", "--out", s(&out)]);
    assert!(text.contains("feature_maps.png (20 feature maps)"), "{text}");
    let (w, h) = png_size(&out.join("feature_maps.png"));
    assert!(w >= 820 && h > 300, "{w}x{h}");
    // ... and for a picture file, read as predict reads it.
    let text = ok(&["plot", "feature-maps", s(&model), "--image", &fixture("seven.png"), "--out", s(&out)]);
    assert!(text.contains("(20 feature maps)"), "{text}");
    // plot weights and plot layers of a convnet draw the same pictures.
    assert!(ok(&["plot", "weights", s(&model), "--out", s(&out)]).contains("(4 filter images)"));
    assert!(ok(&["plot", "layers", s(&model), "--out", s(&out)]).contains("(20 feature maps)"));

    // train --plot draws them for a convnet too.
    let run = dir.join("run");
    let text = ok(&["train", "--dataset", "digits", "--layers", SMALL, "--epochs", "1", "--plot", s(&run)]);
    for picture in ["history.png", "filters.png", "feature_maps.png", "errors.png", "confusion.png"] {
        assert!(run.join(picture).is_file(), "{picture}: {text}");
    }

    // An MLP has no feature maps or filters.
    let mlp = dir.join("mlp.safetensors");
    ok(&["train", "--dataset", "digits", "--epochs", "1", "--save", s(&mlp), "--json"]);
    let err = fails(&["plot", "feature-maps", s(&mlp), "--out", s(&out)]);
    assert!(err.contains("(None, 64)") && err.contains("not images"), "{err}");
    let err = fails(&["plot", "filters", s(&mlp), "--out", s(&out)]);
    assert!(err.contains("no Conv2D layer"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A PNG of `side x side` RGB pixels around `colour`, with some noise.
fn rgb_picture(path: &Path, side: u32, colour: [u8; 3], seed: usize) {
    let mut state = seed as u64 * 2_654_435_761 + 1;
    let mut noise = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 59) as u8 * 3
    };
    let pixels: Vec<u8> = (0..side * side).flat_map(|_| colour.map(|c| c.saturating_add(noise()))).collect();
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, side, side);
    encoder.set_color(png::ColorType::Rgb);
    encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// `dir/red/*.png` and `dir/blue/*.png`, `n` of each, of several sizes; red and blue of about
/// the same grey level, so that only the colour tells them apart.
fn rgb_folder(dir: &Path, n: usize, seed: usize) -> PathBuf {
    for (class, colour) in [("red", [200u8, 40, 40]), ("blue", [40, 40, 200])] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..n {
            rgb_picture(&dir.join(class).join(format!("{i}.png")), 10 + (i % 3) as u32 * 4, colour, seed + i);
        }
    }
    dir.to_path_buf()
}

#[test]
fn a_convnet_trained_on_rgb_pictures_predicts_an_rgb_picture() {
    let dir = common::temp_dir("convnet-rgb");
    let train = rgb_folder(&dir.join("train"), 12, 0);
    let test = rgb_folder(&dir.join("test"), 4, 100);
    let model = dir.join("rgb.safetensors");
    let out = json(&[
        "train",
        "--images",
        s(&train),
        "--test-images",
        s(&test),
        "--color",
        "rgb",
        "--image-size",
        "8x8",
        "--layers",
        "conv:8:3:relu,globalavgpool,dense:2:softmax",
        "--epochs",
        "30",
        "--batch-size",
        "8",
        "--lr",
        "0.02",
        "--save",
        s(&model),
        "--json",
    ]);
    // 3x3x3x8 + 8 and 8x2 + 2: three channels in.
    assert_eq!(out["parameters"], 3 * 3 * 3 * 8 + 8 + 8 * 2 + 2);
    assert_eq!(out["test_accuracy"].as_f64(), Some(1.0), "{out}");
    let summary = json(&["summary", "--model", s(&model), "--json"]);
    assert_eq!(summary["input_shape"], serde_json::json!([8, 8, 3]));
    let text = ok(&["predict", "--model", s(&model), s(&test.join("red/1.png")), s(&test.join("blue/2.png"))]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("red/1.png: red (probabilities"), "{text}");
    assert!(lines[1].contains("blue/2.png: blue (probabilities"), "{text}");
    // A grey picture is read in the model's colour, as for an MLP of pictures.
    ok(&["predict", "--model", s(&model), &fixture("seven.png")]);
    let evaluated = json(&["eval", "--model", s(&model), "--images", s(&test), "--json"]);
    assert_eq!(evaluated["test_accuracy"].as_f64(), Some(1.0));
    let text = ok(&["plot", "feature-maps", s(&model), "--image", s(&test.join("red/0.png")), "--out", s(&dir)]);
    assert!(text.contains("(8 feature maps)"), "{text}");
    assert!(ok(&["plot", "filters", s(&model), "--out", s(&dir)]).contains("(24 filter images)"));
    let err = fails(&["plot", "feature-maps", s(&model), "--out", s(&dir)]);
    assert!(err.contains("--image FILE"), "{err}");

    // The same folder read in grey does not fit the RGB model: one message with both shapes.
    let err =
        fails(&["train", "--images", s(&train), "--image-size", "8x8", "--init-from", s(&model), "--epochs", "1"]);
    assert!(err.contains("(None, 8, 8, 3)") && err.contains("(None, 8, 8, 1)") && err.contains("conv2d"), "{err}");

    // The same folder in grey trains a convnet of (8, 8, 1), which reads a colour picture in grey.
    let grey = dir.join("grey.safetensors");
    json(&[
        "train",
        "--images",
        s(&train),
        "--image-size",
        "8x8",
        "--layers",
        "conv:4:3,globalavgpool,dense:2:softmax",
        "--epochs",
        "2",
        "--save",
        s(&grey),
        "--json",
    ]);
    assert_eq!(json(&["summary", "--model", s(&grey), "--json"])["input_shape"], serde_json::json!([8, 8, 1]));
    let text = ok(&["predict", "--model", s(&grey), s(&test.join("red/1.png"))]);
    assert!(text.contains("red/1.png: "), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flat_rows_for_a_convnet_are_one_clear_error() {
    let dir = common::temp_dir("convnet-rows");
    let model = dir.join("conv.safetensors");
    train_small(&model, "1");
    // A table of 64 feature columns: as many values as the 8x8 images, but rows.
    let mut csv = (0..64).map(|i| format!("f{i}")).collect::<Vec<_>>().join(",") + ",label\n";
    for r in 0..20 {
        csv += &((0..64).map(|i| ((r * 7 + i) % 17).to_string()).collect::<Vec<_>>().join(","));
        csv += &format!(",{}\n", r % 10);
    }
    let table = dir.join("rows.csv");
    std::fs::write(&table, csv).unwrap();
    let err = fails(&["train", "--csv", s(&table), "--target", "label", "--init-from", s(&model), "--epochs", "1"]);
    assert!(err.contains("conv2d") && err.contains("(None, 8, 8, 1)") && err.contains("rows"), "{err}");
    let err = fails(&["train", "--csv", s(&table), "--target", "label", "--layers", SMALL, "--epochs", "1"]);
    assert!(err.contains("conv2d") && err.contains("rows of 64 values"), "{err}");
    let err = fails(&["predict", "--model", s(&model), "--csv", s(&table)]);
    assert!(err.contains("not trained on a table"), "{err}");

    // A convnet of colour images with no picture size in its file (built, not trained on a
    // folder): predict cannot know how to read a picture for it, and says which shape it takes.
    let mut rgb = neurite::train::Sequential::with_seed(0);
    rgb.add(neurite::nn::Conv2D::new(2, 3).input_shape(&[6, 6, 3])).unwrap();
    rgb.add(neurite::nn::GlobalAveragePooling2D::new()).unwrap();
    rgb.add(neurite::nn::Dense::new(2).activation(neurite::nn::Activation::Softmax)).unwrap();
    let built = dir.join("rgb.safetensors");
    neurite::io::save_model(&rgb, &built).unwrap();
    let err = fails(&["predict", "--model", s(&built), &fixture("seven.png")]);
    assert!(err.contains("conv2d") && err.contains("(None, 6, 6, 3)"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The parameters of a saved model, end to end.
fn params(path: &Path) -> Vec<f32> {
    neurite::io::load_model(path).unwrap().params().snapshot().unwrap()
}

#[test]
fn a_convnet_run_killed_at_random_moments_resumes_to_the_same_bits() {
    let dir = common::temp_dir("convnet-resume");
    let run = [
        "train",
        "--dataset",
        "digits",
        "--layers",
        "conv:6:3:relu:same,maxpool:2,flatten,dropout:0.2,dense:10:softmax",
        "--epochs",
        "12",
        "--batch-size",
        "16",
        "--threads",
        "2",
        "--optimizer",
        "adam",
        "--json",
    ];
    let want_path = dir.join("reference.safetensors");
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(run)
        .args(["--save", s(&want_path)])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let duration = started.elapsed();
    let want = params(&want_path);
    let (ckpt, save) = (dir.join("ckpt"), dir.join("resumed.safetensors"));
    let mut rng = neurite::Rng::new(27);
    let (mut kills, mut after_checkpoint) = (0, 0);
    loop {
        let mut c = Command::new(env!("CARGO_BIN_EXE_neurite"));
        if ckpt.join("arguments.json").exists() || ckpt.join(neurite::io::CHECKPOINT_FILE).exists() {
            c.args(["train", "--resume", s(&ckpt), "--save", s(&save), "--json"]);
        } else {
            c.args(run).args(["--checkpoint-dir", s(&ckpt), "--checkpoint-every", "10", "--save", s(&save)]);
        }
        let mut child = c.env_remove("NEURITE_DATA").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        if kills < 5 {
            let millis = duration.as_millis() as u64 * 2 / 3;
            std::thread::sleep(Duration::from_millis(10 + rng.below(millis.max(1))));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                after_checkpoint += usize::from(ckpt.join(neurite::io::CHECKPOINT_FILE).exists());
                continue;
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        break;
    }
    eprintln!("{kills} kills ({after_checkpoint} once a checkpoint was written) in a run of {duration:?}");
    assert!(kills > 0, "the run ended before the first kill");
    assert_eq!(params(&save), want, "after {kills} kills");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn an_mnist_convnet_trains_evaluates_predicts_and_draws() {
    let dir = common::temp_dir("convnet-mnist");
    let model = dir.join("mnist-conv.safetensors");
    let data = common::mnist_dir();
    // One epoch of a small convnet (8 filters): a few seconds in the dev profile.
    let trained = json(&[
        "train",
        "--data",
        s(&data),
        "--layers",
        "conv:8:3:relu,maxpool:2,flatten,dense:10:softmax",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--threads",
        "2",
        "--save",
        s(&model),
        "--json",
    ]);
    let accuracy = trained["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.95, "{trained}");
    let evaluated = json(&["eval", "--model", s(&model), "--data", s(&data), "--json", "--threads", "2"]);
    assert_eq!(evaluated["test_accuracy"], trained["test_accuracy"]);
    let text = ok(&["summary", "--model", s(&model)]);
    assert!(text.contains("(None, 26, 26, 8)") && text.contains("(None, 13, 13, 8)"), "{text}");
    let v = json(&[
        "predict",
        "--model",
        s(&model),
        &fixture("seven.png"),
        &fixture("one_rgba.png"),
        &fixture("zero.jpg"),
        "--json",
    ]);
    let classes: Vec<u64> = v["predictions"].as_array().unwrap().iter().map(|p| p["class"].as_u64().unwrap()).collect();
    assert_eq!(classes, [7, 1, 0]);
    let out = dir.join("pictures");
    let text = ok(&["plot", "feature-maps", s(&model), "--data", s(&data), "--out", s(&out)]);
    assert!(text.contains("(16 feature maps)"), "{text}");
    assert!(ok(&["plot", "filters", s(&model), "--out", s(&out)]).contains("(8 filter images)"));
    std::fs::remove_dir_all(&dir).ok();
}
