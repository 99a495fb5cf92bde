"""Writes tests/fixtures/conv_torch.json: Conv2D, MaxPooling2D, AveragePooling2D and
GlobalAveragePooling2D computed by PyTorch in float64, values and gradients (input, kernel,
bias), for tests/conv.rs to compare neurite's float32 arithmetic with.

    python scripts/conv_fixtures.py      # needs torch and numpy

Everything is written channels last, as Keras (and neurite) hold images: x is (N, H, W, C),
the kernel (kh, kw, in, out). Keras' `same` padding is TensorFlow's: ceil(size / stride)
outputs, the padding split with its smaller half before; PyTorch is given that padding
explicitly (F.pad), since its own padding="same" is symmetric and stride 1 only. Average
pooling with `same` padding divides by the cells inside the image (Keras'), computed here as
the zero-padded window sum over the padded count. Each case's gradients are those of
sum(y * dy) for a random dy."""

import json
import math
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(7)


def same_pads(size, k, s):
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pads(shape, k, s, padding):
    if padding == "valid":
        return (0, 0, 0, 0)
    top, bottom = same_pads(shape[1], k[0], s[0])
    left, right = same_pads(shape[2], k[1], s[1])
    return (left, right, top, bottom)


def t(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def flat(a):
    return a.detach().numpy().ravel().tolist()


cases = []

for name, shape, filters, k, s, padding, activation in [
    ("conv valid 3x3", (2, 7, 6, 3), 4, (3, 3), (1, 1), "valid", "linear"),
    ("conv same 3x3 relu", (2, 6, 5, 2), 3, (3, 3), (1, 1), "same", "relu"),
    ("conv strided valid", (3, 9, 8, 2), 5, (3, 2), (2, 3), "valid", "linear"),
    ("conv strided same even kernel", (2, 7, 8, 3), 2, (4, 2), (2, 2), "same", "tanh"),
    ("conv 1x1", (2, 4, 4, 5), 3, (1, 1), (1, 1), "valid", "sigmoid"),
    ("conv odd sizes same stride 3", (1, 11, 5, 1), 2, (5, 3), (3, 2), "same", "linear"),
]:
    x = t(rng.normal(0, 1, shape))
    kernel = t(rng.normal(0, 0.4, (k[0], k[1], shape[3], filters)))
    bias = t(rng.normal(0, 0.2, filters))
    xp = F.pad(nchw(x), pads(shape, k, s, padding))
    z = F.conv2d(xp, kernel.permute(3, 2, 0, 1), bias, stride=s)
    y = nhwc({"linear": z, "relu": torch.relu(z), "tanh": torch.tanh(z), "sigmoid": torch.sigmoid(z)}[activation])
    dy = t(rng.normal(0, 1, tuple(y.shape)), grad=False)
    (y * dy).sum().backward()
    cases.append({
        "name": name, "layer": "Conv2D",
        "config": {"filters": filters, "kernel_size": list(k), "strides": list(s), "padding": padding,
                   "activation": activation},
        "x_shape": list(shape), "y_shape": list(y.shape),
        "x": flat(x), "kernel": flat(kernel), "bias": flat(bias), "dy": flat(dy),
        "y": flat(y), "dx": flat(x.grad), "dkernel": flat(kernel.grad), "dbias": flat(bias.grad),
    })

for name, layer, shape, k, s, padding in [
    ("max 2x2", "MaxPooling2D", (2, 6, 6, 3), (2, 2), None, "valid"),
    ("max odd valid", "MaxPooling2D", (2, 7, 5, 2), (2, 2), None, "valid"),
    ("max overlapping 3x3 stride 2 same", "MaxPooling2D", (2, 7, 6, 2), (3, 3), (2, 2), "same"),
    ("max 3x2 stride 1", "MaxPooling2D", (1, 5, 5, 4), (3, 2), (1, 1), "valid"),
    ("average 2x2", "AveragePooling2D", (2, 6, 6, 3), (2, 2), None, "valid"),
    ("average same 3x3 stride 2", "AveragePooling2D", (2, 7, 6, 2), (3, 3), (2, 2), "same"),
    ("average odd valid", "AveragePooling2D", (1, 5, 7, 3), (2, 3), (2, 1), "valid"),
]:
    stride = s or k
    # Distinct values, so that every window has one largest.
    values = rng.permutation(np.prod(shape)).reshape(shape) / 10.0 - 3.0
    x = t(values)
    p = pads(shape, k, stride, padding)
    if layer == "MaxPooling2D":
        z = F.max_pool2d(F.pad(nchw(x), p, value=-math.inf), k, stride)
    else:
        total = F.avg_pool2d(F.pad(nchw(x), p), k, stride) * (k[0] * k[1])
        ones = torch.ones((1, 1, shape[1], shape[2]), dtype=torch.float64)
        count = F.avg_pool2d(F.pad(ones, p), k, stride) * (k[0] * k[1])
        z = total / count
    y = nhwc(z)
    dy = t(rng.normal(0, 1, tuple(y.shape)), grad=False)
    (y * dy).sum().backward()
    config = {"pool_size": list(k), "padding": padding}
    if s:
        config["strides"] = list(s)
    cases.append({
        "name": name, "layer": layer, "config": config,
        "x_shape": list(shape), "y_shape": list(y.shape),
        "x": flat(x), "dy": flat(dy), "y": flat(y), "dx": flat(x.grad),
    })

for keepdims in (False, True):
    shape = (2, 5, 3, 4)
    x = t(rng.normal(0, 1, shape))
    y = x.mean(dim=(1, 2), keepdim=keepdims)
    dy = t(rng.normal(0, 1, tuple(y.shape)), grad=False)
    (y * dy).sum().backward()
    cases.append({
        "name": f"global average keepdims={keepdims}", "layer": "GlobalAveragePooling2D",
        "config": {"keepdims": keepdims},
        "x_shape": list(shape), "y_shape": list(y.shape),
        "x": flat(x), "dy": flat(dy), "y": flat(y), "dx": flat(x.grad),
    })

out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "conv_torch.json"
out.write_text(json.dumps({"torch": torch.__version__, "cases": cases}))
print(f"wrote {out} ({len(cases)} cases, torch {torch.__version__})")
