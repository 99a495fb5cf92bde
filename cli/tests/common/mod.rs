//! Shared by the integration tests: where MNIST is, when it is here at all.

#![allow(dead_code)]

use std::path::PathBuf;

/// `$NEURITE_DATA`, else `../shared/data/mnist` beside the checkout, when it holds MNIST.
pub fn mnist_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("NEURITE_DATA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist")),
    ];
    let found = candidates.into_iter().flatten().find(|d| d.join("t10k-labels-idx1-ubyte.gz").is_file());
    if found.is_none() {
        eprintln!("MNIST is not here (set NEURITE_DATA or put it in ../shared/data/mnist): skipping the MNIST part");
    }
    found
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neurite-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
