// Two jobs: the `mnist` cfg for the command's tests (the library's build script, shared), and
// the playground page's WebAssembly module, which `neurite playground` serves from inside the
// binary: built here from wasm/ by a nested `cargo build --target wasm32-unknown-unknown
// --release -p neurite-wasm` in its own target directory (target/wasm-check, the one the
// WebAssembly test uses), so that it does not wait on the lock of the build that runs this.

mod mnist_cfg {
    include!("../build.rs");
}

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    mnist_cfg::main();
    browser_cfg();
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().expect("cli/ is inside the workspace").to_path_buf();
    for path in ["src", "wasm/src", "wasm/Cargo.toml", "Cargo.toml", "Cargo.lock", "assets/digits"] {
        println!("cargo::rerun-if-changed={}", workspace.join(path).display());
    }
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_DIR");
    let wasm = build_wasm(&workspace);
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("neurite.wasm");
    std::fs::copy(&wasm, &out).unwrap_or_else(|e| panic!("copy {} to {}: {e}", wasm.display(), out.display()));
}

/// Sets the cfg `browser` when `chromium` and `chromedriver` are on the PATH, for the page's
/// browser test (ignored, with the reason, without them; under CI their absence is an error).
fn browser_cfg() {
    println!("cargo::rustc-check-cfg=cfg(browser)");
    println!("cargo::rerun-if-env-changed=PATH");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = |program: &str| std::env::split_paths(&path).any(|d| d.join(program).is_file());
    let (chromium, driver) = (found("chromium"), found("chromedriver"));
    if chromium && driver {
        println!("cargo::rustc-cfg=browser");
    } else if std::env::var_os("NEURITE_CI").is_some() {
        panic!(
            "NEURITE_CI is set but the playground's browser test cannot run: chromium found: {chromium}, chromedriver found: {driver} \
             (apt-get install chromium chromium-driver)"
        );
    }
}

/// Whether the standard library for `TARGET` is installed for `rustc`.
fn target_installed(rustc: &std::ffi::OsStr) -> bool {
    Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .is_some_and(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
}

/// Builds the page's module (installing the target with rustup when it is missing) and
/// returns the path of the .wasm.
fn build_wasm(workspace: &Path) -> PathBuf {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if !target_installed(&rustc) {
        let added = Command::new("rustup").args(["target", "add", TARGET]).status();
        match added {
            Ok(status) if status.success() && target_installed(&rustc) => {}
            Ok(_) | Err(_) => panic!(
                "neurite's playground page needs Rust's {TARGET} target, which is not installed and \
                 `rustup target add {TARGET}` could not add it. Install it (with rustup: `rustup target add {TARGET}`; \
                 with a distribution's Rust, its rust-std package for {TARGET}) and build again."
            ),
        }
    }
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir).join("wasm-check"),
        None => workspace.join("target/wasm-check"),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "-p", "neurite-wasm", "--release", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir)
        // What cargo gives a build script for the outer build, not for this one (clippy's
        // driver, the host's flags): without them this is the same build the WebAssembly
        // test asks for, so one of the two finds it done.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .current_dir(workspace)
        .output()
        .expect("run cargo for the playground's WebAssembly module");
    if !output.status.success() {
        panic!(
            "building the playground's WebAssembly module (cargo build -p neurite-wasm --release --target {TARGET}) failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    target_dir.join(TARGET).join("release/neurite_wasm.wasm")
}
