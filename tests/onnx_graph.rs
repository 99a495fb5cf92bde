//! ONNX export of traced autograd graphs (`io::graph_to_onnx`): the structure of the files,
//! the operations refused, and their values in ONNX Runtime. The models are written with
//! their inputs and neurite's own outputs (two batch sizes: the batch axis is dynamic) into
//! a folder that `scripts/onnx_graph_check.py` runs through `onnx.checker` and ONNX Runtime
//! when `NEURITE_PYTHON` names a Python with onnx and onnxruntime; the same files are
//! committed in `tests/fixtures/onnx_graph/` (checked so when they were written), and the
//! export must still give them byte for byte (`NEURITE_WRITE_FIXTURES=1` rewrites them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use neurite::{io, Tensor, Var};

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(values(shape.iter().product(), seed), shape).unwrap()
}

fn param(shape: &[usize], seed: u64) -> Var {
    Var::parameter(tensor(shape, seed))
}

/// A traced example input: requires grad, so that every operation on it is recorded.
fn input(shape: &[usize], seed: u64) -> Var {
    Var::parameter(tensor(shape, seed))
}

type Named = Vec<(String, Var)>;
/// A forward pass: inputs to named outputs.
type Forward = Box<dyn Fn(&[Var]) -> Named>;

struct Case {
    name: &'static str,
    params: Named,
    /// The forward pass: inputs to named outputs.
    forward: Forward,
    /// Input shapes without the batch.
    inputs: Vec<(&'static str, Vec<usize>)>,
}

fn mlp() -> Case {
    // PyTorch's nn.Linear(4, 8), ReLU, nn.Linear(8, 3), softmax: weight (out, in), x @ W.T + b.
    let params: Named = vec![
        ("fc1.weight".into(), param(&[8, 4], 1)),
        ("fc1.bias".into(), param(&[8], 2)),
        ("fc2.weight".into(), param(&[3, 8], 3)),
        ("fc2.bias".into(), param(&[3], 4)),
    ];
    let p: Vec<Var> = params.iter().map(|(_, v)| v.clone()).collect();
    Case {
        name: "mlp",
        params,
        forward: Box::new(move |x| {
            let h = x[0].matmul(&p[0].t().unwrap()).unwrap().add(&p[1]).unwrap().relu().unwrap();
            let logits = h.matmul(&p[2].t().unwrap()).unwrap().add(&p[3]).unwrap();
            vec![("probabilities".into(), logits.softmax(-1).unwrap())]
        }),
        inputs: vec![("x", vec![4])],
    }
}

/// The same network as neurite.torch's `nn.Linear` runs it: one `linear` operation per layer
/// (ONNX's Gemm), and a 3-d input through a linear layer without bias (Transpose, MatMul).
fn linear() -> Case {
    let params: Named = vec![
        ("fc1.weight".into(), param(&[8, 4], 11)),
        ("fc1.bias".into(), param(&[8], 12)),
        ("fc2.weight".into(), param(&[3, 8], 13)),
        ("proj.weight".into(), param(&[2, 4], 14)),
    ];
    let p: Vec<Var> = params.iter().map(|(_, v)| v.clone()).collect();
    Case {
        name: "linear",
        params,
        forward: Box::new(move |x| {
            let h = x[0].linear(&p[0], Some(&p[1])).unwrap().relu().unwrap();
            let logits = h.linear(&p[2], None).unwrap();
            let projected = x[1].linear(&p[3], None).unwrap();
            vec![("logits".into(), logits), ("projected".into(), projected)]
        }),
        inputs: vec![("x", vec![4]), ("seq", vec![5, 4])],
    }
}

fn mixed() -> Case {
    let params: Named = vec![("w".into(), param(&[2, 4], 5)), ("scale".into(), param(&[4], 6))];
    let p: Vec<Var> = params.iter().map(|(_, v)| v.clone()).collect();
    // A constant used in the forward pass (not a parameter).
    let offset = Var::constant(tensor(&[6], 7));
    Case {
        name: "mixed",
        params,
        forward: Box::new(move |x| {
            let x = &x[0];
            let a = x.add(&offset).unwrap(); // (B, 6), broadcasting a constant
            let r = a.reshape(&[-1, 2, 3]).unwrap(); // (B, 2, 3)
            let perm = r.permute(&[0, 2, 1]).unwrap(); // (B, 3, 2)
            let m = perm.matmul(&p[0]).unwrap(); // batched matmul, broadcast (B, 3, 4)
            let s = m.sum_axis(1, true).unwrap(); // (B, 1, 4)
            let q = s.squeeze_axis(1).unwrap().mul(&p[1]).unwrap(); // (B, 4)
            let k = Var::cat(&[&q, &x.narrow(1, 0, 2).unwrap()], 1).unwrap(); // (B, 6)
            let sg = k.clamp(-0.5, 0.7).unwrap().sigmoid().unwrap();
            let ls = sg.mul_scalar(3.0).unwrap().log_softmax(-1).unwrap();
            // Through the transpose: the mean of each example, (B,) then (B, 1).
            let mean = a.t().unwrap().mean_axis(0, false).unwrap().unsqueeze(1).unwrap();
            let first = ls.add(&mean).unwrap();
            // A flattened view and back: (B * 6,) then (B, 6).
            let flat = first.flatten().unwrap().reshape(&[-1, 6]).unwrap();
            vec![("first".into(), flat), ("total".into(), s.sum().unwrap())]
        }),
        inputs: vec![("x", vec![6])],
    }
}

fn elementwise() -> Case {
    let params: Named = vec![("b".into(), param(&[6], 8))];
    let p: Vec<Var> = params.iter().map(|(_, v)| v.clone()).collect();
    let cond = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0], &[6]).unwrap();
    Case {
        name: "elementwise",
        params,
        forward: Box::new(move |ins| {
            let (x, y) = (&ins[0], &ins[1]);
            let pos = x.abs().unwrap().add_scalar(1.0).unwrap();
            let e = pos.sqrt().unwrap().log().unwrap().neg().unwrap().exp().unwrap().powf(2.0).unwrap();
            let d = y.div(&pos).unwrap().sub(&p[0]).unwrap();
            let mx = d.maximum(&x.tanh().unwrap()).unwrap().minimum(&e).unwrap();
            let acts =
                x.leaky_relu(0.1).unwrap().add(&y.elu(0.5).unwrap()).unwrap().add(&x.softplus().unwrap()).unwrap();
            let w = Var::where_cond(&cond, &mx, &acts).unwrap();
            let pw = pos.pow(&y.mul_scalar(0.5).unwrap()).unwrap();
            let picked = w.index_select(1, &[5, 0, 0, 3]).unwrap(); // (B, 4)
            let stacked = Var::stack(&[&picked, &pw.narrow(1, 2, 4).unwrap()], 1).unwrap(); // (B, 2, 4)
            let wide = x.unsqueeze(1).unwrap().broadcast_to(&[x.shape()[0], 2, 6]).unwrap(); // (B, 2, 6)
            let big = wide.max_axis(2, true).unwrap().add(&stacked).unwrap(); // (B, 2, 4)
            let softmax_mid = big.softmax(1).unwrap(); // over a middle axis: transposes around it
            let full = x.mean().unwrap().add(&y.max().unwrap()).unwrap();
            vec![("values".into(), softmax_mid), ("scalar".into(), full), ("mx".into(), mx)]
        }),
        inputs: vec![("x", vec![6]), ("y", vec![6])],
    }
}

fn layers() -> Case {
    let params: Named = vec![("fc.weight".into(), param(&[6, 2], 9))];
    let p: Vec<Var> = params.iter().map(|(_, v)| v.clone()).collect();
    Case {
        name: "layers",
        params,
        forward: Box::new(move |x| {
            let x = &x[0]; // (B, 2, 3)
            let rows = x.shape()[0];
            // Layers run as one custom operation that ONNX can still express: Flatten, and
            // Dropout at inference.
            let value = x.value().reshape(&[rows as isize, 6]).unwrap();
            let flat = Var::custom("Flatten", vec![x.clone()], value, Arc::new(|g, _| Ok(vec![Some(g.clone())])));
            let kept =
                Var::custom("Dropout", vec![flat.clone()], flat.value(), Arc::new(|g, _| Ok(vec![Some(g.clone())])));
            let y = kept.matmul(&p[0]).unwrap();
            let step = y.step().unwrap();
            let linear = y.activate(neurite::nn::Activation::Identity).unwrap();
            vec![("y".into(), linear.add(&step).unwrap())]
        }),
        inputs: vec![("x", vec![2, 3])],
    }
}

fn cases() -> Vec<Case> {
    vec![mlp(), linear(), mixed(), elementwise(), layers()]
}

/// Exports a case traced at batch 5 and writes it with two cases (batch 5 and 3) to `dir`.
fn write_case(case: &Case, dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (k, batch) in [5usize, 3].into_iter().enumerate() {
        let inputs: Named = case
            .inputs
            .iter()
            .enumerate()
            .map(|(i, (name, shape))| {
                let mut s = vec![batch];
                s.extend(shape);
                (name.to_string(), input(&s, 100 + 10 * k as u64 + i as u64))
            })
            .collect();
        let vars: Vec<Var> = inputs.iter().map(|(_, v)| v.clone()).collect();
        let outputs = (case.forward)(&vars);
        if k == 0 {
            bytes = io::graph_to_onnx(&inputs, &outputs, &case.params, true).unwrap();
            std::fs::write(dir.join(format!("{}.onnx", case.name)), &bytes).unwrap();
        }
        let values = |named: &Named| named.iter().map(|(n, v)| (n.clone(), v.value())).collect::<Vec<_>>();
        io::npy::save_npz(&dir.join(format!("{}.case{k}.inputs.npz", case.name)), &values(&inputs)).unwrap();
        io::npy::save_npz(&dir.join(format!("{}.case{k}.outputs.npz", case.name)), &values(&outputs)).unwrap();
    }
    bytes
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neurite-onnx-graph-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx_graph")
}

// ------------------------------------------------------------------------------------
// A protobuf reader just large enough to look at the files' structure.

enum Field<'a> {
    Int(u64),
    Bytes(&'a [u8]),
}

fn fields(mut b: &[u8]) -> Vec<(u32, Field<'_>)> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = b[0];
            *b = &b[1..];
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        let field = (key >> 3) as u32;
        match key & 7 {
            0 => out.push((field, Field::Int(varint(&mut b)))),
            2 => {
                let n = varint(&mut b) as usize;
                out.push((field, Field::Bytes(&b[..n])));
                b = &b[n..];
            }
            5 => b = &b[4..],
            1 => b = &b[8..],
            w => panic!("wire type {w}"),
        }
    }
    out
}

fn strings(b: &[u8], field: u32) -> Vec<String> {
    fields(b)
        .into_iter()
        .filter_map(|(f, v)| match v {
            Field::Bytes(s) if f == field => Some(String::from_utf8(s.to_vec()).unwrap()),
            _ => None,
        })
        .collect()
}

fn messages(b: &[u8], field: u32) -> Vec<&[u8]> {
    fields(b)
        .into_iter()
        .filter_map(|(f, v)| match v {
            Field::Bytes(s) if f == field => Some(s),
            _ => None,
        })
        .collect()
}

struct Structure {
    ops: Vec<String>,
    initializers: Vec<String>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Each output's dimensions: a size, or the name of a symbolic one.
    output_dims: Vec<Vec<String>>,
    opset: u64,
}

fn structure(model: &[u8]) -> Structure {
    let graph = messages(model, 7)[0];
    let opset = messages(model, 8)
        .iter()
        .flat_map(|o| fields(o))
        .find_map(|(f, v)| match v {
            Field::Int(n) if f == 2 => Some(n),
            _ => None,
        })
        .unwrap();
    let dims = |info: &[u8]| -> Vec<String> {
        let ty = messages(info, 2)[0];
        let tensor = messages(ty, 1)[0];
        let shape = messages(tensor, 2)[0];
        messages(shape, 1)
            .into_iter()
            .map(|d| match &fields(d)[0] {
                (1, Field::Int(n)) => n.to_string(),
                (2, Field::Bytes(s)) => String::from_utf8(s.to_vec()).unwrap(),
                _ => panic!("a dimension"),
            })
            .collect()
    };
    Structure {
        ops: messages(graph, 1).into_iter().flat_map(|n| strings(n, 4)).collect(),
        initializers: messages(graph, 5).into_iter().flat_map(|t| strings(t, 8)).collect(),
        inputs: messages(graph, 11).into_iter().flat_map(|i| strings(i, 1)).collect(),
        outputs: messages(graph, 12).into_iter().flat_map(|o| strings(o, 1)).collect(),
        output_dims: messages(graph, 12).into_iter().map(dims).collect(),
        opset,
    }
}

// ------------------------------------------------------------------------------------

#[test]
fn an_mlp_becomes_matmul_add_relu_softmax_with_named_weights() {
    let dir = temp_dir("mlp");
    let bytes = write_case(&mlp(), &dir);
    let s = structure(&bytes);
    assert_eq!(s.opset, 17);
    assert_eq!(s.ops, ["Transpose", "MatMul", "Add", "Relu", "Transpose", "MatMul", "Add", "Softmax"]);
    assert_eq!(s.initializers, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    assert_eq!(s.inputs, ["x"]);
    assert_eq!(s.outputs, ["probabilities"]);
    assert_eq!(s.output_dims, [["batch", "3"]]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_operation_of_the_mixed_graphs_is_written() {
    let dir = temp_dir("mixed");
    let s = structure(&write_case(&mixed(), &dir));
    for op in [
        "Add",
        "Reshape",
        "Transpose",
        "MatMul",
        "ReduceSum",
        "Squeeze",
        "Mul",
        "Slice",
        "Concat",
        "Clip",
        "Sigmoid",
        "LogSoftmax",
        "ReduceMean",
        "Unsqueeze",
    ] {
        assert!(s.ops.iter().any(|o| o == op), "{op} missing from {:?}", s.ops);
    }
    // The constant is an initializer of its own beside the parameters.
    assert!(s.initializers.iter().any(|n| n.starts_with("constant_")), "{:?}", s.initializers);
    assert!(s.initializers.iter().any(|n| n == "w") && s.initializers.iter().any(|n| n == "scale"));
    assert_eq!(s.outputs, ["first", "total"]);
    assert_eq!(s.output_dims, [vec!["batch", "6"], vec![]]);
    let s = structure(&write_case(&elementwise(), &dir));
    for op in [
        "Abs",
        "Sqrt",
        "Log",
        "Neg",
        "Exp",
        "Pow",
        "Div",
        "Sub",
        "Max",
        "Min",
        "Tanh",
        "LeakyRelu",
        "Elu",
        "Softplus",
        "Where",
        "Gather",
        "Expand",
        "ReduceMax",
        "Softmax",
        "ReduceMean",
    ] {
        assert!(s.ops.iter().any(|o| o == op), "{op} missing from {:?}", s.ops);
    }
    assert_eq!(s.inputs, ["x", "y"]);
    assert_eq!(s.output_dims, [vec!["batch", "2", "4"], vec![], vec!["batch", "6"]]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flatten_and_dropout_layers_step_and_identity_are_written() {
    let dir = temp_dir("layers");
    let s = structure(&write_case(&layers(), &dir));
    assert_eq!(s.ops, ["Reshape", "Identity", "MatMul", "Identity", "Greater", "Cast", "Add"]);
    assert_eq!(s.output_dims, [["batch", "2"]]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_fixed_batch_has_no_symbolic_axis() {
    let x = input(&[2, 3], 1);
    let y = x.reshape(&[3, 2]).unwrap().relu().unwrap();
    let bytes = io::graph_to_onnx(&[("x".into(), x)], &[("y".into(), y)], &[], false).unwrap();
    let s = structure(&bytes);
    assert_eq!(s.ops, ["Reshape", "Relu"]);
    assert_eq!(s.output_dims, [["3", "2"]]);
}

#[test]
fn outputs_that_are_inputs_or_repeated_are_copied() {
    let x = input(&[2, 3], 1);
    let y = x.exp().unwrap();
    let bytes = io::graph_to_onnx(
        &[("x".into(), x.clone())],
        &[("y".into(), y.clone()), ("y_again".into(), y), ("x_out".into(), x)],
        &[],
        true,
    )
    .unwrap();
    let s = structure(&bytes);
    assert_eq!(s.ops, ["Exp", "Identity", "Identity"]);
    assert_eq!(s.outputs, ["y", "y_again", "x_out"]);
}

#[test]
fn what_cannot_be_exported_is_an_error_that_names_it() {
    let x = input(&[2, 3], 1);
    // A layer run as one custom operation.
    let dense = Var::custom("Dense", vec![x.clone()], x.value(), Arc::new(|g, _| Ok(vec![Some(g.clone())])));
    let err = io::graph_to_onnx(&[("x".into(), x.clone())], &[("y".into(), dense)], &[], true).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("onnx export: the operation `Dense`") && msg.contains("has no ONNX counterpart here"),
        "{msg}"
    );
    // A dropout that dropped something (training mode); at inference it is the identity.
    let dropped =
        Var::custom("Dropout", vec![x.clone()], Tensor::zeros(&[2, 3]), Arc::new(|g, _| Ok(vec![Some(g.clone())])));
    let msg =
        io::graph_to_onnx(&[("x".into(), x.clone())], &[("y".into(), dropped)], &[], true).unwrap_err().to_string();
    assert!(msg.contains("`Dropout`") && msg.contains("evaluation mode"), "{msg}");
    let kept = Var::custom("Dropout", vec![x.clone()], x.value(), Arc::new(|g, _| Ok(vec![Some(g.clone())])));
    let bytes = io::graph_to_onnx(&[("x".into(), x.clone())], &[("y".into(), kept)], &[], true).unwrap();
    assert_eq!(structure(&bytes).ops, ["Identity"]);
    // A forward pass traced without recording: the output is a constant.
    let w = param(&[3, 2], 2);
    let traced_without = neurite::autograd::no_grad(|| x.matmul(&w).unwrap());
    let msg = io::graph_to_onnx(
        &[("x".into(), x.clone())],
        &[("y".into(), traced_without)],
        &[("w".into(), w.clone())],
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("no output depends on the input `x`") && msg.contains("no_grad"), "{msg}");
    // Names: empty, twice.
    let y = x.matmul(&w).unwrap();
    let msg =
        io::graph_to_onnx(&[("x".into(), x.clone())], &[("w".into(), y.clone())], &[("w".into(), w.clone())], true)
            .unwrap_err()
            .to_string();
    assert!(msg.contains("the name `w` is given twice"), "{msg}");
    let msg =
        io::graph_to_onnx(&[("".into(), x.clone())], &[("y".into(), y.clone())], &[], true).unwrap_err().to_string();
    assert!(msg.contains("empty name"), "{msg}");
    // A reshape that splits the batch axis cannot keep it dynamic; with a fixed batch it can.
    let x4 = input(&[4, 3], 3);
    let split = x4.reshape(&[2, 6]).unwrap().exp().unwrap();
    let msg = io::graph_to_onnx(&[("x".into(), x4.clone())], &[("y".into(), split.clone())], &[], true)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("reshape from (4, 3) to (2, 6) splits the batch axis"), "{msg}");
    io::graph_to_onnx(&[("x".into(), x4)], &[("y".into(), split)], &[], false).unwrap();
    // A parameter that is not finite.
    let nan = Var::parameter(Tensor::from_vec(vec![f32::NAN; 6], &[3, 2]).unwrap());
    let y = x.matmul(&nan).unwrap();
    let msg = io::graph_to_onnx(&[("x".into(), x)], &[("y".into(), y)], &[("fc.weight".into(), nan)], true)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("fc.weight"), "{msg}");
}

#[test]
fn save_graph_onnx_writes_the_file_atomically() {
    let dir = temp_dir("save");
    let x = input(&[2, 3], 1);
    let y = x.sigmoid().unwrap();
    let path = dir.join("model.onnx");
    io::save_graph_onnx(&[("x".into(), x.clone())], &[("y".into(), y.clone())], &[], true, &path).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        io::graph_to_onnx(&[("x".into(), x)], &[("y".into(), y)], &[], true).unwrap()
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn onnx_runtime_agrees_with_neurite() {
    let dir = temp_dir("ort");
    let write_fixtures = std::env::var_os("NEURITE_WRITE_FIXTURES").is_some();
    if write_fixtures {
        std::fs::create_dir_all(fixture_dir()).unwrap();
    }
    for case in cases() {
        let bytes = write_case(&case, &dir);
        if write_fixtures {
            write_case(&case, &fixture_dir());
        }
        // The committed files, which ONNX Runtime checked when they were written, are still
        // what the export writes.
        let committed = std::fs::read(fixture_dir().join(format!("{}.onnx", case.name))).unwrap();
        assert!(
            committed == bytes,
            "{}.onnx differs from tests/fixtures/onnx_graph: rewrite with NEURITE_WRITE_FIXTURES=1 and check with \
             scripts/onnx_graph_check.py",
            case.name
        );
    }
    let Some(python) = std::env::var_os("NEURITE_PYTHON") else {
        // Straight to stderr, past the test harness's capture, so that the skip shows.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the ONNX Runtime check: set NEURITE_PYTHON to a Python with onnx and onnxruntime"
        );
        std::fs::remove_dir_all(&dir).ok();
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/onnx_graph_check.py");
    let out = std::process::Command::new(python).arg(script).arg(&dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "ONNX Runtime disagrees:\n{text}");
    assert!(text.contains("ok: 5 models, 10 cases"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn odd_shapes_are_written_or_refused_without_panicking() {
    let try_export = |x: &Var, y: Var, dynamic: bool| {
        io::graph_to_onnx(&[("x".into(), x.clone())], &[("y".into(), y)], &[], dynamic)
    };
    // A batch of one, of none, a 0-d input.
    for shape in [vec![1, 3], vec![0, 3], vec![1, 1], vec![3, 1]] {
        let x = input(&shape, 1);
        for dynamic in [true, false] {
            let outs = vec![
                x.reshape(&[-1]).unwrap(),
                x.unsqueeze(0).unwrap(),
                x.unsqueeze(2).unwrap().squeeze_axis(2).unwrap(),
                x.t().unwrap().reshape(&[-1]).unwrap(),
                x.sum_axis(0, false).unwrap(),
                x.sum().unwrap(),
                x.matmul(&x.t().unwrap()).unwrap(),
                x.t().unwrap().matmul(&x).unwrap(),
                Var::cat(&[&x, &x], 0).unwrap(),
                x.narrow(1, 0, 1).unwrap(),
            ];
            for y in outs {
                let _ = try_export(&x, y, dynamic).map(|b| assert!(!b.is_empty()));
            }
        }
    }
    let scalar = input(&[], 1);
    let msg = try_export(&scalar, scalar.exp().unwrap(), true).unwrap_err().to_string();
    assert!(msg.contains("0-d"), "{msg}");
    try_export(&scalar, scalar.exp().unwrap(), false).unwrap();
    // Inputs of two batch sizes cannot share one dynamic batch.
    let (a, b) = (input(&[2, 3], 1), input(&[4, 3], 2));
    let y = a.sum().unwrap().add(&b.sum().unwrap()).unwrap();
    let msg =
        io::graph_to_onnx(&[("a".into(), a), ("b".into(), b)], &[("y".into(), y)], &[], true).unwrap_err().to_string();
    assert!(msg.contains("batch of 4"), "{msg}");
    // No outputs.
    assert!(io::graph_to_onnx(&[], &[], &[], true).is_err());
}
