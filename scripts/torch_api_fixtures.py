"""Writes python/tests/fixtures/torch_api.json: PyTorch's own values and gradients for the
operations neurite.torch offers, so that python/tests/test_torch_api.py checks neurite.torch
against PyTorch itself (within 1e-5).

Each case is a piece of PyTorch code that sets `out` from input tensors; float inputs are
leaves that require grad. The fixture holds the inputs, `out`, and the gradient of
`(out * weights).sum()` (fixed random weights) for every float input. The same code runs on
neurite.torch in the test: nothing is translated.

Run with PyTorch installed: python scripts/torch_api_fixtures.py
"""

import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim

rng = np.random.default_rng(20261206)


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


A = f32(3, 4)
B = f32(3, 4)
POS = f32(3, 4, low=0.2, high=2.0)
C = f32(4)
W = f32(4, 5)
A3 = f32(2, 3, 4)
Y = np.array([2, 0, 3], dtype=np.int64)
T01 = (rng.uniform(size=(3, 4)) > 0.5).astype(np.float32)
PROBS = np.exp(B) / np.exp(B).sum(1, keepdims=True)
X8 = f32(8, 4)
X4 = f32(2, 3, 7, 6)
W4 = f32(4, 3, 3, 3, low=-0.5, high=0.5)
B4 = f32(4)
WL = f32(5, 4 * 3 * 3, low=-0.5, high=0.5)
BL = f32(5)
Y8 = rng.integers(0, 3, size=8).astype(np.int64)

COMMON = {"a": A, "b": B}
CASES = [
    ("add", "out = a + b", COMMON),
    ("sub_scalar", "out = 1.5 - a - b * 2", COMMON),
    ("mul_div", "out = a * b / p", {**COMMON, "p": POS}),
    ("rdiv", "out = 2.0 / p", {"p": POS}),
    ("pow", "out = a ** 2 + p ** 0.5 + p ** b", {**COMMON, "p": POS}),
    ("broadcast", "out = a * c + c.unsqueeze(0)", {"a": A, "c": C}),
    ("exp_log_sqrt", "out = a.exp() + p.log() + p.sqrt() + torch.exp(b)", {**COMMON, "p": POS}),
    ("abs_neg", "out = a.abs() - (-b)", COMMON),
    ("activations", "out = torch.cat([a.sigmoid(), a.tanh(), a.relu(), F.leaky_relu(a, 0.2), F.elu(a, 0.5), F.softplus(a)], 1)", {"a": A}),
    ("clamp", "out = a.clamp(-0.5, 0.5) + b.clamp(min=0.0)", COMMON),
    ("softmax", "out = a.softmax(dim=1) + torch.softmax(b, 0) + F.log_softmax(a, dim=1)", COMMON),
    ("matmul", "out = a @ w", {"a": A, "w": W}),
    ("matmul_batched", "out = torch.matmul(a3, w)", {"a3": A3, "w": W}),
    ("linear", "out = F.linear(a, w.t(), c2)", {"a": A, "w": W, "c2": f32(5)}),
    ("mm_t", "out = a.mm(b.t()) + a.matmul(b.T)", COMMON),
    ("sum_all", "out = a.sum()", {"a": A}),
    ("sum_dims", "out = torch.cat([a.sum(dim=1), a.sum(dim=0), a.sum(-1)])", {"a": A}),
    ("sum_keepdim", "out = a3.sum(dim=(0, 2), keepdim=True)", {"a3": A3}),
    ("mean", "out = torch.cat([a.mean(dim=1), a.mean(0), a.mean().view(1)])", {"a": A}),
    ("max_min", "out = torch.cat([a.max(dim=1).values, a.min(dim=0)[0], a.max().view(1), a.amax(dim=0)])", {"a": A}),
    ("var_std", "out = torch.cat([a.var(dim=1), a.std(dim=0), a.var().view(1), a.var(dim=1, unbiased=False)])", {"a": A}),
    ("norm", "out = a.norm().view(1) + b.norm(dim=1).sum()", COMMON),
    ("view", "out = a.view(-1) * 2 + a.view(2, -1).t().reshape(-1)", {"a": A}),
    ("permute", "out = a3.permute(2, 0, 1) + a3.transpose(0, 2).transpose(1, 2)", {"a3": A3}),
    ("squeeze", "out = a.unsqueeze(1).squeeze(1) + a.unsqueeze(0).squeeze()", {"a": A}),
    ("cat_stack", "out = torch.cat([torch.cat([a, b], dim=1), torch.stack([a, b], 2).flatten(1)], 1)", COMMON),
    ("flatten", "out = a3.flatten(1) + a3.reshape(2, 12)", {"a3": A3}),
    ("index_int", "out = torch.cat([a[0], a[-1], a[1]])", {"a": A}),
    ("index_slices", "out = torch.cat([a[:, 1:3].reshape(-1), a[1:, ::2].reshape(-1), a[..., -1]])", {"a": A}),
    ("index_mask", "out = a[a > 0]", {"a": A}),
    ("index_list", "out = a[[0, 2]] + a[torch.tensor([2, 2])]", {"a": A}),
    ("index_pairs", "out = a[torch.arange(3), torch.tensor([1, 0, 3])]", {"a": A}),
    ("index_none", "out = a[None, :, None] * 1.0", {"a": A}),
    ("gather", "out = a.gather(1, torch.tensor([[0, 1], [3, 3], [2, 0]]))", {"a": A}),
    ("index_select_narrow", "out = torch.cat([a.index_select(1, torch.tensor([3, 0])), a.narrow(1, 1, 2)], 1)", {"a": A}),
    ("masked_fill_where", "out = a.masked_fill(a > 0.5, 0.0) + torch.where(b > 0, a, b)", COMMON),
    ("expand", "out = c.expand(3, 4) * a + c.view(1, 4).expand_as(a)", {"a": A, "c": C}),
    ("chunk_split", "out = torch.cat([x.sum(1) for x in a.chunk(2, dim=1)] + [x.sum(0) for x in a.split(1)])", {"a": A}),
    ("cross_entropy", "out = F.cross_entropy(a, y)", {"a": A, "y": Y}),
    ("cross_entropy_sum", "out = F.cross_entropy(a, y, reduction='sum')", {"a": A, "y": Y}),
    ("cross_entropy_none", "out = F.cross_entropy(a, y, reduction='none')", {"a": A, "y": Y}),
    ("cross_entropy_probs", "out = F.cross_entropy(a, probs)", {"a": A, "probs": PROBS}),
    ("cross_entropy_module", "out = nn.CrossEntropyLoss()(a, y)", {"a": A, "y": Y}),
    ("nll", "out = F.nll_loss(F.log_softmax(a, 1), y) + nn.NLLLoss(reduction='sum')(a.log_softmax(1), y)", {"a": A, "y": Y}),
    ("mse", "out = F.mse_loss(a, b) + nn.MSELoss(reduction='sum')(a, b)", COMMON),
    ("l1", "out = nn.L1Loss()(a, b)", COMMON),
    ("bce", "out = nn.BCELoss()(a.sigmoid(), t) + F.binary_cross_entropy(b.sigmoid(), t, reduction='sum')", {**COMMON, "t": T01}),
    ("bce_logits", "out = nn.BCEWithLogitsLoss()(a, t) + F.binary_cross_entropy_with_logits(b, t, reduction='sum')", {**COMMON, "t": T01}),
    ("conv2d", "out = F.conv2d(x4, w4, b4)", {"x4": X4, "w4": W4, "b4": B4}),
    ("conv2d_padding_stride", "out = torch.cat([F.conv2d(x4, w4, b4, padding=1).flatten(), F.conv2d(x4, w4, None, stride=2).flatten()])", {"x4": X4, "w4": W4, "b4": B4}),
    ("max_pool2d", "out = torch.cat([F.max_pool2d(x4, 2).flatten(), nn.MaxPool2d(3, stride=2)(x4).flatten()])", {"x4": X4}),
    (
        "small_cnn",
        "h = F.max_pool2d(F.relu(F.conv2d(x4[:, :, :6, :6], w4, b4, padding=1)), 2)\nout = F.log_softmax(F.linear(h.flatten(1), wl, bl), dim=1)",
        {"x4": X4, "w4": W4, "b4": B4, "wl": WL, "bl": BL},
    ),
    (
        "batchnorm_train",
        "bn = nn.BatchNorm1d(4)\nwith torch.no_grad():\n    bn.weight.copy_(torch.tensor([1.0, 0.5, 2.0, -1.0]))\n    bn.bias.copy_(torch.tensor([0.0, 0.1, -0.2, 0.3]))\n"
        "y1 = bn(x8)\ny2 = bn(x8 * 2)\nbn.eval()\ny3 = bn(x8)\nout = torch.cat([y1, y2, y3]) \nextra = [bn.running_mean, bn.running_var, bn.num_batches_tracked.float()]",
        {"x8": X8},
    ),
    (
        "module_mlp",
        "torch.manual_seed(0)\nmodel = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))\n"
        "with torch.no_grad():\n    for p, v in zip(model.parameters(), init):\n        p.copy_(v)\n"
        "y = model(x8)\ny.sum().backward()\nout = y.detach()\nextra = [p.grad for p in model.parameters()]",
        {"x8": X8},
    ),
]

# Training trajectories: 6 steps of each optimiser on a small MLP from the same start.
OPTIMISERS = [
    ("sgd", "optim.SGD(model.parameters(), lr=0.1)"),
    ("sgd_momentum", "optim.SGD(model.parameters(), lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)"),
    ("sgd_nesterov", "optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)"),
    ("adam", "optim.Adam(model.parameters())"),
    ("adam_wd", "optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)"),
    ("adamw", "optim.AdamW(model.parameters(), lr=0.01)"),
    ("rmsprop", "optim.RMSprop(model.parameters())"),
    ("rmsprop_centered", "optim.RMSprop(model.parameters(), lr=0.005, momentum=0.5, centered=True)"),
    ("adagrad", "optim.Adagrad(model.parameters())"),
    ("adagrad_decay", "optim.Adagrad(model.parameters(), lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1)"),
]
TRAIN = (
    "model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))\n"
    "with torch.no_grad():\n    for p, v in zip(model.parameters(), init):\n        p.copy_(v)\n"
    "opt = {opt}\nlosses = []\n"
    "for _ in range(6):\n    opt.zero_grad()\n    loss = F.cross_entropy(model(x8), y8)\n    loss.backward()\n    opt.step()\n    losses.append(loss.detach().view(1))\n"
    "out = torch.cat(losses)\nextra = [p.detach() for p in model.parameters()]"
)
INIT = [f32(8, 4, low=-0.5, high=0.5), f32(8, low=-0.5, high=0.5), f32(3, 8, low=-0.5, high=0.5), f32(3, low=-0.5, high=0.5)]


def run(code, inputs, backward=True):
    env = {"torch": torch, "F": F, "nn": nn, "optim": optim, "init": [torch.tensor(v) for v in INIT]}
    leaves = {}
    for name, value in inputs.items():
        t = torch.tensor(value)
        if t.is_floating_point() and backward:
            t.requires_grad_(True)
        leaves[name] = t
        env[name] = t
    exec(code, env)
    out = env["out"]
    case = {"code": code, "inputs": {k: {"values": v.tolist(), "dtype": str(v.dtype)} for k, v in inputs.items()}}
    case["out"] = out.detach().numpy().tolist()
    case["out_shape"] = list(out.shape)
    case["extra"] = [e.detach().numpy().tolist() for e in env.get("extra", [])]
    weights = rng.uniform(-1, 1, size=tuple(out.shape)).astype(np.float32)
    case["weights"] = weights.tolist()
    if backward and out.requires_grad:
        (out * torch.tensor(weights)).sum().backward()
        case["grads"] = {k: (t.grad.numpy().tolist() if t.grad is not None else None) for k, t in leaves.items() if t.is_floating_point()}
    else:
        case["grads"] = {}
    return case


cases = {name: run(code, inputs) for name, code, inputs in CASES}
for name, opt in OPTIMISERS:
    cases["train_" + name] = run(TRAIN.format(opt=opt), {"x8": X8, "y8": Y8}, backward=False)
# Tensors as PyTorch users see them: the printed form, dtype and shape of each expression's
# result (tensors), or the repr of other results; and which exception type PyTorch raises.
EXPRESSIONS = [
    "torch.arange(12)", "torch.arange(12).view(3, -1)", "torch.arange(1, 4)", "torch.arange(0, 1, 0.25)",
    "torch.linspace(0, 1, 5)", "torch.linspace(-1, 1, 4)", "torch.zeros(2, 3)", "torch.ones(2, dtype=torch.int64)",
    "torch.eye(3)", "torch.tensor(3.)", "torch.tensor(3)", "torch.tensor(True)", "torch.tensor([1.5, 2.0])",
    "torch.tensor([[1, 2], [3, 4]])", "torch.tensor([1e-5, 1e3])", "torch.tensor([123456.0, 0.5])",
    "torch.tensor([0.1, 0.25, -3.5])", "torch.tensor([[True, False], [False, True]])", "torch.tensor([1.0, 2.0]).int()",
    "torch.tensor([1.7, -2.7]).long()", "torch.tensor([0, 3]).bool()", "torch.tensor([1, 2]).float()",
    "torch.tensor([1, 2]) / 2", "torch.tensor([7, -7]) // 2", "torch.tensor([7, -7]) % 3", "torch.tensor([1, 2]) * 1.5",
    "torch.tensor([1, 2]) + torch.tensor([0.5, 0.5])", "torch.tensor([True, False]) + 1", "torch.tensor([1, 2]) == torch.tensor([1, 3])",
    "torch.tensor([1.0, 2.0]) > 1.5", "torch.tensor([[1, 2], [3, 4]]).sum()", "torch.tensor([[1, 2], [3, 4]]).sum(dim=0)",
    "torch.tensor([[1., 2.], [3., 4.]]).mean(dim=1, keepdim=True)", "torch.tensor([[1, 5], [3, 4]]).max(dim=1)",
    "torch.tensor([[1, 5], [3, 4]]).argmax()", "torch.tensor([[1, 5], [3, 4]]).argmax(dim=0)", "torch.tensor([3.5]).item()",
    "torch.tensor([3]).item()", "torch.tensor([[1, 2]]).tolist()", "torch.zeros(2, 3).shape", "torch.zeros(2, 3).size()",
    "torch.zeros(2, 3).size(1)", "torch.zeros(2, 3).shape == (2, 3)", "torch.zeros(2, 3).dtype", "torch.zeros(2, 3).numel()",
    "torch.zeros(2, 3).dim()", "torch.zeros(1, 2, 1).squeeze().shape", "torch.zeros(2, 3).unsqueeze(1).shape",
    "torch.zeros(2, 3).T.shape", "torch.zeros(2, 3, 4).permute(2, 0, 1).shape", "torch.arange(6).view(2, 3)[1]",
    "torch.arange(6).view(2, 3)[:, 1]", "torch.arange(6)[torch.arange(6) > 2]", "torch.tensor([1.0, 2.0], requires_grad=True)",
    "torch.tensor([1.0, 2.0], requires_grad=True) * 2", "torch.tensor([1.0, 2.0], requires_grad=True).sum()",
    "torch.randn(3, 3).shape", "torch.zeros(0)", "torch.zeros(2, 0)", "torch.arange(2000).float()",
    "torch.tensor([[1.0, float('nan')], [float('inf'), -1.0]])", "torch.tensor([1.0, 2.0]).double()",
    "torch.tensor([1, 2], dtype=torch.uint8)", "torch.cat([torch.zeros(1, 2), torch.ones(1, 2)])",
    "torch.stack([torch.arange(2), torch.arange(2)], dim=1)", "torch.tensor([[-1.5, 2.25], [100.0, 0.0]])",
    "torch.arange(10).float().view(2, 5) / 3", "torch.tensor([1.0, 2.0, 3.0]).std()", "torch.Size([2, 3])",
    "torch.tensor(2.5).dtype", "torch.float32", "torch.tensor([1, 2]).dtype", "torch.full((2,), 7)", "torch.zeros(3).add_(2)",
    "nn.Linear(4, 3)", "nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.2), nn.Linear(3, 1), nn.Sigmoid())",
    "nn.BatchNorm1d(3)", "nn.Flatten()", "nn.CrossEntropyLoss()", "nn.Softmax(dim=1)", "nn.LeakyReLU(0.2)",
]
ERRORS = [
    "torch.zeros(2, 3) @ torch.zeros(2, 3)", "torch.zeros(2, 3).view(4, -1)", "torch.zeros(2, 3)[2]", "torch.zeros(2, 3)[0, 0, 0]",
    "torch.arange(3).mean()", "bool(torch.zeros(2))", "torch.zeros(2, 3) + torch.zeros(3, 2)", "torch.zeros(2).item()",
    "torch.tensor([1, 2], requires_grad=True)", "torch.zeros(2, requires_grad=True).add_(1)", "torch.zeros(2).backward()",
    "torch.zeros(2, requires_grad=True).sum(dim=3)", "nn.Linear(4, 3)(torch.zeros(2, 5))", "torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)])",
    "F.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 5]))", "torch.zeros(2, 3).squeeze(5)",
]


def describe(value):
    if isinstance(value, torch.Tensor):
        return {"repr": repr(value), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, tuple) and hasattr(value, "values") and hasattr(value, "indices"):
        return {"values": describe(value.values), "indices": describe(value.indices)}
    return {"repr": repr(value), "type": type(value).__name__}


def raised(code):
    try:
        eval(code, {"torch": torch, "nn": nn, "F": F})
    except Exception as e:  # noqa: BLE001
        return type(e).__name__
    return None


fixture = {
    "expressions": {e: describe(eval(e, {"torch": torch, "nn": nn, "F": F})) for e in EXPRESSIONS},
    "errors": {e: raised(e) for e in ERRORS},
    "written_by": f"torch {torch.__version__}, scripts/torch_api_fixtures.py",
    "init": [v.tolist() for v in INIT],
    "cases": cases,
}
path = pathlib.Path(__file__).resolve().parents[1] / "python" / "tests" / "fixtures" / "torch_api.json"
path.write_text(json.dumps(fixture))
print(f"wrote {path}: {len(cases)} cases")
