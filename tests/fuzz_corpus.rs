//! The fuzzers' corpora (`fuzz/corpus/<target>/`), replayed on the stable toolchain: every
//! input the fuzzers kept, and every one that once crashed a reader (`fuzz/regressions/`),
//! goes through its reader again. None may panic; each is an error or a value.
//!
//! Each reader must also accept exactly as many inputs as it did when the counts below were
//! recorded: most inputs are mutations that a reader must refuse, a few are valid files. A
//! reader that starts accepting garbage (a check dropped) or refusing good files (a check too
//! strict) changes its count and fails here, naming the inputs it now accepts.
//!
//! Updating the counts: when a corpus gains or loses files (a fuzzing run, a new regression) or
//! a reader's rules change on purpose, run `cargo test --test fuzz_corpus -- --nocapture`; each
//! target prints `<target>: <n> inputs, <k> read as valid`. Look at what changed (the failure
//! lists the accepted files), and if it is right, write the new `(inputs, accepted)` pair into
//! that target's test below, saying why in the commit message.

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(root.join(kind).join(target)).ok())
        .flat_map(|dir| dir.flatten().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `read` on every input of `target`, counting the ones it accepted, and checks that
/// there are `expected.0` inputs of which `read` accepts `expected.1`.
fn replay(target: &str, expected: (usize, usize), read: impl Fn(&[u8]) -> bool) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus for {target}");
    let mut accepted = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&bytes)))
            .unwrap_or_else(|_| panic!("{} panicked", path.display()));
        if ok {
            accepted.push(path.file_name().unwrap_or_default().to_string_lossy().into_owned());
        }
    }
    eprintln!("{target}: {} inputs, {} read as valid", files.len(), accepted.len());
    assert_eq!(
        (files.len(), accepted.len()),
        expected,
        "{target}: (inputs, accepted) changed; accepted now: {accepted:?} (see this file's head on updating the counts)"
    );
}

#[test]
fn the_idx_corpus_replays() {
    replay("idx", (218, 11), |b| neurite::data::idx::read_idx_bytes(b.to_vec(), "corpus").is_ok());
}

#[test]
fn the_model_file_corpus_replays() {
    replay("model_file", (691, 1), |b| neurite::io::model_from_bytes(b).is_ok());
}

#[test]
fn the_checkpoint_corpus_replays() {
    replay("checkpoint", (273, 1), |b| neurite::io::checkpoint_from_bytes(b).is_ok());
}

#[test]
fn the_npy_corpus_replays() {
    replay("npy", (237, 37), |b| neurite::io::npy::read_npy(b).is_ok());
}

#[test]
fn the_npz_corpus_replays() {
    replay("npz", (143, 10), |b| neurite::io::npy::read_npz(b).is_ok());
}

#[test]
fn the_torch_corpus_replays() {
    replay("torch", (898, 32), |b| neurite::io::torch::read_state_dict(b).is_ok());
}

#[test]
fn the_onnx_corpus_replays() {
    replay("onnx", (442, 9), |b| neurite::io::onnx::from_onnx(b).is_ok());
}

#[test]
fn the_any_model_corpus_replays() {
    use neurite::io::{read_model, Activations};
    use neurite::nn::Activation;
    let acts = Activations { hidden: Some(Activation::Relu), output: Some(Activation::Softmax) };
    replay("any_model", (1025, 19), |b| read_model(b, acts).is_ok());
}

#[test]
fn the_image_corpus_replays() {
    use neurite::data::image::{decode, to_model_input, Invert};
    replay("image", (666, 43), |b| decode(b).and_then(|img| to_model_input(&img, 28, Invert::Auto)).is_ok());
}

#[test]
fn the_csv_corpus_replays() {
    use neurite::data::{CsvOptions, Table, Task};
    // As the fuzz target reads them: the first byte picks the task and the separator.
    replay("csv", (221, 25), |b| {
        let Some((&first, csv)) = b.split_first() else { return false };
        let task = if first & 1 == 0 { Task::Classification } else { Task::Regression };
        let delimiter = [b',', b';', b'\t', b'|'][usize::from(first >> 1) & 3];
        let table = Table::from_reader(csv, "corpus.csv", &CsvOptions::new("y").task(task).delimiter(delimiter));
        if let Ok(t) = &table {
            assert!(t.values().iter().all(|v| v.is_finite()));
        }
        table.is_ok()
    });
}
