//! Shared by the integration tests: where MNIST is, when it is here at all.

#![allow(dead_code)]

use std::path::PathBuf;

/// `$NEURITE_DATA`, else `../shared/data/mnist` beside the checkout. Tests that need MNIST
/// carry `#[cfg_attr(not(mnist), ignore = ...)]`: the build script sets `mnist` when it is
/// here (and fails under CI when it is not), so they run only where this finds it.
pub fn mnist_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("NEURITE_DATA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("t10k-labels-idx1-ubyte.gz").is_file())
        .expect("the build script found MNIST, but it is gone")
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neurite-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
