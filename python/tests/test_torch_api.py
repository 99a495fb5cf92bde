"""neurite.torch against PyTorch itself: each case of fixtures/torch_api.json is PyTorch code
run by PyTorch (scripts/torch_api_fixtures.py wrote its values and gradients); the same code
runs here on neurite.torch and must give the same values and gradients within 1e-5."""

import json
import pathlib

import numpy as np
import pytest

import neurite.torch as torch
import neurite.torch.nn.functional as F
from neurite.torch import nn, optim

FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "torch_api.json").read_text())
TOL = 1e-5


def _close(got, want, what):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, PyTorch {want.shape}"
    scale = np.maximum(1.0, np.abs(want))
    worst = float(np.max(np.abs(got - want) / scale)) if want.size else 0.0
    assert worst <= TOL, f"{what}: off by {worst:.3g} (relative where |value| > 1)"


def _run(case, backward=True):
    env = {"torch": torch, "F": F, "nn": nn, "optim": optim, "init": [torch.tensor(v) for v in FIXTURE["init"]]}
    leaves = {}
    for name, spec in case["inputs"].items():
        t = torch.tensor(np.asarray(spec["values"], dtype=spec["dtype"]))
        if t.is_floating_point() and backward:
            t.requires_grad_(True)
        leaves[name] = t
        env[name] = t
    exec(case["code"], env)
    return env, leaves


@pytest.mark.parametrize("name", sorted(FIXTURE["cases"]))
def test_values_and_gradients_match_pytorch(name):
    case = FIXTURE["cases"][name]
    training = name.startswith("train_")
    env, leaves = _run(case, backward=not training)
    out = env["out"]
    assert list(out.shape) == case["out_shape"]
    _close(out.detach().numpy(), case["out"], f"{name}: out")
    for i, (got, want) in enumerate(zip(env.get("extra", []), case["extra"])):
        _close(got.detach().numpy(), want, f"{name}: extra[{i}]")
    assert len(env.get("extra", [])) == len(case["extra"])
    if case["grads"]:
        (out * torch.tensor(np.asarray(case["weights"], dtype=np.float32))).sum().backward()
        for k, want in case["grads"].items():
            got = leaves[k].grad
            if want is None:
                assert got is None, f"{name}: {k} has a gradient, PyTorch's has none"
            else:
                _close(got.numpy(), want, f"{name}: grad of {k}")


def _describe(value):
    if isinstance(value, torch.Tensor):
        return {"repr": repr(value), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, tuple) and hasattr(value, "values") and hasattr(value, "indices"):
        return {"values": _describe(value.values), "indices": _describe(value.indices)}
    return {"repr": repr(value), "type": type(value).__name__}


@pytest.mark.parametrize("expression", list(FIXTURE["expressions"]))
def test_tensors_print_and_behave_as_pytorch(expression):
    """The printed form, dtype and shape PyTorch gives (random values: shape only)."""
    got = _describe(eval(expression, {"torch": torch, "nn": nn, "F": F}))
    want = FIXTURE["expressions"][expression]
    if "randn" in expression:
        want, got = want["repr"], got["repr"]
    assert got == want


@pytest.mark.parametrize("expression", list(FIXTURE["errors"]))
def test_errors_are_pytorchs_exception_types(expression):
    want = FIXTURE["errors"][expression]
    with pytest.raises(Exception) as info:
        eval(expression, {"torch": torch, "nn": nn, "F": F})
    assert type(info.value).__name__ == want, f"{expression}: {info.value!r}"
