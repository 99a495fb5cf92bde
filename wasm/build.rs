// Tells the WebAssembly test whether it can run here: it needs the wasm32-unknown-unknown
// target and `node`. Without them the test is marked ignored, with the reason, so that
// `cargo test` lists it as not run instead of passing it; under CI (`NEURITE_CI` set) their
// absence is an error.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasm_check)");
    println!("cargo::rerun-if-env-changed=NEURITE_CI");
    println!("cargo::rerun-if-env-changed=PATH");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-unknown-unknown"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .is_some_and(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")));
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    match (target, node) {
        (true, true) => println!("cargo::rustc-cfg=wasm_check"),
        _ if std::env::var_os("NEURITE_CI").is_some() => panic!(
            "NEURITE_CI is set but the WebAssembly check cannot run: wasm32-unknown-unknown target installed: {target}, node found: {node}"
        ),
        _ => {}
    }
}
