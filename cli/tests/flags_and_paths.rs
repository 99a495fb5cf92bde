//! Flags and paths from a hostile or careless user (issue 26, defects 5 and 11 to 16): every
//! size typed is checked against memory before it is allocated, output paths come only
//! from the present command and never replace an input or a checkpoint, a flag that does
//! nothing is an error, and a run that trains nothing or diverges says so. Every case ends
//! with one clear message and exit code 1, within a deadline (on the code before these
//! fixes, several of them ran until killed or aborted).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long any of these commands may take: each is refused before any real work.
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs neurite with `args`, killed if it passes [`DEADLINE`] (the test then fails, naming
/// the command). The memory budget is pinned to 16 GiB, so that what is refused does not
/// depend on the machine.
fn neurite(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(args)
        .env_remove("NEURITE_DATA")
        .env("NEURITE_MEMORY_GIB", "16")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("neurite {args:?} still ran after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The command's standard error, after checking that it failed with exit code 1 (never a
/// panic, an abort or a success).
fn refused(args: &[&str]) -> String {
    let out = neurite(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "neurite {args:?}: {err}");
    assert!(err.starts_with("error: ") && !err.contains("panicked"), "neurite {args:?}: {err}");
    err
}

fn ok(args: &[&str]) -> String {
    let out = neurite(args);
    assert!(out.status.success(), "neurite {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A model of the digits, trained for one epoch.
fn digits_model(path: &Path) {
    ok(&["train", "--dataset", "digits", "--epochs", "1", "--hidden", "8", "--save", s(path)]);
}

#[test]
fn sizes_past_memory_are_refused_before_anything_is_allocated() {
    // Defect 5: 23 GB then an abort, and an epoch count that grew without bound.
    let err = refused(&["perceptron", "--gate", "xor", "--hidden", "1000000000"]);
    assert!(err.contains("--hidden 1000000000: training the 2-1000000000-1 network would take about"), "{err}");
    assert!(err.contains("NEURITE_MEMORY_GIB allows 16.0 GiB"), "{err}");
    // 1e9 epochs fit in memory here (8 GB) and took five minutes: a documented cap.
    let err = refused(&["perceptron", "--epochs", "1000000000"]);
    assert!(err.contains("--epochs 1000000000: the perceptron keeps and prints a count for every epoch"), "{err}");
    let err = refused(&["train", "--dataset", "digits", "--hidden", "2000000000"]);
    assert!(
        err.contains("--hidden 2000000000 --batch-size 32 --epochs 10: training the 64-2000000000-10 network"),
        "{err}"
    );
    let err = refused(&["train", "--dataset", "digits", "--epochs", "100000000000000"]);
    assert!(err.contains("--epochs 100000000000000"), "{err}");
    // A budget that is not a number is said, not ignored.
    let out = Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(["perceptron", "--gate", "xor", "--hidden", "4"])
        .env("NEURITE_MEMORY_GIB", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NEURITE_MEMORY_GIB=\"lots\": not a number of GiB"));
    for command in ["logistic", "bench"] {
        let err = refused(&[command, "--epochs", "100000000000000000"]);
        assert!(
            err.contains("--epochs 100000000000000000:") && err.contains("give fewer --epochs"),
            "{command}: {err}"
        );
    }
    // A flag that sizes nothing for this gate.
    let err = refused(&["perceptron", "--gate", "and", "--hidden", "4"]);
    assert!(err.contains("--hidden 4 sizes the network that learns XOR"), "{err}");
}

#[test]
fn a_picture_size_past_memory_is_refused_before_any_picture_is_read() {
    let dir = common::temp_dir("image-size");
    for class in ["a", "b"] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        // Not a picture at all: reading it would be the error, were the pictures read.
        std::fs::write(dir.join(class).join("broken.png"), b"not a png").unwrap();
    }
    let err = refused(&["train", "--images", s(&dir), "--image-size", "8192x8192"]);
    assert!(err.contains("--image-size 8192x8192: training the 67108864-50-2 network"), "{err}");
    assert!(!err.contains("broken.png"), "the size is refused before the pictures are read: {err}");
}

#[test]
fn a_resumed_run_writes_only_the_outputs_this_command_names() {
    // Defect 11: the recorded --save and --history chose the files written on --resume.
    let dir = common::temp_dir("resume-outputs");
    let (ckpt, model, history) = (dir.join("ckpt"), dir.join("first.safetensors"), dir.join("first.json"));
    let run = ["train", "--dataset", "digits", "--epochs", "2", "--hidden", "8"];
    let mut first = run.to_vec();
    first.extend(["--checkpoint-dir", s(&ckpt), "--save", s(&model), "--history", s(&history)]);
    ok(&first);
    std::fs::remove_file(&model).unwrap();
    std::fs::remove_file(&history).unwrap();
    let out = neurite(&["train", "--resume", s(&ckpt)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!model.exists() && !history.exists(), "--resume wrote files its command did not name");
    assert!(err.contains(&format!("started with --save {}", model.display())), "it says what it did not write: {err}");
    // Named again, they are written.
    ok(&["train", "--resume", s(&ckpt), "--save", s(&model)]);
    assert!(model.exists());
}

#[test]
fn save_never_replaces_the_checkpoint() {
    // Defect 12, however the path is spelled.
    let dir = common::temp_dir("save-checkpoint");
    let ckpt = dir.join("ckpt");
    let file = ckpt.join(neurite::io::CHECKPOINT_FILE);
    let run = ["train", "--dataset", "digits", "--epochs", "1", "--hidden", "8", "--checkpoint-dir", s(&ckpt)];
    let mut args = run.to_vec();
    args.extend(["--save", s(&file)]);
    let err = refused(&args);
    assert!(err.contains("is the checkpoint of --checkpoint-dir"), "{err}");
    assert!(!ckpt.exists(), "a refused command recorded its arguments");
    ok(&run);
    // Refused later, in a directory that holds a run: that run's arguments stay.
    let recorded = std::fs::read(ckpt.join("arguments.json")).unwrap();
    let err = refused(&args);
    assert!(err.contains("is the checkpoint of --checkpoint-dir"), "{err}");
    assert_eq!(std::fs::read(ckpt.join("arguments.json")).unwrap(), recorded);
    let before = std::fs::read(&file).unwrap();
    let spelled = ckpt.join(".").join(neurite::io::CHECKPOINT_FILE);
    for save in [&file, &spelled] {
        let err = refused(&["train", "--resume", s(&ckpt), "--save", s(save)]);
        assert!(err.contains("is the checkpoint of --resume"), "{err}");
        let err = refused(&["train", "--resume", s(&ckpt), "--history", s(save)]);
        assert!(err.contains("--history") && err.contains("is the checkpoint of --resume"), "{err}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), before, "the checkpoint is untouched");
}

#[test]
fn a_directory_as_an_output_file_is_refused_before_training() {
    // Defect 13: found only after training, as "Is a directory".
    let dir = common::temp_dir("save-dir");
    for flag in ["--save", "--history"] {
        let out = neurite(&["train", "--dataset", "digits", "--epochs", "200", flag, s(&dir)]);
        let (err, text) = (String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{flag} {}: is a directory; give the path of a file in it", dir.display())),
            "{err}"
        );
        assert!(!text.contains("Epoch 1/"), "it trained first: {text}");
    }
    let err = refused(&["logistic", "--epochs", "1", "--save", s(&dir)]);
    assert!(err.contains("--save") && err.contains("is a directory"), "{err}");
}

#[test]
fn export_and_import_never_replace_their_own_input() {
    // Defect 14.
    let dir = common::temp_dir("own-input");
    let model = dir.join("m.safetensors");
    digits_model(&model);
    let before = std::fs::read(&model).unwrap();
    for flag in ["--onnx", "--pytorch", "--npz"] {
        let err = refused(&["export", "--model", s(&model), flag, s(&model)]);
        assert!(err.contains(&format!("{flag} {} is the model of --model", model.display())), "{err}");
    }
    // Two outputs on one path: the second would replace the first.
    let onnx = dir.join("m.onnx");
    let err = refused(&["export", "--model", s(&model), "--onnx", s(&onnx), "--npz", s(&onnx)]);
    assert!(err.contains("is the file of --onnx"), "{err}");
    assert_eq!(std::fs::read(&model).unwrap(), before);
    let npz = dir.join("a.npz");
    ok(&["export", "--model", s(&model), "--npz", s(&npz)]);
    let npz_bytes = std::fs::read(&npz).unwrap();
    let other_spelling = dir.join(".").join("a.npz");
    for out in [&npz, &other_spelling] {
        let err = refused(&["import", s(&npz), "--out", s(out), "--activation", "sigmoid", "--output", "softmax"]);
        assert!(err.contains("is the file being imported"), "{err}");
    }
    assert_eq!(std::fs::read(&npz).unwrap(), npz_bytes);
    let err = refused(&["eval", "--model", s(&model), "--outputs", s(&model)]);
    assert!(err.contains("--outputs") && err.contains("is the model being evaluated"), "{err}");
}

#[test]
fn a_flag_that_does_nothing_here_is_an_error() {
    // Defect 15.
    let dir = common::temp_dir("ignored-flags");
    let err = refused(&["train", "--dataset", "digits", "--target", "label"]);
    assert!(err.contains("--target label does nothing without --csv FILE"), "{err}");
    std::fs::create_dir_all(dir.join("pics")).unwrap();
    let err = refused(&["train", "--data", s(&dir), "--test-images", s(&dir.join("pics"))]);
    assert!(err.contains("--test-images") && err.contains("does nothing without --images DIR"), "{err}");
    let err = refused(&["train", "--dataset", "digits", "--data", s(&dir)]);
    assert!(err.contains(&format!("--data {} names a folder of IDX files", dir.display())), "{err}");
    let model = dir.join("m.safetensors");
    digits_model(&model);
    let err = refused(&["eval", "--model", s(&model), "--data", "/nonexistent"]);
    assert!(err.contains("--data /nonexistent"), "it evaluated the bundled digits instead: {err}");
    let err = refused(&["eval", "--model", s(&model), "--dataset", "mnist", "--data", "/nonexistent"]);
    assert!(err.contains("--data /nonexistent: no such directory"), "{err}");
    let ckpt = dir.join("ckpt");
    ok(&["train", "--dataset", "digits", "--epochs", "1", "--hidden", "8", "--checkpoint-dir", s(&ckpt)]);
    let err = refused(&["train", "--resume", s(&ckpt), "--data", s(&dir)]);
    assert!(err.contains("the run being resumed trains on the bundled digits"), "{err}");
    let err = refused(&["train", "--init-from", s(&model), "--dataset", "digits", "--hidden", "16"]);
    assert!(err.contains("--hidden 16 does nothing with --init-from"), "{err}");
    // ... and its activations (sigmoid, softmax here).
    let err = refused(&["train", "--init-from", s(&model), "--dataset", "digits", "--activation", "relu"]);
    assert!(err.contains("--activation relu does nothing with --init-from"), "{err}");
    ok(&["train", "--init-from", s(&model), "--dataset", "digits", "--epochs", "1", "--activation", "sigmoid"]);
    // A model saved by train carries its optimiser state, which continues.
    let err = refused(&["train", "--init-from", s(&model), "--dataset", "digits", "--lr", "0.5"]);
    assert!(
        err.contains("--lr 0.5 does nothing with --init-from")
            && err.contains("continue (adam (lr 0.001) after 45 steps"),
        "{err}"
    );
    // predict reads a table's rows as they are: --invert does nothing there.
    let (csv, table_model) = (dir.join("t.csv"), dir.join("t.safetensors"));
    std::fs::write(&csv, "x,y\n1,a\n0,b\n1,a\n0,b\n1,a\n0,b\n").unwrap();
    ok(&["train", "--csv", s(&csv), "--target", "y", "--epochs", "1", "--save", s(&table_model)]);
    let err = refused(&["predict", "--model", s(&table_model), "--csv", s(&csv), "--invert", "yes"]);
    assert!(err.contains("--invert yes does nothing here"), "{err}");
    // A model of a table is evaluated on a table: an IDX data set named for it is an error.
    let err = refused(&["eval", "--model", s(&table_model), "--dataset", "digits"]);
    assert!(err.contains("--dataset digits names an IDX data set"), "{err}");
    // eval --bad-images says how to read --images: the argument parser requires it.
    let out = neurite(&["eval", "--model", s(&model), "--bad-images", "skip"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--images <DIR>"));
}

#[test]
fn a_run_that_trains_nothing_or_nonsense_says_so() {
    // Defect 16: exit 0 without a word.
    let dir = common::temp_dir("nothing");
    let err = refused(&["train", "--dataset", "digits", "--epochs", "0"]);
    assert!(err.contains("--epochs 0"), "{err}");
    let err = refused(&["train", "--dataset", "digits", "--checkpoint-dir", s(&dir), "--checkpoint-every", "0"]);
    assert!(err.contains("--checkpoint-every 0"), "{err}");
    let err = refused(&["train", "--dataset", "digits", "--loss", "binary_crossentropy"]);
    assert!(err.contains("--loss binary_crossentropy") && err.contains("softmax"), "{err}");
}

#[test]
fn divergence_is_diagnosed_for_every_optimiser() {
    // Defect 16: SGD's divergence was caught, Adam's (loss 1.6e31, finite) was not.
    for optimizer in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "nadam"] {
        let args = ["train", "--dataset", "digits", "--epochs", "3", "--optimizer", optimizer, "--lr", "1e30"];
        let err = refused(&args);
        assert!(err.contains("try a smaller learning rate"), "{optimizer}: {err}");
        // The same command stops at the same place.
        assert_eq!(refused(&args), err, "{optimizer}");
    }
    // Stopped within a step of the divergence, before any checkpoint of it.
    let ckpt = common::temp_dir("diverged").join("ckpt");
    let err = refused(&["train", "--dataset", "digits", "--lr", "1e30", "--checkpoint-dir", s(&ckpt)]);
    assert!(err.contains("epoch 1, step 2: the training diverged"), "{err}");
    assert!(!ckpt.join(neurite::io::CHECKPOINT_FILE).exists(), "a diverged model was checkpointed");
    // A sound learning rate is not stopped.
    ok(&["train", "--dataset", "digits", "--epochs", "3", "--optimizer", "adam", "--lr", "0.01"]);
}

#[test]
fn names_from_files_reach_the_terminal_with_their_control_characters_escaped() {
    // Fragile (issue 26): a class name from a CSV cell was printed raw, and an escape
    // sequence in it cleared the terminal; a newline in it forged a line.
    let dir = common::temp_dir("escapes");
    let (csv, model) = (dir.join("t.csv"), dir.join("m.safetensors"));
    let mut table = String::from("x,\u{1b}]0;title\u{7}label\n");
    for i in 0..40 {
        let class = if i % 2 == 0 { "\u{1b}[2Jcat" } else { "dog\nfit_seconds=0 forged" };
        table.push_str(&format!("{},\"{class}\"\n", i % 2));
    }
    std::fs::write(&csv, table).unwrap();
    let target = "\u{1b}]0;title\u{7}label";
    let mut printed = ok(&["train", "--csv", s(&csv), "--target", target, "--epochs", "2", "--save", s(&model)]);
    printed += &ok(&["eval", "--model", s(&model), "--csv", s(&csv)]);
    printed += &ok(&["summary", "--model", s(&model)]);
    printed += &ok(&["predict", "--model", s(&model), "--csv", s(&csv)]);
    assert!(!printed.contains('\u{1b}') && !printed.contains('\u{7}'), "{printed:?}");
    assert!(printed.contains("\\u{1b}[2Jcat"), "{printed}");
    assert!(!printed.lines().any(|l| l.starts_with("fit_seconds=0 forged")), "{printed}");
    let err = refused(&["eval", "--model", s(&model), "--csv", s(&dir.join("\u{1b}[2J.csv"))]);
    assert!(!err.contains('\u{1b}'), "{err:?}");
}
