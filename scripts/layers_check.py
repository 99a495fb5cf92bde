"""The check of the "Layers beyond Dense" issue, end to end, with the frameworks themselves:
the learner's Keras program (python/examples/keras_mlp_batchnorm.py: 784-256(relu) ->
BatchNormalization -> Dropout(0.3) -> 10(softmax), Adam, batch 128, 3 epochs) run on neurite,
its test accuracy, and its exported files run by ONNX Runtime and by PyTorch's
``nn.Sequential(Linear, ReLU, BatchNorm1d(eps=1e-3), Dropout, Linear, Softmax)`` in eval mode,
loaded with ``strict=True``: the same predictions as neurite's within 1e-4.

    python scripts/layers_check.py [MNIST_DIR]   # needs neurite (pip install ./python), torch,
                                                 # safetensors, onnxruntime
"""

import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
import torch
from safetensors.torch import load_file

import neurite as nt

ROOT = pathlib.Path(__file__).resolve().parent.parent
mnist = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "mnist")
out = pathlib.Path(tempfile.mkdtemp(prefix="neurite-layers-check-"))
env = dict(os.environ, NEURITE_DATA=str(mnist), OUT_DIR=str(out))
run = subprocess.run([sys.executable, str(ROOT / "python" / "examples" / "keras_mlp_batchnorm.py")], env=env, capture_output=True, text=True)
print(run.stdout)
if run.returncode != 0:
    sys.exit(run.stderr)

(_, _), (x_test, y_test) = nt.datasets.mnist.load_data(path=mnist)
x = x_test.reshape(-1, 784).astype("float32") / 255
ours = nt.load_model(out / "mlp_bn.safetensors").predict(x, verbose=0)

onnx = ort.InferenceSession(str(out / "mlp_bn.onnx"), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]

net = torch.nn.Sequential(
    torch.nn.Linear(784, 256),
    torch.nn.ReLU(),
    torch.nn.BatchNorm1d(256, eps=1e-3, momentum=0.01),
    torch.nn.Dropout(0.3),
    torch.nn.Linear(256, 10),
    torch.nn.Softmax(dim=-1),
)
net.load_state_dict(load_file(str(out / "mlp_bn_state_dict.safetensors")), strict=True)
net.eval()
with torch.no_grad():
    pytorch = net(torch.from_numpy(x)).numpy()

for name, theirs in [("ONNX Runtime", onnx), ("PyTorch", pytorch)]:
    diff = float(np.abs(ours - theirs).max())
    agree = float((ours.argmax(1) == theirs.argmax(1)).mean())
    print(f"{name}: largest difference {diff:.2e}, same class for {agree:.4%} of the 10,000 test images")
    assert diff <= 1e-4, name
print(f"neurite's test accuracy from its predictions: {(ours.argmax(1) == y_test).mean():.4f}")
