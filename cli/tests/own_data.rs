//! `neurite train`, `eval` and `predict` on your own data: a CSV table (classes and
//! regression) and a folder of pictures, from the shell, and every broken table or folder we
//! could think of as one clear message.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn neurite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurite")).args(args).env_remove("NEURITE_DATA").output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and expects success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = neurite(args);
    assert!(out.status.success(), "neurite {}: {}\n{}", args.join(" "), stderr(&out), stdout(&out));
    stdout(&out)
}

fn json(args: &[&str]) -> serde_json::Value {
    let text = ok(args);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A command line split at spaces (the temporary paths have none).
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A deterministic pseudo-random number in [0, 1).
fn noise(i: usize, j: usize) -> f64 {
    let mut h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (j as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    h ^= h >> 31;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Two classes of rows, apart along features of very different scales (so that training
/// works only if they are standardised), rows `from..to`.
fn blobs(from: usize, to: usize) -> String {
    let mut csv = String::from("width,kind,mass\n");
    for i in from..to {
        let right = i % 2 == 1;
        let shift = if right { 1.0 } else { -1.0 };
        let width = 0.001 * (shift + noise(i, 0) - 0.5);
        let mass = 5000.0 + 1000.0 * (shift + noise(i, 1) - 0.5);
        csv += &format!("{width},{},{mass}\n", if right { "right" } else { "left" });
    }
    csv
}

#[test]
fn a_csv_classifier_trains_evaluates_and_predicts_class_names() {
    let dir = common::temp_dir("csv-classes");
    let (train, test, model) = (dir.join("train.csv"), dir.join("test.csv"), dir.join("m.nn"));
    std::fs::write(&train, blobs(0, 200)).unwrap();
    std::fs::write(&test, blobs(200, 260)).unwrap();
    let base = ["--target", "kind", "--hidden", "8", "--epochs", "20", "--batch-size", "16", "--json"];
    let mut args = vec!["train", "--csv", s(&train), "--test-csv", s(&test), "--save", s(&model)];
    args.extend(base);
    let trained = json(&args);
    assert_eq!(trained["classes"], serde_json::json!(["left", "right"]));
    assert_eq!((trained["train_examples"].as_u64(), trained["test_examples"].as_u64()), (Some(200), Some(60)));
    let accuracy = trained["test_accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.95, "{trained}");
    // eval reads the test file with the standardisation stored in the model: same numbers.
    let evaluated = json(&["eval", "--model", s(&model), "--csv", s(&test), "--json"]);
    assert_eq!(evaluated["test_accuracy"].as_f64(), Some(accuracy));
    assert_eq!(evaluated["test_loss"], trained["test_loss"]);
    // predict: columns in another order, no target column; answers are class names.
    let new = dir.join("new.csv");
    std::fs::write(&new, "mass,width\n6000,0.001\n4000,-0.001\n").unwrap();
    let text = ok(&["predict", "--model", s(&model), "--csv", s(&new)]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("row 1: right (probabilities left:"), "{text}");
    assert!(lines[1].starts_with("row 2: left (probabilities left:"), "{text}");
    let answers = json(&["predict", "--model", s(&model), "--csv", s(&new), "--json"]);
    assert_eq!(answers["predictions"][0]["name"], "right");
    assert_eq!(answers["predictions"][1]["row"], 2);
    // The split of one file: seeded, 20% by default.
    let mut args = vec!["train", "--csv", s(&train)];
    args.extend(base);
    let a = json(&args);
    assert_eq!((a["train_examples"].as_u64(), a["test_examples"].as_u64()), (Some(160), Some(40)));
    assert_eq!(json(&args)["test_loss"], a["test_loss"]);
    args.extend(["--seed", "5"]);
    assert_ne!(json(&args)["test_loss"], a["test_loss"]);
}

#[test]
fn a_csv_regressor_uses_mse_and_a_linear_output() {
    let dir = common::temp_dir("csv-regression");
    let mut csv = String::from("a,b,price\n");
    for i in 0..300 {
        let (a, b) = (noise(i, 0) * 10.0, noise(i, 1) * 1000.0);
        csv += &format!("{a},{b},{}\n", 3.0 * a - 0.01 * b + 100.0 + 0.1 * noise(i, 2));
    }
    let (file, model) = (dir.join("prices.csv"), dir.join("m.nn"));
    std::fs::write(&file, csv).unwrap();
    let args = format!(
        "train --csv {} --target price --task regression --hidden 16 --epochs 200 --lr 0.03 --activation relu --save {} --json",
        s(&file),
        s(&model)
    );
    let out = json(&words(&args));
    assert_eq!(out["task"], "regression");
    let r2 = out["test_r2"].as_f64().unwrap();
    assert!(r2 > 0.99, "{out}");
    assert!(out.get("test_accuracy").is_none());
    let summary = ok(&["summary", "--model", s(&model), "--json"]);
    assert!(summary.contains("\"loss\":\"mean_squared_error\""), "{summary}");
    assert!(summary.contains("\"activation\":{\"name\":\"linear\"}"), "{summary}");
    let evaluated = json(&["eval", "--model", s(&model), "--csv", s(&file), "--json"]);
    assert!(evaluated["test_r2"].as_f64().unwrap() > 0.95, "{evaluated}");
    // The epoch lines of a regressor show its loss, not an accuracy that means nothing.
    let text = ok(&["train", "--csv", s(&file), "--target", "price", "--task", "regression", "--epochs", "2"]);
    let epochs: Vec<&str> = text.lines().filter(|l| l.starts_with("Epoch ")).collect();
    assert_eq!(epochs.len(), 2, "{text}");
    assert!(epochs.iter().all(|l| l.contains("loss: ") && !l.contains("accuracy")), "{text}");
    // Nor does its saved history (as Keras' History of a model compiled without metrics),
    // and its chart is the loss alone.
    let history = dir.join("history.json");
    let args = ["train", "--csv", s(&file), "--target", "price", "--task", "regression", "--epochs", "2"];
    ok(&[&args[..], &["--validation-split", "0.2", "--history", s(&history)]].concat());
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("\"val_loss\"") && !saved.contains("accuracy"), "{saved}");
    let charts = dir.join("charts");
    ok(&["plot", "history", s(&history), "--out", s(&charts)]);
    let chart = std::fs::read(charts.join("history.png")).unwrap();
    let width = u32::from_be_bytes(chart[16..20].try_into().unwrap());
    assert_eq!(width, 550, "one panel, the loss");
    let new = dir.join("new.csv");
    std::fs::write(&new, "a,b\n5,500\n").unwrap();
    let text = ok(&["predict", "--model", s(&model), "--csv", s(&new)]);
    let value: f64 = text.trim().strip_prefix("row 1: ").unwrap().parse().unwrap();
    assert!((value - 110.0).abs() < 3.0, "{text}");
}

/// A PNG of `side x side` grey pixels around `level`.
fn picture(path: &Path, side: u32, level: u8, seed: usize) {
    let pixels: Vec<u8> =
        (0..side * side).map(|i| level.saturating_add((noise(seed, i as usize) * 40.0) as u8)).collect();
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// `dir/dark/*.png` and `dir/light/*.png`, `n` of each, of several sizes.
fn folder(dir: &Path, n: usize, seed: usize) -> PathBuf {
    for (class, level) in [("dark", 10u8), ("light", 200)] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..n {
            picture(&dir.join(class).join(format!("{i}.png")), 12 + (i % 3) as u32 * 5, level, seed + i);
        }
    }
    dir.to_path_buf()
}

#[test]
fn a_folder_of_pictures_trains_and_predict_names_the_classes() {
    let dir = common::temp_dir("folder");
    let train = folder(&dir.join("train"), 20, 0);
    let test = folder(&dir.join("test"), 5, 1000);
    let model = dir.join("m.nn");
    let args = format!(
        "train --images {} --test-images {} --image-size 8x6 --epochs 20 --hidden 8 --activation relu --batch-size 8 --lr 0.01 --save {} --json",
        s(&train),
        s(&test),
        s(&model)
    );
    let out = json(&words(&args));
    assert_eq!(out["classes"], serde_json::json!(["dark", "light"]));
    assert_eq!((out["train_examples"].as_u64(), out["test_examples"].as_u64()), (Some(40), Some(10)));
    assert_eq!(out["test_accuracy"].as_f64(), Some(1.0), "{out}");
    let summary = json(&["summary", "--model", s(&model), "--json"]);
    assert_eq!(summary["inputs"], 48);
    let text = ok(&["predict", "--model", s(&model), s(&test.join("light/0.png")), s(&test.join("dark/1.png"))]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("light/0.png: light (probabilities dark:"), "{text}");
    assert!(lines[1].contains("dark/1.png: dark ("), "{text}");
    let evaluated = json(&["eval", "--model", s(&model), "--images", s(&test), "--json"]);
    assert_eq!(evaluated["test_accuracy"].as_f64(), Some(1.0));
    // Colour: three values per pixel.
    let out =
        json(&["train", "--images", s(&train), "--image-size", "4x4", "--color", "rgb", "--epochs", "1", "--json"]);
    assert_eq!(out["parameters"], 48 * 50 + 50 + 51 * 2);
}

#[test]
fn an_unreadable_picture_fails_or_is_skipped_as_the_flag_says() {
    let dir = common::temp_dir("folder-bad");
    let train = folder(&dir.join("train"), 6, 0);
    std::fs::write(train.join("dark/broken.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    std::fs::write(train.join("light/empty.jpg"), b"").unwrap();
    let args = ["train", "--images", s(&train), "--image-size", "4x4", "--epochs", "1"];
    let out = neurite(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("broken.png") && err.contains("2 of 14 pictures cannot be read"), "{err}");
    assert!(err.contains("--bad-images skip"), "{err}");
    let mut skip = args.to_vec();
    skip.extend(["--bad-images", "skip"]);
    let out = neurite(&skip);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("skipped 2 unreadable pictures"), "{err}");
    assert!(err.contains("dark/broken.png: PNG") && err.contains("light/empty.jpg: "), "{err}");
    assert!(stdout(&out).contains("9 training and 3 test pictures"), "{}", stdout(&out));
}

#[test]
fn every_broken_table_or_folder_is_one_clear_message() {
    let dir = common::temp_dir("own-hostile");
    let file = |name: &str, bytes: &[u8]| -> String {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = file("good.csv", b"a,b,y\n1,2,p\n3,4,q\n5,6,p\n7,8,q\n9,1,p\n");
    let huge = {
        let mut b = b"a,y\n1,p\n".to_vec();
        b.extend(std::iter::repeat_n(b'7', 2_000_000));
        b.extend(b",q\n");
        file("huge.csv", &b)
    };
    let no_images = dir.join("no-images");
    std::fs::create_dir_all(no_images.join("cats")).unwrap();
    std::fs::write(no_images.join("cats/readme.txt"), b"hello").unwrap();
    let loose = dir.join("loose");
    std::fs::create_dir_all(&loose).unwrap();
    picture(&loose.join("a.png"), 4, 0, 0);
    let one_class = dir.join("one-class");
    picture(
        &{
            std::fs::create_dir_all(one_class.join("only")).unwrap();
            one_class.join("only/a.png")
        },
        4,
        0,
        0,
    );
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--csv".into(), file("empty.csv", b""), "--target".into(), "y".into()], "the file is empty"),
        (vec!["--csv".into(), file("header.csv", b"a,y\n"), "--target".into(), "y".into()], "header and nothing else"),
        (vec!["--csv".into(), file("one.csv", b"a,y\n1,p\n2,p\n"), "--target".into(), "y".into()], "one class only"),
        (
            vec!["--csv".into(), good.clone(), "--target".into(), "z".into()],
            "no column named \"z\" to predict; the columns are: a, b, y",
        ),
        (
            vec!["--csv".into(), file("ragged.csv", b"a,b,y\n1,2,p\n3,q\n"), "--target".into(), "y".into()],
            "ragged.csv: line 3: 2 fields where the header has 3",
        ),
        (
            vec!["--csv".into(), file("text.csv", b"a,b,y\n1,2,p\n3,red,q\n"), "--target".into(), "y".into()],
            "text.csv: line 3, column 2 (b): \"red\" is not a number",
        ),
        (
            vec!["--csv".into(), file("missing.csv", b"a,b,y\n1,2,p\n3,,q\n"), "--target".into(), "y".into()],
            "missing.csv: line 3, column 2 (b): missing value",
        ),
        (
            vec!["--csv".into(), file("latin1.csv", b"a,y\n1,caf\xe9\n2,q\n"), "--target".into(), "y".into()],
            "line 2, column 2 (y): the class name is not UTF-8 text",
        ),
        (vec!["--csv".into(), huge, "--target".into(), "y".into()], "is not a finite number"),
        (
            vec![
                "--csv".into(),
                good.clone(),
                "--target".into(),
                "y".into(),
                "--test-csv".into(),
                file("unknown.csv", b"a,b,y\n1,2,r\n"),
            ],
            "unknown.csv: line 2, column 3 (y): class \"r\" is not one the model knows (p, q)",
        ),
        (
            vec!["--csv".into(), good.clone(), "--target".into(), "y".into(), "--test-split".into(), "1.5".into()],
            "--test-split 1.5",
        ),
        (
            vec!["--csv".into(), good.clone(), "--target".into(), "y".into(), "--task".into(), "regression".into()],
            "line 2, column 3 (y): \"p\" is not a number",
        ),
        (
            vec!["--csv".into(), dir.join("absent.csv").to_str().unwrap().into(), "--target".into(), "y".into()],
            "absent.csv",
        ),
        (
            vec![
                "--csv".into(),
                good.clone(),
                "--target".into(),
                "y".into(),
                "--test-csv".into(),
                file("long-class.csv", format!("a,b,y\n1,2,{}\n", "r".repeat(5000)).as_bytes()),
            ],
            "class \"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr...\" is not one the model knows (p, q)",
        ),
        (
            vec!["--csv".into(), good.clone(), "--target".into(), "y".into(), "--image-size".into(), "32x32".into()],
            "--images",
        ),
        (vec!["--csv".into(), good.clone(), "--target".into(), "y".into(), "--color".into(), "rgb".into()], "--images"),
        (
            vec!["--csv".into(), good.clone(), "--target".into(), "y".into(), "--bad-images".into(), "skip".into()],
            "--images",
        ),
        (vec!["--images".into(), s(&no_images).into()], "the class folder has no PNG or JPEG pictures"),
        (vec!["--images".into(), s(&loose).into()], "1 pictures but no class folders"),
        (vec!["--images".into(), s(&one_class).into()], "one class only (\"only\")"),
        (vec!["--images".into(), s(&dir.join("nowhere")).into()], "no such folder"),
        (vec!["--images".into(), s(&one_class).into(), "--image-size".into(), "0x5".into()], "each side must be 1 to"),
    ];
    for (args, want) in cases {
        let mut all = vec!["train".to_string(), "--epochs".into(), "1".into()];
        all.extend(args.iter().cloned());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = neurite(&all);
        let err = stderr(&out);
        assert!(matches!(out.status.code(), Some(1 | 2)), "{args:?}: {:?} {err}", out.status.code());
        assert!(err.contains(want), "{args:?}: wanted {want:?} in: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.len() < 2000, "{args:?}: a message of {} bytes", err.len());
    }
}

#[test]
fn a_model_of_a_table_refuses_pictures_and_other_columns() {
    let dir = common::temp_dir("own-mismatch");
    let (csv, model) = (dir.join("t.csv"), dir.join("m.nn"));
    std::fs::write(&csv, "a,b,y\n1,2,p\n3,4,q\n5,6,p\n7,8,q\n9,1,p\n").unwrap();
    ok(&["train", "--csv", s(&csv), "--target", "y", "--epochs", "1", "--save", s(&model)]);
    let other = dir.join("other.csv");
    std::fs::write(&other, "a,c\n1,2\n").unwrap();
    let out = neurite(&["predict", "--model", s(&model), "--csv", s(&other)]);
    assert!(stderr(&out).contains("column \"c\" is not one the model was trained on"), "{}", stderr(&out));
    let out = neurite(&["eval", "--model", s(&model)]);
    assert!(stderr(&out).contains("give --csv FILE"), "{}", stderr(&out));
    let out = neurite(&["eval", "--model", s(&model), "--images", s(&dir)]);
    assert!(stderr(&out).contains("trained on a table, not pictures"), "{}", stderr(&out));
    let no_target = dir.join("rows.csv");
    std::fs::write(&no_target, "b,a\n1,2\n").unwrap();
    let out = neurite(&["eval", "--model", s(&model), "--csv", s(&no_target)]);
    assert!(stderr(&out).contains("no column \"y\" to evaluate against"), "{}", stderr(&out));
}
