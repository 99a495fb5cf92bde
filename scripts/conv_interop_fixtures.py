#!/usr/bin/env python3
"""Fixtures for tests/conv_interop.rs, written by real PyTorch (issue 27, point 6).

    python scripts/conv_interop_fixtures.py            # writes tests/fixtures/conv_interop/
    python scripts/conv_interop_fixtures.py --check-export DIR

Two small convnets with random weights (nothing is trained):

* `a`: 12x10x1 images: Conv2d(1, 4, 3) ReLU, MaxPool2d(2), Conv2d(4, 6, 3, padding='same')
  ReLU, AvgPool2d(2), Flatten, Linear(24, 5).
* `b`: 9x9x3 images: Conv2d(3, 5, 3, stride=2, padding=1) Tanh, Conv2d(5, 4, 1) ReLU,
  AdaptiveAvgPool2d(1), Flatten, Linear(4, 3), Softmax(dim=1).

For each: `<n>_legacy.onnx` (`torch.onnx.export(..., dynamo=False)`), `<n>_dynamo.onnx` and
its `<n>_dynamo.onnx.data` (the default exporter with its defaults), `<n>_state_dict.pt`
(`torch.save(model.state_dict())`), `<n>_modules.txt` (the nn.Sequential's Python),
`<n>_input.npy` (a few inputs, channels last as neurite takes them) and `<n>_output.npy`
(PyTorch's outputs for them).

`--check-export DIR` is the other way round: DIR holds what tests/conv_interop.rs wrote
(`NEURITE_CONV_EXPORT=DIR cargo test --test conv_interop`): for each `<n>.safetensors`
state_dict with `<n>.modules.txt`, it builds the printed nn.Sequential in PyTorch, loads the
state_dict strictly, and compares its outputs with neurite's (`<n>.input.npy`, channels
last, and `<n>.output.npy`) within 1e-5; and runs `<n>.onnx` through onnx.checker and ONNX
Runtime, which must give the same outputs.
"""

import argparse
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "conv_interop")


def nets():
    torch.manual_seed(27)
    a = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding="same"), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(24, 5),
    )
    b = nn.Sequential(
        nn.Conv2d(3, 5, 3, stride=2, padding=1), nn.Tanh(), nn.Conv2d(5, 4, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3), nn.Softmax(dim=1),
    )
    return {"a": (a, (1, 12, 10)), "b": (b, (3, 9, 9))}


def write():
    os.makedirs(OUT, exist_ok=True)
    for name, (model, chw) in nets().items():
        model.eval()
        x = torch.randn(4, *chw)
        with torch.no_grad():
            y = model(x)
        np.save(os.path.join(OUT, f"{name}_input.npy"), x.permute(0, 2, 3, 1).contiguous().numpy())
        np.save(os.path.join(OUT, f"{name}_output.npy"), y.numpy())
        torch.save(model.state_dict(), os.path.join(OUT, f"{name}_state_dict.pt"))
        with open(os.path.join(OUT, f"{name}_modules.txt"), "w") as f:
            f.write(repr(model) + "\n")
        example = (x[:2],)
        torch.onnx.export(model, example, os.path.join(OUT, f"{name}_legacy.onnx"), dynamo=False)
        path = os.path.join(OUT, f"{name}_dynamo.onnx")
        for stale in (path, path + ".data"):
            if os.path.exists(stale):
                os.remove(stale)
        torch.onnx.export(model, example, path)
        print(f"{name}: wrote", sorted(f for f in os.listdir(OUT) if f.startswith(name + "_")))


def check_export(directory):
    failed = 0
    for f in sorted(os.listdir(directory)):
        if not f.endswith(".modules.txt"):
            continue
        stem = f[: -len(".modules.txt")]
        with open(os.path.join(directory, f)) as m:
            modules = m.read().strip()
        model = eval(modules, {"nn": nn, "torch": torch})
        from safetensors.torch import load_file

        model.load_state_dict(load_file(os.path.join(directory, stem + ".safetensors")), strict=True)
        model.eval()
        pt = os.path.join(directory, stem + ".pt")
        if os.path.exists(pt):
            # The zip neurite writes for torch.save's format, read as PyTorch reads untrusted files.
            other = eval(modules, {"nn": nn, "torch": torch})
            other.load_state_dict(torch.load(pt, weights_only=True), strict=True)
            for a, b in zip(model.state_dict().values(), other.state_dict().values()):
                assert torch.equal(a, b), f"{pt}: torch.load gives other tensors than the safetensors file"
            print(f"{stem}.pt: torch.load(weights_only=True) + load_state_dict(strict=True): same tensors")
        x = np.load(os.path.join(directory, stem + ".input.npy"))
        want = np.load(os.path.join(directory, stem + ".output.npy"))
        with torch.no_grad():
            got = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
        diff = float(np.abs(got - want).max())
        ok = diff < 1e-5
        failed += not ok
        print(f"{stem}: {modules}\n  PyTorch vs neurite: max |diff| {diff:.2e} {'ok' if ok else 'FAIL'}")
        onnx_path = os.path.join(directory, stem + ".onnx")
        if os.path.exists(onnx_path):
            import onnx
            import onnxruntime

            onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
            session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
            got = session.run(None, {session.get_inputs()[0].name: x})[0]
            diff = float(np.abs(got - want).max())
            ok = diff < 1e-5
            failed += not ok
            print(f"  ONNX Runtime vs neurite (onnx.checker passed): max |diff| {diff:.2e} {'ok' if ok else 'FAIL'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--check-export", metavar="DIR")
    args = p.parse_args()
    if args.check_export:
        check_export(args.check_export)
    else:
        write()
