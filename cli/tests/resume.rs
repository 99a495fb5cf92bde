//! A run that is killed (SIGKILL) at any moment, or stopped with Ctrl-C, continues from its
//! last checkpoint with `--resume` and ends with the same parameters, bit for bit, as a run
//! that was never stopped; a kill in the middle of writing a checkpoint leaves the previous
//! one intact.
//!
//! A run killed before its first checkpoint, even at the earliest moment (once it has
//! recorded its arguments, the first thing it does), continues too: `--resume` starts it
//! from its beginning, and so does the same command run again.
//!
//! The kills come at random moments (from a seeded generator, so the sequence can be
//! replayed). Where they land changes what the test exercises, never its verdict: the final
//! parameters are compared, whatever happened on the way.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use neurite::Rng;

const RUN: [&str; 12] = [
    "train",
    "--dataset",
    "digits",
    "--epochs",
    "200",
    "--batch-size",
    "16",
    "--hidden",
    "32",
    "--threads",
    "2",
    "--json",
];

/// A run whose checkpoints are large (about 1.8 MB: 152,000 parameters and Adam's two
/// moments), so that writing one takes milliseconds, a window a kill can be aimed at.
const LARGE_RUN: [&str; 12] = [
    "train",
    "--dataset",
    "digits",
    "--epochs",
    "20",
    "--batch-size",
    "16",
    "--hidden",
    "2048",
    "--threads",
    "2",
    "--json",
];

fn neurite(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_neurite"));
    c.args(args).env_remove("NEURITE_DATA").stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The parameters of a saved model, end to end.
fn params(path: &Path) -> Vec<f32> {
    neurite::io::load_model(path).unwrap().params().snapshot().unwrap()
}

/// The run, never stopped: its parameters, and how long it took with checkpoints every 25
/// steps (so that kills can be spread over a run, whatever the machine's speed).
fn reference(dir: &Path, run: &[&str]) -> Vec<f32> {
    reference_timed(dir, run).0
}

fn reference_timed(dir: &Path, run: &[&str]) -> (Vec<f32>, Duration) {
    let path = dir.join("reference.safetensors");
    let out = neurite(run).args(["--save", arg(&path)]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ckpt = dir.join("timing");
    let started = std::time::Instant::now();
    let out = neurite(run).args(["--checkpoint-dir", arg(&ckpt), "--checkpoint-every", "25"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (params(&path), started.elapsed())
}

/// How long a child may take to reach the moment a test waits for: far more than any run
/// here takes, so that only a child that is stuck, or exits without reaching it, fails.
const DEADLINE: Duration = Duration::from_secs(300);

/// What a wait for a child ended with.
#[derive(Debug, PartialEq)]
enum Waited {
    /// `ready()` became true while the child ran.
    Ready,
    /// The child exited first.
    Exited,
}

/// Polls `ready()` while `child` runs; fails the test after [`DEADLINE`] rather than hang.
fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) -> Waited {
    let started = Instant::now();
    loop {
        if ready() {
            return Waited::Ready;
        }
        if child.try_wait().unwrap().is_some() {
            return Waited::Exited;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: not after {DEADLINE:?}");
        }
        std::thread::yield_now();
    }
}

/// Waits for `ready()`, failing the test (with the child's errors) if the child exits first.
fn wait_while_running(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    if wait_for(child, what, ready) == Waited::Exited {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        panic!("{what}: the run exited first ({:?}): {err}", child.wait().unwrap());
    }
}

/// Whether a checkpoint exists in `dir`.
fn has_checkpoint(dir: &Path) -> bool {
    dir.join(neurite::io::CHECKPOINT_FILE).is_file()
}

/// The run with checkpoints in `ckpt` (every 25 steps and each epoch), or its resumption.
fn start(ckpt: &Path, save: &Path) -> Child {
    start_run(&RUN, ckpt, save)
}

fn start_run(run: &[&str], ckpt: &Path, save: &Path) -> Child {
    // Once the run has recorded its arguments, --resume continues it, from its checkpoint or,
    // killed before the first, from its beginning.
    let mut c = if has_checkpoint(ckpt) || has_arguments(ckpt) {
        neurite(&["train", "--resume", arg(ckpt), "--save", arg(save), "--json"])
    } else {
        let mut c = neurite(run);
        c.args(["--checkpoint-dir", arg(ckpt), "--checkpoint-every", "25", "--save", arg(save)]);
        c
    };
    c.spawn().unwrap()
}

/// Temporary files a killed writer left.
fn leftovers(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).count())
        .unwrap_or(0)
}

#[test]
fn a_run_killed_at_random_moments_resumes_to_the_same_bits() {
    let dir = common::temp_dir("killed");
    let (want, mut duration) = reference_timed(&dir, &RUN);
    let (ckpt, save) = (dir.join("ckpt"), dir.join("resumed.safetensors"));
    let mut rng = Rng::new(2026);
    let (mut kills, mut mid_write, mut restarts) = (0, 0, 0);
    loop {
        let spawned = Instant::now();
        let mut child = start(&ckpt, &save);
        if kills < 6 {
            // Somewhere in the first two thirds of what the whole run takes here.
            let millis = duration.as_millis() as u64 * 2 / 3;
            std::thread::sleep(Duration::from_millis(10 + rng.below(millis.max(1))));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                mid_write += leftovers(&ckpt);
                continue;
            }
            if kills == 0 {
                // The run ended before the first kill: the reference was timed while the
                // machine was slower than now. This run's own time is the machine's speed
                // now; start over from nothing with kills spread over it.
                restarts += 1;
                assert!(restarts <= 5, "the run ended before the first kill, {restarts} times");
                duration = spawned.elapsed();
                std::fs::remove_dir_all(&ckpt).unwrap();
                continue;
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        break;
    }
    eprintln!("{kills} kills, {mid_write} of them while a checkpoint was being written");
    assert!(kills > 0, "the run ended before the first kill");
    assert_eq!(params(&save), want, "after {kills} kills");
}

#[test]
fn a_kill_while_a_checkpoint_is_written_leaves_the_previous_one_intact() {
    let dir = common::temp_dir("killed-writing");
    let want = reference(&dir, &LARGE_RUN);
    let (ckpt, save) = (dir.join("ckpt"), dir.join("resumed.safetensors"));
    // Wait for a checkpoint's temporary file to appear and kill the run at once: while it
    // exists, the write is under way. A kill that comes just after the rename is retried.
    // First, a run that has written one checkpoint whole (killed once it has, mid-run).
    let mut child = start_run(&LARGE_RUN, &ckpt, &save);
    wait_while_running(&mut child, "the first checkpoint", || has_checkpoint(&ckpt));
    let _ = child.kill();
    child.wait().unwrap();
    let mut attempts = 0;
    let before = loop {
        attempts += 1;
        assert!(attempts <= 50, "no kill landed inside a checkpoint write in 50 attempts");
        let before = has_checkpoint(&ckpt).then(|| std::fs::read(ckpt.join(neurite::io::CHECKPOINT_FILE)).unwrap());
        let mut child = start_run(&LARGE_RUN, &ckpt, &save);
        // This process's temporary file, as the atomic write names it (`.FILE.PID.N.tmp`, N
        // counting the process's writes).
        let prefix = format!(".{}.{}.", neurite::io::CHECKPOINT_FILE, child.id());
        let writing = || {
            std::fs::read_dir(&ckpt).is_ok_and(|d| {
                d.flatten().any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with(&prefix) && name.ends_with(".tmp")
                })
            })
        };
        // The run may end before a write is caught: then the next attempt resumes it.
        wait_for(&mut child, "a checkpoint being written", writing);
        let _ = child.kill();
        child.wait().unwrap();
        if writing() && before.is_some() {
            break before;
        }
    };
    // The checkpoint file is one that was written whole: the one before the kill, or a later
    // one renamed into place before the write the kill interrupted. Either way it loads.
    let intact = std::fs::read(ckpt.join(neurite::io::CHECKPOINT_FILE)).unwrap();
    let saved = neurite::io::load_checkpoint(&ckpt).unwrap();
    assert!(saved.progress.epoch >= 1 && !intact.is_empty() && before.is_some_and(|b| !b.is_empty()));
    let out = start_run(&LARGE_RUN, &ckpt, &save).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(leftovers(&ckpt), 0, "the resumed run cleans up what the killed writer left");
    assert_eq!(params(&save), want);
}

#[test]
fn ctrl_c_writes_a_checkpoint_says_how_to_resume_and_exits_130() {
    let dir = common::temp_dir("ctrl-c");
    let want = reference(&dir, &RUN);
    let (ckpt, save) = (dir.join("ckpt"), dir.join("resumed.safetensors"));
    let mut child = start(&ckpt, &save);
    // Once the run has written its first checkpoint, it is training: interrupt it.
    wait_while_running(&mut child, "the first checkpoint", || has_checkpoint(&ckpt));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("stopping after this step to write a checkpoint"), "{err}");
    assert!(err.contains(&format!("Continue with: neurite train --resume {}", ckpt.display())), "{err}");
    let out = start(&ckpt, &save).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(params(&save), want);
}

#[test]
fn resume_refuses_arguments_that_disagree_with_the_recorded_ones() {
    let dir = common::temp_dir("resume-args");
    let ckpt: PathBuf = dir.join("ckpt");
    let out =
        neurite(&["train", "--dataset", "digits", "--epochs", "1", "--lr", "0.01", "--checkpoint-dir", arg(&ckpt)])
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = neurite(&["train", "--resume", arg(&ckpt), "--lr", "0.02"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--lr 0.02 differs from the run being resumed (--lr 0.01)"), "{err}");
    // The same value, and flags about output, are fine (the run is complete: nothing to do
    // but evaluate).
    let out = neurite(&["train", "--resume", arg(&ckpt), "--lr", "0.01", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The arguments file a run records before anything else.
fn has_arguments(dir: &Path) -> bool {
    dir.join("arguments.json").is_file()
}

#[test]
fn a_run_killed_before_its_first_checkpoint_resumes_from_its_beginning() {
    let dir = common::temp_dir("killed-early");
    let want = reference(&dir, &RUN);
    let (ckpt, save) = (dir.join("ckpt"), dir.join("resumed.safetensors"));
    // Killed at the earliest moment it can leave anything: as soon as its arguments are
    // recorded (before the data is read).
    let mut child = start(&ckpt, &save);
    wait_while_running(&mut child, "the recorded arguments", || has_arguments(&ckpt));
    child.kill().unwrap();
    child.wait().unwrap();
    let early = !has_checkpoint(&ckpt);
    // A temporary file of the arguments, as a kill in the middle of writing them leaves it:
    // the next run removes it.
    std::fs::write(ckpt.join(".arguments.json.1.0.tmp"), b"[\"train\", \"--ep").unwrap();
    let out = neurite(&["train", "--resume", arg(&ckpt), "--save", arg(&save), "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(params(&save), want, "--resume after a kill before the first checkpoint ({early})");
    // --resume records nothing; the same command run again does, and cleans up.
    let mut again = neurite(&RUN);
    again.args(["--checkpoint-dir", arg(&ckpt), "--checkpoint-every", "25", "--save", arg(&save)]);
    assert!(again.output().unwrap().status.success());
    assert_eq!(leftovers(&ckpt), 0, "a killed write of the arguments left its temporary file");
    assert_eq!(params(&save), want);
}

#[test]
fn the_same_command_run_again_continues_a_killed_run() {
    // A scheduler restarts a preempted job with the command it was given: the run continues,
    // from any moment it was killed at (the earliest, then mid-run), to the same bits.
    let dir = common::temp_dir("same-command");
    let want = reference(&dir, &RUN);
    let (ckpt, save) = (dir.join("ckpt"), dir.join("resumed.safetensors"));
    let command = || {
        let mut c = neurite(&RUN);
        c.args(["--checkpoint-dir", arg(&ckpt), "--checkpoint-every", "25", "--save", arg(&save)]);
        c.spawn().unwrap()
    };
    // Killed before it starts (nothing recorded), then at its earliest moment.
    let mut child = command();
    child.kill().unwrap();
    child.wait().unwrap();
    let mut child = command();
    wait_while_running(&mut child, "the recorded arguments", || has_arguments(&ckpt));
    child.kill().unwrap();
    child.wait().unwrap();
    // Then mid-run, once it has checkpointed.
    let mut child = command();
    if wait_for(&mut child, "a checkpoint", || has_checkpoint(&ckpt)) == Waited::Ready {
        let _ = child.kill();
    }
    child.wait().unwrap();
    let out = command().wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("continuing the run checkpointed in"), "{err}");
    assert_eq!(params(&save), want);
}
