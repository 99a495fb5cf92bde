"""Writes tests/fixtures/torch_optim_trajectories.json: eight steps of PyTorch's own
torch.optim.SGD, Adam, AdamW, RMSprop and Adagrad, in float32, over one fixed sequence of
float32 gradients, for tests/optim_torch.rs to compare neurite's `Optimizer::Torch*` variants
with, step by step.

    /work/venv-ref/bin/python scripts/torch_optim_fixtures.py   # torch (CPU), numpy

Nothing is mapped or recomputed here: the trajectories are what PyTorch's optimisers do to a
float32 parameter, through the single-tensor path it takes on a CPU (`foreach=False` is passed
so that no other path is taken). Each case also records:

- `optimizer`: the JSON neurite.torch sends for it, made from the optimiser's own
  `param_groups[0]` (PyTorch's names and the values it holds, defaults included), keeping the
  keys neurite reads; so a name or default that differs between the two shows here;
- `state`: the optimiser's state after the last step (`state_dict()["state"]`), buffer by
  buffer under PyTorch's names, which are neurite's slot names.

`defaults` holds the JSON of each optimiser built with no hyperparameter but the parameters
(PyTorch's defaults), which neurite's `Optimizer::torch_*()` must equal.

`skips` drives two parameters where the second has no gradient (`.grad` None) at some steps:
PyTorch then leaves it and its state alone, and its step count (Adam's bias correction,
Adagrad's decayed rate, SGD's first momentum step) is its own.

Gradients span 1e-6 to 3 in size so that epsilon's place shows in the small ones; parameters
start away from zero (1.5 to 4 in size) so that a relative tolerance is meaningful."""

import json
import pathlib

import numpy as np
import torch

STEPS, N = 8, 6
rng = np.random.default_rng(2015)

params0 = (rng.uniform(1.5, 4.0, N) * rng.choice([-1.0, 1.0], N)).astype(np.float32)
scale = np.array([3.0, 1.0, 0.3, 1e-2, 1e-4, 1e-6])
grads = (rng.normal(0.0, 1.0, (STEPS, N)) * scale).astype(np.float32)

# The second parameter of `skips`, and the steps (from 1) at which it has no gradient.
params0_b = (rng.uniform(1.5, 4.0, 3) * rng.choice([-1.0, 1.0], 3)).astype(np.float32)
grads_b = (rng.normal(0.0, 1.0, (STEPS, 3))).astype(np.float32)
NO_GRAD_B = [1, 2, 5]

# neurite's name for each class, and the fields it reads (PyTorch's keyword arguments).
FIELDS = {
    "torch_sgd": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"],
    "torch_adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"],
    "torch_rmsprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"],
    "torch_adagrad": ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"],
}
NAMES = {
    torch.optim.SGD: "torch_sgd",
    torch.optim.Adam: "torch_adam",
    torch.optim.AdamW: "torch_adam",
    torch.optim.RMSprop: "torch_rmsprop",
    torch.optim.Adagrad: "torch_adagrad",
}

CASES = [
    ("sgd", torch.optim.SGD, dict(lr=0.1)),
    ("sgd_momentum_dampening", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("sgd_nesterov_weight_decay", torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    ("sgd_momentum_maximize", torch.optim.SGD, dict(lr=0.05, momentum=0.5, maximize=True)),
    ("adam_default", torch.optim.Adam, dict()),
    ("adam_lr", torch.optim.Adam, dict(lr=0.05)),
    ("adam_weight_decay", torch.optim.Adam, dict(lr=0.05, weight_decay=0.1)),
    ("adam_amsgrad", torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), amsgrad=True)),
    ("adam_maximize", torch.optim.Adam, dict(lr=0.05, maximize=True, eps=1e-6)),
    # A beta1 of 0.3: PyTorch's lerp then counts from the gradient's end.
    ("adam_small_beta1", torch.optim.Adam, dict(lr=0.05, betas=(0.3, 0.9))),
    ("adamw_default", torch.optim.AdamW, dict()),
    ("adamw", torch.optim.AdamW, dict(lr=0.05, weight_decay=0.2, amsgrad=True)),
    ("rmsprop_default", torch.optim.RMSprop, dict()),
    ("rmsprop_momentum", torch.optim.RMSprop, dict(lr=0.01, momentum=0.9)),
    ("rmsprop_centered", torch.optim.RMSprop, dict(lr=0.01, centered=True, alpha=0.9)),
    ("rmsprop_momentum_centered", torch.optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.05)),
    ("adagrad_default", torch.optim.Adagrad, dict()),
    (
        "adagrad_lr_decay",
        torch.optim.Adagrad,
        dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.5, weight_decay=0.02, maximize=True),
    ),
]

SKIPS = [
    ("sgd_momentum_dampening", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("adam_amsgrad", torch.optim.Adam, dict(lr=0.05, amsgrad=True)),
    ("rmsprop_momentum_centered", torch.optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
    ("adagrad_lr_decay", torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.05)),
]


def as_json(opt):
    """What neurite.torch sends for `opt`: its class's name and param_groups[0]'s fields."""
    name = NAMES[type(opt)]
    group = opt.param_groups[0]
    out = {"name": name}
    for key in FIELDS[name]:
        value = group[key]
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def state_of(opt, p):
    """The buffers PyTorch keeps for `p` (tensors only; `step` separately)."""
    state = opt.state[p]
    buffers = {k: v.flatten().tolist() for k, v in state.items() if torch.is_tensor(v) and k != "step"}
    step = state.get("step")
    return buffers, (None if step is None else int(float(step)))


def run(cls, kwargs):
    p = torch.nn.Parameter(torch.tensor(params0))
    opt = cls([p], foreach=False, **kwargs)
    trajectory = []
    for g in grads:
        opt.zero_grad()
        p.grad = torch.tensor(g)
        opt.step()
        trajectory.append(p.detach().tolist())
    buffers, step = state_of(opt, p)
    return {"optimizer": as_json(opt), "trajectory": trajectory, "state": buffers, "step": step}


def run_skips(cls, kwargs):
    a = torch.nn.Parameter(torch.tensor(params0))
    b = torch.nn.Parameter(torch.tensor(params0_b))
    opt = cls([a, b], foreach=False, **kwargs)
    trajectory = []
    for t in range(1, STEPS + 1):
        opt.zero_grad()  # set_to_none: both grads are None
        a.grad = torch.tensor(grads[t - 1])
        if t not in NO_GRAD_B:
            b.grad = torch.tensor(grads_b[t - 1])
        opt.step()
        trajectory.append(a.detach().tolist() + b.detach().tolist())
    steps = [state_of(opt, a)[1], state_of(opt, b)[1]]
    return {"optimizer": as_json(opt), "trajectory": trajectory, "steps": steps}


def main():
    torch.manual_seed(0)
    cases = []
    for name, cls, kwargs in CASES:
        case = run(cls, kwargs)
        case["case"] = name
        cases.append(case)
    skips = []
    for name, cls, kwargs in SKIPS:
        case = run_skips(cls, kwargs)
        case["case"] = name
        skips.append(case)
    dummy = [torch.nn.Parameter(torch.zeros(1))]
    defaults = {
        "sgd": as_json(torch.optim.SGD(dummy)),
        "adam": as_json(torch.optim.Adam(dummy)),
        "adamw": as_json(torch.optim.AdamW(dummy)),
        "rmsprop": as_json(torch.optim.RMSprop(dummy)),
        "adagrad": as_json(torch.optim.Adagrad(dummy)),
    }
    fixture = {
        "torch_version": torch.__version__,
        "params0": params0.tolist(),
        "grads": grads.tolist(),
        "cases": cases,
        "skips": {
            "params0_b": params0_b.tolist(),
            "grads_b": grads_b.tolist(),
            "no_grad_b": NO_GRAD_B,
            "cases": skips,
        },
        "defaults": defaults,
    }
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch_optim_trajectories.json"
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {out} ({len(cases)} cases, {len(skips)} with skipped gradients, torch {torch.__version__})")


if __name__ == "__main__":
    main()
