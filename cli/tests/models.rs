//! The model commands as a user runs them: `eval`, `summary`, `predict`, `export`, `import`
//! and `train --init-from`, on files neurite wrote and on files the other frameworks wrote
//! (`tests/fixtures/`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

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

/// test_loss and test_accuracy of a JSON result.
fn numbers(v: &Value) -> (f64, f64) {
    (v["test_loss"].as_f64().unwrap(), v["test_accuracy"].as_f64().unwrap())
}

#[test]
fn eval_prints_the_numbers_train_printed_and_every_format_keeps_them() {
    let dir = common::temp_dir("models-eval");
    let model = dir.join("digits.safetensors");
    let trained = json(&["train", "--dataset", "digits", "--epochs", "5", "--save", s(&model), "--json"]);
    let evaluated = json(&["eval", "--model", s(&model), "--json", "--threads", "1"]);
    assert_eq!(numbers(&evaluated), numbers(&trained));
    // The text form ends with the same line train ends with.
    let train_line = ok(&["train", "--dataset", "digits", "--epochs", "5"]).lines().last().unwrap().to_string();
    let eval_text = ok(&["eval", "--model", s(&model)]);
    assert!(eval_text.contains("Total params: 3,760"), "{eval_text}");
    let eval_line = eval_text.lines().last().unwrap();
    assert!(train_line.ends_with(eval_line), "{train_line} / {eval_line}");

    // Export, import back, evaluate: the same numbers from each format.
    let (onnx, pt, npz) = (dir.join("m.onnx"), dir.join("m_torch.safetensors"), dir.join("m.npz"));
    let exported =
        json(&["export", "--model", s(&model), "--onnx", s(&onnx), "--pytorch", s(&pt), "--npz", s(&npz), "--json"]);
    assert_eq!(
        exported["torch_modules"],
        "nn.Sequential(nn.Linear(64, 50), nn.Sigmoid(), nn.Linear(50, 10), nn.Softmax(dim=-1))"
    );
    for foreign in [&onnx, &pt, &npz] {
        let back = dir.join("back.safetensors");
        ok(&["import", s(foreign), "--activation", "sigmoid", "--output", "softmax", "--out", s(&back)]);
        assert_eq!(
            numbers(&json(&["eval", "--model", s(&back), "--json"])),
            numbers(&trained),
            "{}",
            foreign.display()
        );
    }
    // The book's arrays evaluate directly, without an import.
    let direct = json(&[
        "eval",
        "--weights",
        s(&npz),
        "--activation",
        "sigmoid",
        "--output",
        "softmax",
        "--dataset",
        "digits",
        "--json",
    ]);
    assert_eq!(numbers(&direct), numbers(&trained));
}

#[test]
fn summary_shows_the_table_and_the_training_record() {
    let dir = common::temp_dir("models-summary");
    let model = dir.join("m.safetensors");
    ok(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--activation",
        "relu",
        "--save",
        s(&model),
    ]);
    let text = ok(&["summary", "--model", s(&model)]);
    assert!(text.contains("dense (Dense)") && text.contains("relu") && text.contains("Total params: 1,210"), "{text}");
    assert!(
        text.contains("Compiled: loss sparse_categorical_crossentropy, optimizer adam (lr 0.001) after 90 steps"),
        "{text}"
    );
    let v = json(&["summary", "--model", s(&model), "--json"]);
    assert_eq!(v["parameters"], 1210);
    assert_eq!(v["iterations"], 90);
    assert_eq!(v["architecture"]["layers"][0]["config"]["activation"]["name"], "relu");
}

#[test]
fn training_continues_from_a_file_with_its_optimiser_state() {
    let dir = common::temp_dir("models-resume");
    let (first, second) = (dir.join("1.safetensors"), dir.join("2.safetensors"));
    ok(&["train", "--dataset", "digits", "--epochs", "2", "--save", s(&first)]);
    let text = ok(&["train", "--dataset", "digits", "--epochs", "1", "--init-from", s(&first), "--save", s(&second)]);
    assert!(text.contains("adam (lr 0.001) after 90 steps"), "{text}");
    assert_eq!(json(&["summary", "--model", s(&second), "--json"])["iterations"], 135);
    // The same resumption twice gives the same numbers.
    let again = ok(&["train", "--dataset", "digits", "--epochs", "1", "--init-from", s(&first)]);
    let last = |t: &str| t.lines().last().unwrap().split_once("test_loss").unwrap().1.to_string();
    assert_eq!(last(&text), last(&again));
    // A file without optimiser state (an import) starts a new optimiser from the flags.
    let npz = dir.join("m.npz");
    ok(&["export", "--model", s(&first), "--npz", s(&npz)]);
    let text = ok(&["train", "--dataset", "digits", "--epochs", "1", "--init-from", s(&npz), "--optimizer", "sgd"]);
    assert!(text.contains("with a new sgd (lr 0.01)"), "{text}");
    // A model for other data is refused before training.
    let err = fails(&["train", "--dataset", "digits", "--init-from", &fixture("torch_dynamo.onnx")]);
    assert!(
        err.contains("the model takes 4 inputs and gives 2 outputs; digits has 64 features and 10 classes"),
        "{err}"
    );
}

#[test]
fn files_from_pytorch_numpy_and_onnx_import_and_bad_ones_are_clear_errors() {
    let dir = common::temp_dir("models-import");
    let out = dir.join("m.safetensors");
    for name in ["torch_mlp.pt", "torch_mlp.safetensors", "numpy_net.npz", "torch_dynamo.onnx", "keras_style.onnx"] {
        let v = json(&[
            "import",
            &fixture(name),
            "--activation",
            "leaky_relu(0.2)",
            "--output",
            "softmax",
            "--out",
            s(&out),
            "--json",
        ]);
        assert_eq!(v["parameters"], 4 * 3 + 3 + 3 * 2 + 2, "{name}");
        let summary = ok(&["summary", "--model", s(&out)]);
        assert!(summary.contains("leaky_relu(0.2)") && summary.contains("softmax"), "{name}: {summary}");
    }
    let cases = [
        ("torch_mlp.pt", &["--activation", "relu"][..], "does not record the activations"),
        ("torch_evil.pt", &["--activation", "relu", "--output", "softmax"][..], "refuses the global posix.system"),
        (
            "torch_whole_model.pt",
            &["--activation", "relu", "--output", "softmax"][..],
            "torch.nn.modules.container.Sequential",
        ),
        ("conv.onnx", &[][..], "the graph ends on a channels-first image"),
        ("fortran.npy", &[][..], "a .npy file holds one array"),
        ("seven.png", &[][..], "not a model file neurite reads"),
    ];
    for (name, flags, want) in cases {
        let path = fixture(name);
        let mut args = vec!["import", &path];
        args.extend_from_slice(flags);
        let o = s(&out).to_string();
        args.extend_from_slice(&["--out", &o]);
        let err = fails(&args);
        assert!(err.contains(want) && err.contains(name), "{name}: {err}");
    }
    // A truncated model file.
    let model = dir.join("cut.safetensors");
    ok(&["train", "--dataset", "digits", "--epochs", "1", "--save", s(&model)]);
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() - 100]).unwrap();
    let err = fails(&["eval", "--model", s(&model)]);
    assert!(err.contains("cut.safetensors"), "{err}");
}

#[test]
fn predict_refuses_what_is_not_a_picture_or_not_an_image_model() {
    let dir = common::temp_dir("models-predict");
    let model = dir.join("digits.safetensors");
    ok(&["train", "--dataset", "digits", "--epochs", "5", "--save", s(&model)]);
    // An 8x8 model takes pictures too: each is made 8x8 the same way.
    let v = json(&["predict", "--model", s(&model), &fixture("seven.png"), "--json"]);
    let p = v["predictions"][0]["probabilities"].as_array().unwrap();
    assert_eq!(p.len(), 10);
    assert!((p.iter().map(|x| x.as_f64().unwrap()).sum::<f64>() - 1.0).abs() < 1e-5);
    let err = fails(&["predict", "--model", s(&model), &fixture("expected.npz")]);
    assert!(err.contains("not a PNG or JPEG picture"), "{err}");
    let err = fails(&["predict", "--model", s(&model), &fixture("seven.png"), "--invert", "no"]);
    assert!(err.contains("no digit found"), "{err}");
    // A model of 3 inputs does not take pictures.
    let npz = dir.join("three.npz");
    let arrays =
        vec![("W1".to_string(), neurite::Tensor::zeros(&[3, 2])), ("b1".to_string(), neurite::Tensor::zeros(&[2]))];
    neurite::io::npy::save_npz(&npz, &arrays).unwrap();
    let err =
        fails(&["predict", "--weights", s(&npz), "--activation", "relu", "--output", "softmax", &fixture("seven.png")]);
    assert!(err.contains("takes 3 features, which is not a square picture"), "{err}");
}

#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn an_mnist_model_reads_drawn_digits() {
    let dir = common::temp_dir("models-mnist");
    let model = dir.join("mnist.safetensors");
    let data = common::mnist_dir();
    ok(&["train", "--data", s(&data), "--epochs", "1", "--save", s(&model)]);
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
    let text = ok(&["predict", "--model", s(&model), &fixture("seven.png")]);
    assert!(text.contains("seven.png: class 7 (probabilities 0:"), "{text}");
}

#[test]
fn any_stack_of_layers_trains_from_the_shell_and_its_files_work_everywhere() {
    // --layers: the compact description; the model file, summary, eval, export and import
    // all take the batch normalisation and dropout it has.
    let dir = common::temp_dir("layers-flag");
    let model = dir.join("m.safetensors");
    let spec = "dense:32:relu,batchnorm,dropout:0.2,dense:10:softmax";
    let out = ok(&["train", "--dataset", "digits", "--layers", spec, "--epochs", "3", "--save", s(&model)]);
    let trained: f64 = out.rsplit("test_accuracy=").next().unwrap().trim().parse().unwrap();
    assert!(trained > 0.8, "{out}");
    let summary = ok(&["summary", "--model", s(&model)]);
    assert!(
        summary.contains("batch_normalization (BatchNormalization)")
            && summary.contains("Non-trainable params: 64 (256.00 B)"),
        "{summary}"
    );
    let eval = ok(&["eval", "--model", s(&model), "--dataset", "digits"]);
    assert!(eval.contains(&format!("test_accuracy={trained:.4}")), "{eval}\n{out}");
    let (onnx, torch) = (dir.join("m.onnx"), dir.join("m_torch.safetensors"));
    ok(&["export", "--model", s(&model), "--onnx", s(&onnx), "--pytorch", s(&torch)]);
    for (file, extra) in [(&onnx, vec![]), (&torch, vec!["--activation", "relu", "--output", "softmax"])] {
        let back = dir.join(format!("back-{}.safetensors", file.file_name().unwrap().to_string_lossy()));
        let mut args = vec!["import", s(file), "--out", s(&back)];
        args.extend(extra);
        ok(&args);
        let again = ok(&["eval", "--model", s(&back), "--dataset", "digits"]);
        assert!(again.contains(&format!("test_accuracy={trained:.4}")), "{file:?}: {again}");
    }
    // A Keras architecture whose input is not the data's is refused before training.
    let err = fails(&["train", "--dataset", "digits", "--architecture", &fixture("keras_mlp_bn.json")]);
    assert!(
        err.contains("takes examples of shape (None, 784), the data has examples of shape (None, 8, 8, 1)"),
        "{err}"
    );
    let err = fails(&["train", "--dataset", "digits", "--layers", "dense:32:relu,dropout:1.5,dense:10:softmax"]);
    assert!(err.contains("rate must be in [0, 1), got 1.5"), "{err}");
    let err = fails(&["train", "--dataset", "digits", "--layers", "dense:32:relu,dense:7:softmax"]);
    assert!(err.contains("the last layer has 7 units, the data needs 10 outputs"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_convnet_goes_to_onnx_and_pytorch_and_back_from_the_shell() {
    // Issue 27, point 6: a convnet trained on the 8x8 digits, exported to ONNX and to a
    // PyTorch state_dict, imported back (no flags: neurite's state_dict records its
    // architecture), evaluates to the same numbers.
    let dir = common::temp_dir("convnet-exchange");
    let model = dir.join("conv.safetensors");
    let spec = "conv:4:3:relu,maxpool:2,flatten,dense:10:softmax";
    ok(&["train", "--dataset", "digits", "--layers", spec, "--epochs", "2", "--threads", "1", "--save", s(&model)]);
    let trained = json(&["eval", "--model", s(&model), "--dataset", "digits", "--threads", "1", "--json"]);
    let (onnx, torch) = (dir.join("conv.onnx"), dir.join("conv_torch.safetensors"));
    let written = json(&["export", "--model", s(&model), "--onnx", s(&onnx), "--pytorch", s(&torch), "--json"]);
    assert_eq!(
        written["torch_modules"],
        "nn.Sequential(nn.Conv2d(1, 4, (3, 3), stride=(1, 1)), nn.ReLU(), nn.MaxPool2d((2, 2), stride=(2, 2)), \
         nn.Flatten(), nn.Linear(36, 10), nn.Softmax(dim=-1))"
    );
    // A .pt path gets the zip torch.save writes (torch.load(weights_only=True) reads it:
    // scripts/conv_interop_fixtures.py --check-export), with the architecture too.
    let pt = dir.join("conv.pt");
    ok(&["export", "--model", s(&model), "--pytorch", s(&pt)]);
    assert!(std::fs::read(&pt).unwrap().starts_with(b"PK"));
    for file in [&onnx, &torch, &pt] {
        let back = dir.join(format!("back-{}.safetensors", file.file_name().unwrap().to_string_lossy()));
        let imported = json(&["import", s(file), "--out", s(&back), "--json"]);
        assert_eq!(imported["parameters"], 4 * 9 + 4 + 36 * 10 + 10, "{file:?}");
        let again = json(&["eval", "--model", s(&back), "--dataset", "digits", "--threads", "1", "--json"]);
        let ((l0, a0), (l1, a1)) = (numbers(&trained), numbers(&again));
        assert_eq!(a1, a0, "{file:?}");
        assert!((l1 - l0).abs() < 1e-6, "{file:?}: loss {l1} against {l0}");
    }
    // A convnet's state_dict that torch.save wrote does not record its architecture: --layers
    // and --input-shape give it (tests/conv_interop.rs checks its outputs against PyTorch's).
    let pt = fixture("conv_interop/a_state_dict.pt");
    let back = dir.join("from_torch.safetensors");
    let spec = "conv:4:3:relu,maxpool:2,conv:6:3:relu:same,avgpool:2,flatten,dense:5";
    let imported = json(&["import", &pt, "--layers", spec, "--input-shape", "12,10,1", "--out", s(&back), "--json"]);
    assert_eq!(imported["parameters"], (4 * 9 + 4) + (6 * 4 * 9 + 6) + (24 * 5 + 5));
    let err = fails(&["import", &pt, "--layers", spec, "--input-shape", "14,10,1", "--out", s(&back)]);
    assert!(err.contains("the architecture describes 447 parameter values, the state_dict holds 387"), "{err}");
    // As many values in other shapes: the first tensor that differs is named.
    let other = "conv:4:1x9:relu,maxpool:2,conv:6:3:relu:same,avgpool:2,flatten,dense:5";
    let err = fails(&["import", &pt, "--layers", other, "--input-shape", "8,16,1", "--out", s(&back)]);
    assert!(
        err.contains("state_dict key \"0.weight\" has shape (4, 1, 3, 3); layer conv2d's weight is (4, 1, 1, 9)"),
        "{err}"
    );
    let err = fails(&["import", &pt, "--activation", "relu", "--output", "linear", "--out", s(&back)]);
    assert!(err.contains("a Conv2d weight") && err.contains("--layers"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
