//! `neurite perceptron`, `neurite logistic`, `neurite plot` and `neurite train --plot` as a
//! user runs them.

mod common;

use std::process::{Command, Output};

fn neurite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurite")).args(args).env_remove("NEURITE_DATA").output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn perceptron_prints_errors_per_epoch_and_the_learned_truth_table() {
    let out = neurite(&["perceptron", "--gate", "and"]);
    assert!(out.status.success());
    let text = stdout(&out);
    // The notes' rule from zero weights, examples in order: 2, 3, 3, then no error.
    assert!(text.contains("epoch   1: 2 misclassified\nepoch   2: 3 misclassified\nepoch   3: 3 misclassified\nepoch   4: 0 misclassified"), "{text}");
    assert!(text.contains("learned truth table:\nx1 x2 | y\n 0  0 | 0\n 0  1 | 0\n 1  0 | 0\n 1  1 | 1\n"), "{text}");
    assert!(text.contains("AND learned: no misclassification from epoch 4 on"), "{text}");

    let text = stdout(&neurite(&["perceptron", "--gate", "xor", "--epochs", "30"]));
    assert!(text.contains("epoch  30: 4 misclassified") && !text.contains(": 0 misclassified"), "{text}");
    assert!(text.contains("XOR not learned"), "{text}");
    // The two ways that work: AND(NAND, OR) and a 2-2-1 network.
    let xor_table = "x1 x2 | y\n 0  0 | 0\n 0  1 | 1\n 1  0 | 1\n 1  1 | 0\n";
    assert_eq!(text.matches(xor_table).count(), 2, "{text}");

    let bad = neurite(&["perceptron", "--gate", "nor"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("and, or, nand or xor"));
    let bad = neurite(&["perceptron", "--lr", "-1"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("learning rate must be a positive number, got -1"));
}

#[test]
fn logistic_on_the_bundled_digits_reports_scores_the_baseline_and_pictures() {
    // No MNIST where the command looks (the tests run in cli/, NEURITE_DATA removed): the
    // bundled digits, said so.
    let dir = common::temp_dir("logistic");
    let d = dir.to_str().unwrap();
    let out = neurite(&["logistic", "--epochs", "30", "--plot", d]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    for line in [
        "one pixel:",
        "all pixels and bias: accuracy=",
        "never a 5:          accuracy=0.8667 precision=0.0000 recall=0.0000",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(text.lines().last().unwrap().starts_with("test_accuracy="), "{text}");
    for f in ["history.png", "history.svg", "weights.png"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let out = neurite(&["logistic", "--one-vs-all", "--epochs", "20", "--plot", d]);
    let text = stdout(&out);
    let acc: f64 = text.lines().last().unwrap().trim_start_matches("test_accuracy=").parse().unwrap();
    assert!(acc > 0.9, "{text}");
    for f in ["layers.png", "errors.png", "confusion.png"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let bad = neurite(&["logistic", "--digit", "12"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("digit 12 is not one of the 10 classes"));
}

#[test]
fn train_writes_history_and_pictures_that_plot_draws_again() {
    let dir = common::temp_dir("train-plot");
    let (model, history, pictures) = (dir.join("m.safetensors"), dir.join("h.json"), dir.join("pictures"));
    let args = [
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "5",
        "--validation-split",
        "0.1",
        "--save",
        model.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
        "--plot",
        pictures.to_str().unwrap(),
    ];
    let out = neurite(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["history.png", "history.svg", "weights.png", "layers.png", "errors.png", "confusion.png"] {
        assert!(pictures.join(f).is_file(), "{f}");
    }
    let again = dir.join("again");
    let a = again.to_str().unwrap();
    for args in [
        vec!["plot", "activations", "--out", a],
        vec!["plot", "history", history.to_str().unwrap(), "--out", a],
        vec!["plot", "weights", model.to_str().unwrap(), "--out", a],
        vec!["plot", "layers", model.to_str().unwrap(), "--index", "3", "--out", a],
        vec!["plot", "errors", model.to_str().unwrap(), "--out", a],
    ] {
        let out = neurite(&args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for f in ["activations.png", "activation-relu.svg", "history.png", "weights.png", "layers.png", "errors.png"] {
        assert!(again.join(f).is_file(), "{f}");
    }
    let bad = neurite(&["plot", "layers", model.to_str().unwrap(), "--index", "999", "--out", a]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--index 999 is past the 360 test images"));
    let bad = neurite(&["plot", "history", model.to_str().unwrap(), "--out", a]);
    assert_eq!(bad.status.code(), Some(1));
    let bad = neurite(&["train", "--dataset", "digits", "--json", "--plot", a]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--plot and --json"));
}

/// MNIST: about 2 s (two five-epoch fits and one ten-model fit).
#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn logistic_on_mnist_finds_fives_and_one_vs_all_passes_ninety_percent() {
    let data = common::mnist_dir();
    let text = stdout(&neurite(&["logistic", "--data", data.to_str().unwrap()]));
    assert!(text.contains("never a 5:          accuracy=0.9108 precision=0.0000 recall=0.0000"), "{text}");
    let text = stdout(&neurite(&["logistic", "--one-vs-all", "--data", data.to_str().unwrap()]));
    let acc: f64 = text.lines().last().unwrap().trim_start_matches("test_accuracy=").parse().unwrap();
    assert!(acc >= 0.90, "{text}");
}
