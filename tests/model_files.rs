//! Model files and checkpoints, read back and broken: every damaged file is a clear error that
//! names what is wrong, never a panic, and a model survives the round trip bit for bit.

use std::collections::HashMap;

use neurite::io;
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::train::{Metric, Sequential};

fn model() -> Sequential {
    let mut m = Sequential::with_seed(3);
    m.add(Dense::new(4).activation(Activation::Relu).input_shape(3)).unwrap();
    m.add(Dense::new(2).activation(Activation::Softmax)).unwrap();
    m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy]).unwrap();
    m
}

/// A safetensors file by hand: a header (JSON) and data.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

#[test]
fn a_model_round_trips_with_its_optimiser_state() {
    let m = model();
    let back = io::model_from_bytes(&io::model_bytes(&m).unwrap()).unwrap();
    assert_eq!(back.params().snapshot().unwrap(), m.params().snapshot().unwrap());
    assert_eq!(back.config(), m.config());
    assert_eq!(back.loss(), m.loss());
    assert_eq!(back.optimizer_state(), m.optimizer_state());
}

#[test]
fn damaged_model_files_are_clear_errors() {
    let good = io::model_bytes(&model()).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&good).unwrap();
    let metadata: HashMap<String, String> = meta.metadata().clone().unwrap();
    let architecture = metadata["neurite.architecture"].clone();
    let with_metadata = |extra: &str, tensors: &str| {
        format!(
            r#"{{"__metadata__":{{"neurite.format":"2","neurite.architecture":{}{extra}}}{tensors}}}"#,
            serde_json::to_string(&architecture).unwrap()
        )
    };
    let kernel0 = r#","dense/kernel":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]}"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "not a safetensors file"),
        ("truncated", good[..good.len() - 10].to_vec(), "safetensors"),
        ("a zip", b"PK\x03\x04 and more bytes".to_vec(), "not a safetensors file"),
        (
            "a header longer than the file",
            {
                let mut b = (1u64 << 40).to_le_bytes().to_vec();
                b.extend(b"{}");
                b
            },
            "not a safetensors file",
        ),
        ("header not JSON", file("{not json", &[]), "not a safetensors file"),
        ("no architecture", file(r#"{"__metadata__":{"neurite.format":"2"}}"#, &[]), "no neurite architecture"),
        (
            "a future format",
            file(r#"{"__metadata__":{"neurite.format":"9","neurite.architecture":"{}"}}"#, &[]),
            "unsupported neurite format",
        ),
        (
            "architecture not valid",
            file(r#"{"__metadata__":{"neurite.format":"2","neurite.architecture":"{\"layers\":5}"}}"#, &[]),
            "the architecture is not valid",
        ),
        (
            "missing tensors",
            file(&with_metadata("", ""), &[]),
            "the architecture describes 26 parameter values, the file holds 0 (no tensor): tensors are missing",
        ),
        (
            "a tensor of the wrong shape",
            file(
                &with_metadata("", r#","dense/kernel":{"dtype":"F32","shape":[4,3],"data_offsets":[0,48]}"#),
                &[0; 48],
            ),
            "the architecture describes 26 parameter values, the file holds 12 (dense/kernel (4, 3))",
        ),
        (
            "integer values",
            file(
                &with_metadata("", r#","dense/kernel":{"dtype":"I64","shape":[3,4],"data_offsets":[0,96]}"#),
                &[0; 96],
            ),
            "tensor dense/kernel: I64 values, neurite reads F32 and F64",
        ),
        ("data shorter than declared", file(&with_metadata("", kernel0), &[0; 20]), "safetensors"),
        (
            "offsets past the data",
            file(
                &with_metadata("", r#","dense/kernel":{"dtype":"F32","shape":[3,4],"data_offsets":[0,4800000000]}"#),
                &[0; 48],
            ),
            "safetensors",
        ),
    ];
    for (name, bytes, message) in cases {
        let err = io::model_from_bytes(&bytes).expect_err(name).to_string();
        assert!(err.contains(message), "{name}: expected {message:?} in {err}");
    }
    // From a file, the error names it.
    let path = std::env::temp_dir().join(format!("neurite-broken-{}.safetensors", std::process::id()));
    std::fs::write(&path, b"garbage").unwrap();
    let err = io::load_model(&path).unwrap_err().to_string();
    assert!(err.starts_with("format error: ") && err.contains(&path.display().to_string()), "{err}");
    assert_eq!(err.matches("format error").count(), 1, "{err}");
    std::fs::remove_file(&path).unwrap();
}
