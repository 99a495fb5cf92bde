// Tells the tests whether MNIST is here, for the tests that need it: without it they are
// marked ignored, with the reason, so `cargo test` lists them as not run instead of passing
// them. Under CI (`NEURITE_CI` set) a missing MNIST is an error. The library itself does not
// depend on this (`cli/build.rs` includes the same file for the command's tests).

use std::path::{Path, PathBuf};

pub fn main() {
    println!("cargo::rustc-check-cfg=cfg(mnist)");
    println!("cargo::rerun-if-env-changed=NEURITE_DATA");
    println!("cargo::rerun-if-env-changed=NEURITE_CI");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // The workspace root is the nearest directory up from the package with a Cargo.lock.
    let root = manifest.ancestors().find(|d| d.join("Cargo.lock").is_file()).unwrap_or(&manifest).to_path_buf();
    let shared = root.join("../shared/data/mnist");
    let candidates: Vec<PathBuf> =
        std::env::var_os("NEURITE_DATA").map(PathBuf::from).into_iter().chain([shared.clone()]).collect();
    for dir in &candidates {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    let has_mnist = |d: &Path| d.join("t10k-labels-idx1-ubyte.gz").is_file();
    if candidates.iter().any(|d| has_mnist(d)) {
        println!("cargo::rustc-cfg=mnist");
    } else if std::env::var_os("NEURITE_CI").is_some() {
        panic!("NEURITE_CI is set but MNIST is not in $NEURITE_DATA or {}: CI runs every test", shared.display());
    }
}
