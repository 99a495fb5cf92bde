"""Writes tests/fixtures/layers_torch.json: batch normalisation's values and gradients computed
by PyTorch in float64, in training and inference mode, and its moving statistics over several
steps by Keras' rule, for tests/layers.rs to compare neurite's float32 arithmetic with.

    python scripts/layer_fixtures.py      # needs torch and numpy

Keras' BatchNormalization normalises a training batch by its mean and biased variance (as
PyTorch does) and updates ``moving = moving * momentum + batch * (1 - momentum)`` with that
biased variance (PyTorch's running_var takes the unbiased one, so the moving statistics are
computed here by Keras' rule, in float64)."""

import json
import pathlib

import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(0)
rows, features, eps, momentum = 8, 5, 1e-3, 0.99

x = torch.tensor(rng.normal(1.5, 2.0, (rows, features)), dtype=torch.float64, requires_grad=True)
gamma = torch.tensor(rng.uniform(0.5, 1.5, features), dtype=torch.float64, requires_grad=True)
beta = torch.tensor(rng.normal(0.0, 0.5, features), dtype=torch.float64, requires_grad=True)
dy = torch.tensor(rng.normal(0.0, 1.0, (rows, features)), dtype=torch.float64)

# Training mode: the batch's statistics.
y = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
(y * dy).sum().backward()
train = {
    "y": y.detach().numpy().ravel().tolist(),
    "dx": x.grad.numpy().ravel().tolist(),
    "dgamma": gamma.grad.numpy().tolist(),
    "dbeta": beta.grad.numpy().tolist(),
}

# Inference mode: given moving statistics.
moving_mean = rng.normal(1.0, 0.5, features)
moving_var = rng.uniform(0.5, 3.0, features)
x.grad = gamma.grad = beta.grad = None
y = torch.nn.functional.batch_norm(
    x, torch.tensor(moving_mean), torch.tensor(moving_var), gamma, beta, training=False, eps=eps
)
(y * dy).sum().backward()
inference = {"y": y.detach().numpy().ravel().tolist(), "dx": x.grad.numpy().ravel().tolist()}

# Moving statistics over three batches, by Keras' rule, from Keras' initial values (0 and 1).
batches = [rng.normal(2.0, 3.0, (rows, features)) for _ in range(3)]
mean, var = np.zeros(features), np.ones(features)
for b in batches:
    mean = mean * momentum + b.mean(axis=0) * (1 - momentum)
    var = var * momentum + b.var(axis=0) * (1 - momentum)

fixture = {
    "rows": rows,
    "features": features,
    "epsilon": eps,
    "momentum": momentum,
    "x": x.detach().numpy().ravel().tolist(),
    "gamma": gamma.detach().numpy().tolist(),
    "beta": beta.detach().numpy().tolist(),
    "dy": dy.numpy().ravel().tolist(),
    "moving_mean": moving_mean.tolist(),
    "moving_variance": moving_var.tolist(),
    "training": train,
    "inference": inference,
    "batches": [b.ravel().tolist() for b in batches],
    "moving_after": {"mean": mean.tolist(), "variance": var.tolist()},
    "written_by": f"torch {torch.__version__}, numpy {np.__version__}",
}
out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "layers_torch.json"
out.write_text(json.dumps(fixture, indent=1) + "\n")
print(f"wrote {out}")

# A PyTorch model with batch normalisation, as PyTorch itself saves it (torch.save of the
# state_dict, and safetensors' save_file, both with BatchNorm1d's int64 num_batches_tracked),
# with its eval-mode outputs for fixed inputs: what neurite's importer must reproduce.
from safetensors.torch import save_file  # noqa: E402

net = torch.nn.Sequential(
    torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.2),
    torch.nn.Linear(8, 3), torch.nn.Softmax(dim=-1),
)
net.train()
for _ in range(5):  # moves the running statistics off 0 and 1
    net(torch.randn(16, 6) * 2 + 1)
with torch.no_grad():
    net[2].weight.uniform_(0.5, 1.5)
    net[2].bias.uniform_(-0.5, 0.5)
net.eval()
fixtures = out.parent
torch.save(net.state_dict(), fixtures / "torch_mlp_bn.pt")
save_file(net.state_dict(), str(fixtures / "torch_mlp_bn.safetensors"))
xs = torch.randn(5, 6)
with torch.no_grad():
    ys = net(xs)
(fixtures / "torch_mlp_bn.json").write_text(
    json.dumps({"x": xs.numpy().ravel().tolist(), "y": ys.numpy().ravel().tolist(), "written_by": f"torch {torch.__version__}"}) + "\n"
)
print("wrote torch_mlp_bn.pt, torch_mlp_bn.safetensors, torch_mlp_bn.json")

# The same network through PyTorch's ONNX exporter (the TorchScript one, dynamo=False: the
# dynamo exporter needs onnxscript), in eval mode: Gemm, Relu, BatchNormalization, Gemm, Softmax.
torch.onnx.export(net, (xs,), str(fixtures / "torch_mlp_bn.onnx"), dynamo=False, input_names=["input"], output_names=["output"])
print("wrote torch_mlp_bn.onnx")
