//! The `neurite` command as a user runs it.

mod common;

use std::process::{Command, Output};

fn neurite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurite")).args(args).env_remove("NEURITE_DATA").output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The lines that carry numbers, without the timings.
fn numbers(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("loss"))
        .map(|l| l.split(" - ").filter(|p| !p.ends_with('s') || p.contains("loss")).collect::<Vec<_>>().join(" - "))
        .map(|l| l.split_whitespace().filter(|w| !w.starts_with("fit_seconds")).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn train_on_the_bundled_digits_prints_summary_progress_and_the_test_line() {
    let out = neurite(&["train", "--dataset", "digits", "--epochs", "20", "--seed", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Total params: 3,760"), "{text}");
    assert!(text.contains("Epoch 20/20"), "{text}");
    let last = text.lines().last().unwrap();
    assert!(last.contains("test_loss=") && last.contains("test_accuracy="), "{last}");
    let acc: f64 = last.split("test_accuracy=").nth(1).unwrap().trim().parse().unwrap();
    assert!(acc > 0.85, "digits test accuracy {acc}");
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let args =
        ["train", "--dataset", "digits", "--epochs", "5", "--seed", "7", "--hidden", "16,16", "--activation", "relu"];
    let (a, b) = (neurite(&args), neurite(&args));
    assert!(a.status.success());
    assert_eq!(numbers(&stdout(&a)), numbers(&stdout(&b)));
    let c = neurite(&[
        "train",
        "--dataset",
        "digits",
        "--epochs",
        "5",
        "--seed",
        "8",
        "--hidden",
        "16,16",
        "--activation",
        "relu",
    ]);
    assert_ne!(numbers(&stdout(&a)), numbers(&stdout(&c)));
}

#[test]
fn a_corrupt_idx_file_is_a_clear_error_not_a_panic() {
    // Small synthetic IDX files: valid labels and test images, and training images whose
    // header promises 60,000 images of 28 x 28 while 1,000 bytes follow.
    let dir = common::temp_dir("corrupt");
    let write = |name: &str, dims: &[usize], data: &[u8]| {
        neurite::data::idx::write_idx(&dir.join(name), dims, data, true).unwrap();
    };
    write("train-labels-idx1-ubyte.gz", &[4], &[0, 1, 2, 3]);
    write("t10k-images-idx3-ubyte.gz", &[2, 28, 28], &[0; 2 * 784]);
    write("t10k-labels-idx1-ubyte.gz", &[2], &[4, 5]);
    let mut bytes = vec![0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28];
    bytes.extend_from_slice(&[7; 1000]);
    std::fs::write(dir.join("train-images-idx3-ubyte"), bytes).unwrap();
    let out = neurite(&["train", "--data", dir.to_str().unwrap(), "--epochs", "1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("train-images-idx3-ubyte") && err.contains("truncated"), "{err}");
    assert!(err.contains("60000 x 28 x 28 = 47040000 bytes of data but only 1000 follow"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A `neurite` run with no MNIST anywhere it looks: no NEURITE_DATA, a home and a working
/// directory of their own.
fn neurite_without_mnist(args: &[&str]) -> Output {
    let home = common::temp_dir("no-mnist-home");
    Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(args)
        .env_remove("NEURITE_DATA")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", &home)
        .current_dir(&home)
        .output()
        .unwrap()
}

#[test]
fn data_named_by_a_flag_that_cannot_be_used_is_an_error_that_says_how_to_get_it() {
    let out = neurite(&["train", "--dataset", "mnist", "--data", "/nonexistent/neurite", "--offline"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("--data /nonexistent/neurite: no such directory"), "{err}");
    assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
    let out = neurite_without_mnist(&["train", "--dataset", "mnist", "--offline"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("mnist was not found") && err.contains("pass --data DIR or set NEURITE_DATA"), "{err}");
}

#[test]
fn without_mnist_and_without_a_data_flag_it_falls_back_to_the_digits() {
    let out = neurite_without_mnist(&["train", "--offline", "--epochs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().filter(|l| l.contains("bundled 8x8 digits")).count(), 1, "{err}");
    assert!(stdout(&out).contains("digits: 1437 training"));
}

/// Each bad flag gets its own message and the documented exit code: 2 for a value the
/// argument parser cannot read (clap's convention), 1 for a value neurite cannot use.
#[test]
fn bad_flags_are_rejected_with_a_message() {
    for (args, code, message) in [
        (vec!["train", "--activation", "swish"], 2, "unknown activation \"swish\""),
        (vec!["train", "--optimizer", "lion"], 2, "unknown optimizer \"lion\""),
        (vec!["train", "--batch-size", "-1"], 2, "invalid value '-1' for '--batch-size"),
        (vec!["train", "--epochs", "ten"], 2, "invalid value 'ten' for '--epochs"),
        (vec!["train", "--hidden", "0"], 1, "--hidden: layer sizes must be at least 1"),
        (vec!["train", "--dataset", "digits", "--batch-size", "0"], 1, "batch_size must be at least 1"),
        (vec!["train", "--dataset", "digits", "--lr", "-1"], 1, "learning rate must be a positive number, got -1"),
        (vec!["train", "--dataset", "digits", "--lr=-1"], 1, "learning rate must be a positive number, got -1"),
        (
            vec!["train", "--dataset", "digits", "--validation-split", "1"],
            1,
            "validation_split must be in [0, 1), got 1",
        ),
    ] {
        let out = neurite(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: expected {message:?} in {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn zero_epochs_and_more_threads_than_cores_are_reported_plainly() {
    // No epochs trains nothing: an error, not the untrained model's scores with exit 0
    // (issue 26, defect 16).
    let out = neurite(&["train", "--dataset", "digits", "--epochs", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--epochs 0: a run of no epochs trains nothing"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("fit_seconds"), "{}", stdout(&out));

    let cores = neurite::train::Sequential::default_threads();
    let threads = (cores + 1).to_string();
    let out = neurite(&["train", "--dataset", "digits", "--epochs", "1", "--threads", &threads]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("--threads {threads} is more than the {cores} cores")), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("threads={threads} ")), "{}", stdout(&out));
}

#[test]
fn json_output_and_saved_models() {
    let dir = common::temp_dir("save");
    let model = dir.join("digits.safetensors");
    let out = neurite(&["train", "--dataset", "digits", "--epochs", "3", "--json", "--save", model.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["history"]["epochs"].as_array().unwrap().len(), 3);
    let acc = v["test_accuracy"].as_f64().unwrap();
    let mut loaded = neurite::io::load_model(&model).unwrap();
    loaded.compile(neurite::optim::Optimizer::adam(), neurite::nn::Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let (_, test) = neurite::data::Dataset::digits().unwrap();
    let again = loaded.evaluate_with(&test).unwrap();
    assert!((again.accuracy - acc).abs() < 1e-9);
    assert!(!dir.read_dir().unwrap().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
}

/// The notes' program on MNIST (when present): at least 0.965 test accuracy, as Keras'
/// 0.968 on the same program.
#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn mnist_seed_program_reaches_0_965_test_accuracy() {
    let mnist = common::mnist_dir();
    let out = neurite(&["train", "--data", mnist.to_str().unwrap(), "--seed", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Total params: 39,760"), "{text}");
    let last = text.lines().last().unwrap();
    let acc: f64 = last.split("test_accuracy=").nth(1).unwrap().trim().parse().unwrap();
    assert!(acc >= 0.965, "{last}");
}

/// `neurite bench` says what runs the arithmetic and how close to the measured peak the
/// products come; the products workload needs no data set.
#[test]
fn bench_reports_the_machine_its_peak_and_each_workloads_share_of_it() {
    let out = neurite(&["bench", "--workloads", "products", "--threads", "1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    let (machine, products) = (&lines[0], &lines[1]);
    assert!(!machine["cpu"].as_str().unwrap().is_empty(), "{text}");
    assert_eq!(machine["isa"], machine["detected_isa"], "{text}");
    let peak = machine["peak_gflops"].as_f64().unwrap();
    assert!(peak.is_finite() && peak > 0.0, "{text}");
    assert_eq!(products["workload"], "products");
    let (gflops, share) = (products["gflops"].as_f64().unwrap(), products["fraction_of_peak"].as_f64().unwrap());
    assert!((share - gflops / peak).abs() < 1e-9 && share > 0.0, "{text}");
}

#[test]
fn bench_runs_below_the_cpus_instruction_set_and_refuses_above_it() {
    use neurite::kernels::dispatch::{detected_isa, Isa};
    let out = neurite(&["bench", "--workloads", "products", "--no-peak", "--isa", "baseline", "--products", "gemm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("isa        baseline (this CPU: "), "{}", stdout(&out));
    if detected_isa() < Isa::Avx512 {
        let out = neurite(&["bench", "--workloads", "products", "--isa", "avx512"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("this CPU runs at most"), "{}", stderr(&out));
    }
    let out = neurite(&["bench", "--isa", "sse9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected baseline, avx2 or avx512"), "{}", stderr(&out));
}
