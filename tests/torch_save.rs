//! `torch.save` files of any named tensors, f32 and int64, 0-d included: round trips through
//! neurite, a file PyTorch wrote read with exact values, and (with `NEURITE_TORCH_PYTHON`
//! naming a Python that has torch) neurite's file read back by `torch.load(weights_only=True)`
//! through `scripts/torch_save_fixtures.py`.

use std::path::{Path, PathBuf};

use neurite::io::{self, TorchValue};
use neurite::Tensor;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn sample() -> Vec<(String, TorchValue)> {
    vec![
        (
            "fc1.weight".to_string(),
            TorchValue::F32(Tensor::from_vec(vec![0.5, -1.25, 3.0, 1e-7, -0.0, 7.5], &[2, 3]).unwrap()),
        ),
        ("fc1.bias".to_string(), TorchValue::F32(Tensor::from_vec(vec![0.1, -0.2], &[2]).unwrap())),
        ("scale".to_string(), TorchValue::F32(Tensor::from_vec(vec![2.5], &[]).unwrap())),
        ("bn.num_batches_tracked".to_string(), TorchValue::I64 { shape: vec![], values: vec![123_456_789_012] }),
        ("counts".to_string(), TorchValue::I64 { shape: vec![2, 2], values: vec![-1, 0, i64::MAX, i64::MIN] }),
        ("empty".to_string(), TorchValue::F32(Tensor::from_vec(vec![], &[0, 3]).unwrap())),
    ]
}

#[test]
fn named_tensors_round_trip_exactly() {
    let tensors = sample();
    let bytes = io::state_dict_to_pt_bytes(&tensors, None).unwrap();
    let back = io::read_state_dict_values(&bytes).unwrap();
    assert_eq!(back, tensors);
    assert_eq!(back[2].1.shape(), &[] as &[usize]);
    assert_eq!(back[3].1.dtype(), "int64");
    // The f32 reader gives the integers as f32 (rounded above 2^24), in the same order.
    let floats = io::torch::read_state_dict(&bytes).unwrap();
    let keys: Vec<&str> = floats.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["fc1.weight", "fc1.bias", "scale", "bn.num_batches_tracked", "counts", "empty"]);
    assert_eq!(floats[2].1.shape(), &[] as &[usize]);
    assert_eq!(floats[2].1.to_vec(), [2.5]);
    assert_eq!(floats[3].1.to_vec(), [123_456_789_012i64 as f32]);
    assert_eq!(
        floats[0].1,
        *match &tensors[0].1 {
            TorchValue::F32(t) => t,
            _ => unreachable!(),
        }
    );
    // Without an architecture no neurite entry is written; with one it is, and it changes
    // nothing PyTorch reads.
    let with = io::state_dict_to_pt_bytes(&tensors, Some("{}")).unwrap();
    assert_eq!(io::read_state_dict_values(&with).unwrap(), tensors);
    assert!(with.len() > bytes.len());
}

#[test]
fn the_file_is_written_atomically_and_read_back() {
    let dir = std::env::temp_dir().join(format!("neurite-torch-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.pt");
    io::save_state_dict_pt(&sample(), None, &path).unwrap();
    assert_eq!(io::load_state_dict_values(&path).unwrap(), sample());
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left: {leftovers:?}");
    let err = io::save_state_dict_pt(&sample(), None, &dir.join("no/such/dir/state.pt")).unwrap_err().to_string();
    assert!(err.contains("state.pt"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_state_dicts_are_errors_that_name_the_tensor() {
    let twice = vec![
        ("w".to_string(), TorchValue::F32(Tensor::zeros(&[2]))),
        ("w".to_string(), TorchValue::F32(Tensor::zeros(&[3]))),
    ];
    let err = io::state_dict_to_pt_bytes(&twice, None).unwrap_err().to_string();
    assert!(err.contains("\"w\" appears twice"), "{err}");
    let short = vec![("n".to_string(), TorchValue::I64 { shape: vec![2, 3], values: vec![1, 2] })];
    let err = io::state_dict_to_pt_bytes(&short, None).unwrap_err().to_string();
    assert!(err.contains("int64 tensor n of shape (2, 3) needs 6 values, it has 2"), "{err}");
    let overflow = vec![("big".to_string(), TorchValue::I64 { shape: vec![usize::MAX, 2], values: vec![] })];
    let err = io::state_dict_to_pt_bytes(&overflow, None).unwrap_err().to_string();
    assert!(err.contains("big"), "{err}");
}

/// The fixture's expected tensors, from the JSON the script wrote beside it.
fn expected(json: &Path) -> Vec<(String, TorchValue)> {
    let entries: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    entries
        .iter()
        .map(|e| {
            let key = e["key"].as_str().unwrap().to_string();
            let shape: Vec<usize> =
                e["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            let values = e["values"].as_array().unwrap();
            let value = match e["dtype"].as_str().unwrap() {
                "float32" => TorchValue::F32(
                    Tensor::from_vec(values.iter().map(|v| v.as_f64().unwrap() as f32).collect(), &shape).unwrap(),
                ),
                "int64" => TorchValue::I64 { shape, values: values.iter().map(|v| v.as_i64().unwrap()).collect() },
                other => panic!("dtype {other}"),
            };
            (key, value)
        })
        .collect()
}

#[test]
fn a_state_dict_pytorch_saved_is_read_with_exact_values() {
    // nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)) after three steps, by torch 2.15's
    // torch.save (scripts/torch_save_fixtures.py make).
    let bytes = std::fs::read(fixtures().join("torch_save_linear_bn.pt")).unwrap();
    let got = io::read_state_dict_values(&bytes).unwrap();
    let want = expected(&fixtures().join("torch_save_linear_bn.json"));
    assert_eq!(got, want);
    let (key, tracked) = &got[6];
    assert_eq!(key, "1.num_batches_tracked");
    assert_eq!(tracked, &TorchValue::I64 { shape: vec![], values: vec![3] });
    // Written again by neurite, read again the same.
    let again = io::state_dict_to_pt_bytes(&got, None).unwrap();
    assert_eq!(io::read_state_dict_values(&again).unwrap(), want);
}

#[test]
fn pytorch_loads_what_neurite_saves() {
    let Some(python) = std::env::var_os("NEURITE_TORCH_PYTHON") else {
        // Straight to stderr, past the test harness's capture, so that the skip shows.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED pytorch_loads_what_neurite_saves: set NEURITE_TORCH_PYTHON to a Python with torch"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("neurite-torch-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut tensors = sample();
    tensors.extend(
        io::read_state_dict_values(&std::fs::read(fixtures().join("torch_save_linear_bn.pt")).unwrap()).unwrap(),
    );
    let path = dir.join("neurite.pt");
    io::save_state_dict_pt(&tensors, None, &path).unwrap();
    let json: Vec<serde_json::Value> = tensors
        .iter()
        .map(|(k, v)| {
            let values: Vec<serde_json::Value> = match v {
                TorchValue::F32(t) => t.to_vec().iter().map(|&x| serde_json::json!(f64::from(x))).collect(),
                TorchValue::I64 { values, .. } => values.iter().map(|&x| serde_json::json!(x)).collect(),
            };
            serde_json::json!({"key": k, "dtype": v.dtype(), "shape": v.shape(), "values": values})
        })
        .collect();
    let expected = dir.join("expected.json");
    std::fs::write(&expected, serde_json::to_string(&json).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/torch_save_fixtures.py");
    let out = std::process::Command::new(python).arg(script).arg("check").arg(&path).arg(&expected).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "torch.load disagrees:\n{text}");
    assert!(text.contains(&format!("ok: {} tensors", tensors.len())), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
