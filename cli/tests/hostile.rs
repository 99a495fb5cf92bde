//! Everything a user can hand `neurite train`, broken in every way we could think of: each is
//! one clear message and a documented exit code (1 for what neurite cannot use, 2 for a flag
//! that does not parse), never a panic or an abort, and never a partial output file.

mod common;

use std::path::Path;
use std::process::Command;

/// A gzip'd IDX file with `header` then `data`.
fn idx(path: &Path, header: &[u8], data: &[u8]) {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(header).unwrap();
    enc.write_all(data).unwrap();
    std::fs::write(path, enc.finish().unwrap()).unwrap();
}

fn dims(n: u32, rest: &[u32]) -> Vec<u8> {
    let mut h = vec![0, 0, 8, 1 + rest.len() as u8];
    h.extend(n.to_be_bytes());
    rest.iter().for_each(|d| h.extend(d.to_be_bytes()));
    h
}

/// A directory of four valid small IDX files (8 training and 4 test images of 28 x 28).
fn good_data(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    idx(&dir.join("train-images-idx3-ubyte.gz"), &dims(8, &[28, 28]), &[3; 8 * 784]);
    idx(&dir.join("train-labels-idx1-ubyte.gz"), &dims(8, &[]), &[0, 1, 2, 3, 4, 5, 6, 7]);
    idx(&dir.join("t10k-images-idx3-ubyte.gz"), &dims(4, &[28, 28]), &[3; 4 * 784]);
    idx(&dir.join("t10k-labels-idx1-ubyte.gz"), &dims(4, &[]), &[0, 1, 2, 3]);
}

/// One broken input: what is done to a good data directory, the flags, the exit code and a
/// piece of the message.
struct Case {
    name: &'static str,
    breaks: fn(&Path),
    args: Vec<String>,
    code: i32,
    message: &'static str,
}

fn case(name: &'static str, breaks: fn(&Path), args: &[&str], code: i32, message: &'static str) -> Case {
    Case { name, breaks, args: args.iter().map(|s| s.to_string()).collect(), code, message }
}

#[test]
fn every_broken_input_is_one_clear_message_and_a_documented_exit_code() {
    let nothing: fn(&Path) = |_| {};
    let cases = vec![
        case(
            "missing images",
            |d| std::fs::remove_file(d.join("train-images-idx3-ubyte.gz")).unwrap(),
            &[],
            1,
            "no train-images-idx3-ubyte.gz",
        ),
        case(
            "empty file",
            |d| std::fs::write(d.join("train-labels-idx1-ubyte.gz"), b"").unwrap(),
            &[],
            1,
            "the file is empty",
        ),
        case(
            "wrong magic",
            |d| std::fs::write(d.join("t10k-labels-idx1-ubyte.gz"), b"PK\x03\x04xxxxxxxx").unwrap(),
            &[],
            1,
            "not an IDX file (magic bytes 50 4b 03 04",
        ),
        case(
            "truncated gzip",
            |d| {
                let p = d.join("train-images-idx3-ubyte.gz");
                let bytes = std::fs::read(&p).unwrap();
                std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
            },
            &[],
            1,
            "corrupt gzip data",
        ),
        case(
            "counts disagree",
            |d| idx(&d.join("train-labels-idx1-ubyte.gz"), &dims(7, &[]), &[0; 7]),
            &[],
            1,
            "[7] labels for 8 images",
        ),
        case(
            "label out of range",
            |d| idx(&d.join("t10k-labels-idx1-ubyte.gz"), &dims(4, &[]), &[0, 1, 12, 3]),
            &[],
            1,
            "label 12 of example 2 is not below 10 classes",
        ),
        case(
            "images not 28 x 28",
            |d| idx(&d.join("t10k-images-idx3-ubyte.gz"), &dims(4, &[28, 27]), &[0; 4 * 28 * 27]),
            &[],
            1,
            "expected images of 28 x 28",
        ),
        case(
            "declared far larger than the file",
            |d| idx(&d.join("train-images-idx3-ubyte.gz"), &dims(3_000_000, &[28, 28]), &[0; 784]),
            &[],
            1,
            "more than",
        ),
        case(
            "decompression bomb",
            |d| idx(&d.join("train-images-idx3-ubyte.gz"), &dims(8, &[28, 28]), &vec![0; 32 << 20]),
            &[],
            1,
            "more data after the 8 x 28 x 28 = 6272 bytes",
        ),
        case(
            "a directory where a file should be",
            |d| {
                std::fs::remove_file(d.join("t10k-images-idx3-ubyte.gz")).unwrap();
                std::fs::create_dir(d.join("t10k-images-idx3-ubyte.gz")).unwrap();
            },
            &[],
            1,
            "no t10k-images-idx3-ubyte.gz",
        ),
        case("--data a file", nothing, &["--data", "/etc/hostname"], 1, "--data /etc/hostname: no such directory"),
        case(
            "--save in a missing directory",
            nothing,
            &["--save", "/nonexistent/m.safetensors"],
            1,
            "the directory /nonexistent does not exist",
        ),
        case("--resume without a checkpoint", nothing, &["--resume", "/nonexistent"], 1, "/nonexistent"),
        case(
            "--resume of a model file",
            |d| {
                let out = Command::new(env!("CARGO_BIN_EXE_neurite"))
                    .args(["train", "--dataset", "digits", "--epochs", "1", "--save"])
                    .arg(d.join("model.safetensors"))
                    .output()
                    .unwrap();
                assert!(out.status.success());
            },
            &["--resume", "DATA/model.safetensors"],
            1,
            "not a checkpoint",
        ),
        case(
            "--hidden that cannot be allocated",
            nothing,
            &["--hidden", "100000000"],
            1,
            "--hidden 100000000 --batch-size 32 --epochs 1: training the 64-100000000-10 network",
        ),
        case(
            "--hidden beyond counting",
            nothing,
            &["--hidden", "18446744073709551615"],
            1,
            "would take about more than 1 EiB",
        ),
        case("--threads absurd", nothing, &["--threads", "5000"], 1, "only slows training"),
        case("--threads 0", nothing, &["--threads", "0"], 1, "threads must be at least 1"),
        case("--lr not a number", nothing, &["--lr", "fast"], 2, "invalid value 'fast' for '--lr"),
        case("--lr infinite", nothing, &["--lr", "inf"], 1, "learning rate must be a positive number, got inf"),
        case("--lr NaN", nothing, &["--lr", "NaN"], 1, "learning rate must be a positive number, got NaN"),
        case("--epochs negative", nothing, &["--epochs", "-3"], 2, "invalid value '-3' for '--epochs"),
        case(
            "--validation-split 1.5",
            nothing,
            &["--validation-split", "1.5"],
            1,
            "validation_split must be in [0, 1), got 1.5",
        ),
        case(
            "--validation-split leaving nothing",
            nothing,
            &["--validation-split", "0.95"],
            1,
            "leaves 0 for training",
        ),
        case("--activation unknown", nothing, &["--activation", "swish"], 2, "unknown activation"),
        case("--loss unknown", nothing, &["--loss", "hinge"], 2, "unknown loss"),
        case("--checkpoint-every without a directory", nothing, &["--checkpoint-every", "5"], 2, "--checkpoint-dir"),
        case("an unknown flag", nothing, &["--learning-rate", "0.1"], 2, "unexpected argument '--learning-rate'"),
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let data = common::temp_dir(&format!("hostile-{i}"));
        good_data(&data);
        (c.breaks)(&data);
        let save = data.join("out.safetensors");
        let mut args: Vec<String> = vec!["train".into(), "--offline".into()];
        if !c.args.iter().any(|a| a == "--epochs") {
            args.extend(["--epochs".into(), "1".into()]);
        }
        if !c.args.iter().any(|a| a == "--data" || a == "--resume") {
            args.extend(["--data".into(), data.to_string_lossy().into_owned()]);
        }
        args.extend(c.args.iter().map(|a| a.replace("DATA", &data.to_string_lossy())));
        if !args.iter().any(|a| a == "--save" || a == "--resume") {
            args.extend(["--save".into(), save.to_string_lossy().into_owned()]);
        }
        // The memory budget is pinned, so that what is refused does not depend on the machine.
        let out = Command::new(env!("CARGO_BIN_EXE_neurite"))
            .args(&args)
            .env_remove("NEURITE_DATA")
            .env("NEURITE_MEMORY_GIB", "16")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(c.code), "{}: {args:?}\n{err}", c.name);
        assert!(err.contains(c.message), "{}: expected {:?} in\n{err}", c.name, c.message);
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{}: {err}", c.name);
        assert_eq!(err.lines().filter(|l| l.starts_with("error")).count(), 1, "{}: one message: {err}", c.name);
        assert!(!save.exists(), "{}: an output file was written", c.name);
        let leftovers: Vec<_> = std::fs::read_dir(&data)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{}: temporary files left: {leftovers:?}", c.name);
    }
}
