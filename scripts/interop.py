#!/usr/bin/env python3
"""Proof across frameworks: models go from PyTorch to neurite and from neurite to PyTorch,
ONNX Runtime and NumPy, and every pair agrees on the 10,000 MNIST test images.

    pip install torch numpy onnx onnxruntime onnxscript safetensors
    cargo build --release
    python scripts/interop.py --neurite target/release/neurite --data ../shared/data/mnist

1. PyTorch trains an MLP (784-64 ReLU-10, one epoch of Adam) and saves it the ways people
   do: torch.save(state_dict) (.pt), safetensors, torch.onnx.export, and NumPy arrays
   W1, b1, ... (np.savez). neurite imports each (`neurite import`, or `eval --weights` for
   the arrays) and writes its outputs on the test set (`neurite eval --outputs`); they must
   match PyTorch's logits.
2. neurite trains the notes' MLP (784-50 sigmoid-10 softmax), and `neurite export` writes
   ONNX, a PyTorch state_dict and NumPy arrays. onnx.checker must accept the ONNX file, ONNX
   Runtime must run it at any batch size, PyTorch must load the state_dict into
   nn.Sequential(Linear, Sigmoid, Linear, Softmax), NumPy must compute the same forward
   pass from the arrays; all must match neurite's own outputs.

3. The same for a convnet (issue 27, point 6). PyTorch trains Conv2d(1, 8, 3) ReLU,
   MaxPool2d(2), Conv2d(8, 16, 3, padding=1) ReLU, AvgPool2d(2), Flatten, Linear(576, 10)
   for one epoch on 12,000 images and saves it with both ONNX exporters (the dynamo one with
   its .onnx.data beside the model) and torch.save; neurite imports each (the state_dict with
   `--layers` and `--input-shape`, since it does not record the architecture) and must give
   PyTorch's logits. neurite trains `conv:8:3:relu,maxpool:2,flatten,dense:10:softmax` and
   exports it: ONNX Runtime (channels-last input) and the printed nn.Sequential loaded with
   the state_dict (channels-first input) must give neurite's outputs, and both files must
   import back to the same outputs.

"Match" is a maximum absolute difference below 1e-5 on every output of every test image
(for the logits of PyTorch's trained convnet, which reach tens, 1e-5 of their largest value):
float32 sums of 784 products come out in a different order in each framework, which moves
the last bits (measured differences are around 1e-6). Exits 1 if any comparison fails.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

TOLERANCE = 1e-5


def idx(path):
    """An IDX file (gzip'd or not) as a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data_dir, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(data_dir, name)):
            return os.path.join(data_dir, name)
    sys.exit(f"{stem} not found in {data_dir}")


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return out.stdout


results = []


def compare(what, a, b, relative=False):
    """With `relative`, the difference is measured against the outputs' scale, max(1, max |a|):
    a trained convnet's logits reach tens, where float32's spacing alone is a few 1e-6, and a
    sum of hundreds of products in another order moves them by a few spacings."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} and {b.shape}"
    diff = float(np.abs(a - b).max())
    agree = float((a.argmax(1) == b.argmax(1)).mean())
    scale = max(1.0, float(np.abs(a).max())) if relative else 1.0
    ok = diff / scale < TOLERANCE
    results.append(ok)
    extra = f" (max |logit| {scale:.1f}: relative {diff / scale:.1e})" if relative else ""
    print(f"{'ok  ' if ok else 'FAIL'} {what:<58} max |diff| = {diff:.2e}{extra}  same class: {agree:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurite", default="target/release/neurite")
    ap.add_argument("--data", default="../shared/data/mnist")
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    import torch
    import torch.nn as nn
    from safetensors.torch import load_file, save_file

    print(f"torch {torch.__version__}, numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    neurite = os.path.abspath(args.neurite)
    data = os.path.abspath(args.data)
    x_train = idx(find(data, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / np.float32(255)
    y_train = idx(find(data, "train-labels-idx1-ubyte")).astype(np.int64)
    x_test = idx(find(data, "t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / np.float32(255)
    y_test = idx(find(data, "t10k-labels-idx1-ubyte")).astype(np.int64)
    tmp = tempfile.mkdtemp(prefix="neurite-interop-")
    p = lambda name: os.path.join(tmp, name)  # noqa: E731

    def neurite_outputs(flags, name):
        """neurite's outputs on the MNIST test set, for a model given by flags."""
        out = p(name + ".npy")
        result = json.loads(run([neurite, "eval", *flags, "--data", data, "--outputs", out, "--json"]))
        return np.load(out), result

    # 1. PyTorch -> neurite.
    print("\n== PyTorch trains, neurite imports")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for i in torch.randperm(60000).split(32):
        opt.zero_grad()
        nn.functional.cross_entropy(net(xt[i]), yt[i]).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(x_test)).numpy()
    print(f"PyTorch test accuracy {(logits.argmax(1) == y_test).mean():.4f}")
    sd = net.state_dict()
    torch.save(sd, p("torch.pt"))
    save_file(sd, p("torch.safetensors"))
    torch.onnx.export(net, (torch.from_numpy(x_test[:2]),), p("torch.onnx"), input_names=["input"], output_names=["output"],
                      dynamo=True, dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False)
    np.savez(p("torch_arrays.npz"), W1=sd["0.weight"].numpy().T.copy(), b1=sd["0.bias"].numpy(),
             W2=sd["2.weight"].numpy().T.copy(), b2=sd["2.bias"].numpy())
    acts = ["--activation", "relu", "--output", "linear"]
    for name in ["torch.pt", "torch.safetensors", "torch.onnx"]:
        run([neurite, "import", p(name), *acts, "--out", p(name + ".neurite")])
        outputs, _ = neurite_outputs(["--model", p(name + ".neurite")], name)
        compare(f"PyTorch logits vs neurite, imported from {name}", logits, outputs)
    outputs, _ = neurite_outputs(["--weights", p("torch_arrays.npz"), *acts], "arrays")
    compare("PyTorch logits vs neurite eval --weights W1,b1,W2,b2 (.npz)", logits, outputs)

    # 2. neurite -> PyTorch, ONNX Runtime, NumPy.
    print("\n== neurite trains, the others run its exports")
    model = p("neurite.safetensors")
    line = run([neurite, "train", "--data", data, "--epochs", "2", "--save", model]).strip().splitlines()[-1]
    print(f"neurite train: {line}")
    mine, result = neurite_outputs(["--model", model], "neurite")
    print(f"neurite eval:  test_loss={result['test_loss']:.4f} test_accuracy={result['test_accuracy']:.4f}")
    exported = json.loads(run([neurite, "export", "--model", model, "--onnx", p("n.onnx"), "--pytorch", p("n.safetensors"),
                               "--npz", p("n.npz"), "--json"]))

    m = onnx.load(p("n.onnx"))
    onnx.checker.check_model(m, full_check=True)
    print(f"onnx.checker: ok (opset {m.opset_import[0].version}, IR {m.ir_version}, "
          f"input {[d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]})")
    session = ort.InferenceSession(p("n.onnx"), providers=["CPUExecutionProvider"])
    compare("neurite vs ONNX Runtime (batch 10000)", mine, session.run(None, {"input": x_test})[0])
    one_by_one = np.concatenate([session.run(None, {"input": x_test[i:i + 1]})[0] for i in range(0, 10000, 97)])
    compare("neurite vs ONNX Runtime (batch 1, every 97th image)", mine[::97], one_by_one)

    torch_net = eval(exported["torch_modules"], {"nn": nn})  # the Python neurite printed: nn.Sequential(...)
    torch_net.load_state_dict(load_file(p("n.safetensors")))
    with torch.no_grad():
        compare(f"neurite vs PyTorch {exported['torch_modules'][:40]}...", mine, torch_net(torch.from_numpy(x_test)).numpy())

    a = np.load(p("n.npz"))
    h = 1 / (1 + np.exp(-(x_test @ a["W1"] + a["b1"])))
    z = h @ a["W2"] + a["b2"]
    e = np.exp(z - z.max(1, keepdims=True))
    compare("neurite vs NumPy forward pass from W1,b1,W2,b2", mine, e / e.sum(1, keepdims=True))

    # And back: the ONNX file and the state_dict neurite wrote, read by neurite again.
    for name, flags in [("n.onnx", []), ("n.safetensors", ["--activation", "sigmoid", "--output", "softmax"])]:
        run([neurite, "import", p(name), *flags, "--out", p(name + ".back")])
        outputs, back = neurite_outputs(["--model", p(name + ".back")], name + ".back")
        compare(f"neurite vs neurite after a round trip through {name}", mine, outputs)
        assert back["test_accuracy"] == result["test_accuracy"]

    convnets(neurite, data, x_train, y_train, x_test, p, neurite_outputs)

    print(f"\n{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


def convnets(neurite, data, x_train, y_train, x_test, p, neurite_outputs):
    """Part 3: a convnet both ways."""
    import onnx
    import onnxruntime as ort
    import torch
    import torch.nn as nn
    from safetensors.torch import load_file

    print("\n== PyTorch trains a convnet, neurite imports it")
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(16 * 6 * 6, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt = torch.from_numpy(x_train[:12000].reshape(-1, 1, 28, 28))
    yt = torch.from_numpy(y_train[:12000])
    for i in torch.randperm(len(xt)).split(64):
        opt.zero_grad()
        nn.functional.cross_entropy(net(xt[i]), yt[i]).backward()
        opt.step()
    net.eval()
    nchw = torch.from_numpy(x_test.reshape(-1, 1, 28, 28))
    with torch.no_grad():
        logits = net(nchw).numpy()
    print(f"PyTorch convnet test accuracy {(logits.argmax(1) == idx_labels(data)).mean():.4f}")
    torch.save(net.state_dict(), p("cnn.pt"))
    torch.onnx.export(net, (nchw[:2],), p("cnn_legacy.onnx"), dynamo=False)
    torch.onnx.export(net, (nchw[:2],), p("cnn_dynamo.onnx"))  # the defaults: weights in cnn_dynamo.onnx.data
    print(f"dynamo exporter wrote cnn_dynamo.onnx.data: {os.path.exists(p('cnn_dynamo.onnx.data'))}")
    spec = ["--layers", "conv:8:3:relu,maxpool:2,conv:16:3:relu:same,avgpool:2,flatten,dense:10", "--input-shape", "28,28,1"]
    for name, flags in [("cnn_legacy.onnx", []), ("cnn_dynamo.onnx", []), ("cnn.pt", spec)]:
        run([neurite, "import", p(name), *flags, "--out", p(name + ".neurite")])
        outputs, _ = neurite_outputs(["--model", p(name + ".neurite")], name)
        compare(f"PyTorch convnet logits vs neurite, imported from {name}", logits, outputs, relative=True)

    print("\n== neurite trains a convnet, the others run its exports")
    model = p("cnn.safetensors")
    layers = "conv:8:3:relu,maxpool:2,flatten,dense:10:softmax"
    line = run([neurite, "train", "--data", data, "--layers", layers, "--epochs", "1", "--save", model]).strip().splitlines()[-1]
    print(f"neurite train --layers {layers}: {line}")
    mine, result = neurite_outputs(["--model", model], "cnn")
    exported = json.loads(run([neurite, "export", "--model", model, "--onnx", p("ncnn.onnx"), "--pytorch",
                               p("ncnn.safetensors"), "--json"]))
    onnx.checker.check_model(onnx.load(p("ncnn.onnx")), full_check=True)
    session = ort.InferenceSession(p("ncnn.onnx"), providers=["CPUExecutionProvider"])
    nhwc = x_test.reshape(-1, 28, 28, 1)
    compare("neurite convnet vs ONNX Runtime (input N, H, W, C)", mine, session.run(None, {"input": nhwc})[0])
    torch_net = eval(exported["torch_modules"], {"nn": nn})
    torch_net.load_state_dict(load_file(p("ncnn.safetensors")))
    torch_net.eval()
    with torch.no_grad():
        compare(f"neurite convnet vs PyTorch {exported['torch_modules'][:30]}... (N, C, H, W)", mine, torch_net(nchw).numpy())
    for name in ["ncnn.onnx", "ncnn.safetensors"]:
        run([neurite, "import", p(name), "--out", p(name + ".back")])
        outputs, back = neurite_outputs(["--model", p(name + ".back")], name + ".back")
        compare(f"neurite convnet vs itself after a round trip through {name}", mine, outputs)
        assert back["test_accuracy"] == result["test_accuracy"]


def idx_labels(data):
    return idx(find(data, "t10k-labels-idx1-ubyte")).astype(np.int64)


if __name__ == "__main__":
    main()
