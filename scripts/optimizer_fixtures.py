"""Writes tests/fixtures/optimizer_trajectories.json: eight steps of each optimiser over one
fixed sequence of gradients, and eight on a quadratic (one linear Dense layer fitted with the
mean squared error, gradients by PyTorch's autograd: the training engine's path), computed in
float64 by PyTorch's torch.optim (or, for RMSprop, by Keras' published rule in NumPy), for
tests/optimizer_trajectories.rs to compare neurite's float32 optimisers with, step by step.

    KERAS_BACKEND=torch /work/venv-ref/bin/python scripts/optimizer_fixtures.py   # torch, numpy (keras: Nadam's check)

neurite follows Keras 3's update rules (keras/src/optimizers/*.py, update_step). Where PyTorch's
rule differs, the fixture maps one onto the other exactly or does not use PyTorch:

- SGD: Keras keeps v = momentum v - lr g and adds it (Nesterov: adds momentum v - lr g);
  PyTorch keeps b = momentum b + g (dampening 0) and subtracts lr b (Nesterov: lr (g +
  momentum b)). With a constant learning rate v = -lr b, so the two agree step for step.
- Adagrad: Keras divides by sqrt(acc + eps), PyTorch by sqrt(acc) + eps. Keras' eps is folded
  into PyTorch's starting accumulator (initial_accumulator_value = initial + eps, PyTorch's
  eps = 0): sqrt(initial + eps + sum g^2), Keras' denominator exactly.
- Adam: Keras steps by lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps); PyTorch by
  lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps'). They agree when eps' = eps /
  sqrt(1 - b2^t), so PyTorch's eps is set to that before each step t.
- RMSprop: Keras divides by sqrt(v + eps), PyTorch by sqrt(v) + eps, and as v decays no
  constant or per-step scalar maps one onto the other. The trajectory is computed here in
  NumPy float64 by Keras' formula instead. That NumPy code is itself checked against PyTorch's
  RMSprop with eps = 0, where the two rules agree.
- Nadam: PyTorch's NAdam schedules the momentum as b1 (1 - 0.5 * 0.96^(t * momentum_decay)),
  Keras' as b1 (1 - 0.5 * 0.96^t); with momentum_decay = 1 the two rules are the same (eps
  after the root of v / (1 - b2^t) in both). The trajectory is PyTorch's, and is checked here
  against Keras 3's own Nadam on float64 variables when keras is installed (run with
  KERAS_BACKEND=torch): they agree within 1e-10 relative.

The hyper-parameters are the float32 values neurite holds (0.9 as float32 is 0.899999976), and
the starting parameters and gradients are float32 numbers, so that the only difference from
neurite is its float32 arithmetic. The gradients span 1e-6 to 3 in size, so that epsilon's
place shows in the small ones, and the parameters start away from zero (1.5 to 4 in size) so
that a relative tolerance is meaningful and no parameter crosses zero in eight steps."""

import json
import pathlib

import numpy as np
import torch

STEPS, N = 8, 6
rng = np.random.default_rng(26)
f32 = lambda x: float(np.float32(x))  # noqa: E731  (the value neurite holds)

params0 = (rng.uniform(1.5, 4.0, N) * rng.choice([-1.0, 1.0], N)).astype(np.float32).astype(np.float64)
# Each parameter value has its own gradient scale, so that epsilon matters for some.
scale = np.array([3.0, 1.0, 0.3, 1e-2, 1e-4, 1e-6])
grads = (rng.normal(0.0, 1.0, (STEPS, N)) * scale).astype(np.float32).astype(np.float64)
as32 = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)  # noqa: E731


class Fixed:
    """The fixed gradient sequence: step t's gradient whatever the parameters."""

    params0 = params0

    def grad_torch(self, p, t):
        return torch.tensor(grads[t - 1], dtype=torch.float64)

    def grad_np(self, p, t):
        return grads[t - 1]


class Quadratic:
    """One Dense layer (2 inputs, 3 linear units) fitted to 4 examples with the mean squared
    error, the training engine's path (train_on_batch): parameters are the kernel (2, 3) row by
    row, then the bias. The targets come from other weights of the same signs, far enough that
    eight steps stay far from the minimum (where float32 gradients would be mostly rounding)."""

    B, IN, OUT = 4, 2, 3
    x = as32(rng.normal(0.0, 1.0, (B, IN)))
    w0 = as32(rng.uniform(1.5, 3.0, (IN, OUT)) * rng.choice([-1.0, 1.0], (IN, OUT)))
    b0 = as32(rng.uniform(1.5, 3.0, OUT) * rng.choice([-1.0, 1.0], OUT))
    y = as32(x @ (w0 * 1.8) + b0 * 1.8)
    params0 = np.concatenate([w0.ravel(), b0])

    def grad_torch(self, p, t):
        # PyTorch's autograd and mse_loss (the mean over all values, as Keras' over the last
        # axis then the batch), not the formula below.
        p = p.detach().clone().requires_grad_(True)
        pred = torch.tensor(self.x) @ p[: self.IN * self.OUT].view(self.IN, self.OUT) + p[self.IN * self.OUT :]
        (g,) = torch.autograd.grad(torch.nn.functional.mse_loss(pred, torch.tensor(self.y)), p)
        return g

    def grad_np(self, p, t):
        w, b = p[: self.IN * self.OUT].reshape(self.IN, self.OUT), p[self.IN * self.OUT :]
        r = 2.0 / (self.B * self.OUT) * (self.x @ w + b - self.y)
        return np.concatenate([(self.x.T @ r).ravel(), r.sum(0)])


def run_torch(problem, make, per_step=None):
    p = torch.tensor(problem.params0, dtype=torch.float64, requires_grad=True)
    opt = make([p])
    out = []
    for t in range(1, STEPS + 1):
        if per_step:
            per_step(opt, t)
        p.grad = problem.grad_torch(p, t)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def sgd(problem, lr, momentum=0.0, nesterov=False):
    opt = {"name": "sgd", "learning_rate": f32(lr), "momentum": f32(momentum), "nesterov": nesterov}
    traj = run_torch(
        problem,
        lambda ps: torch.optim.SGD(ps, lr=opt["learning_rate"], momentum=opt["momentum"], nesterov=nesterov, foreach=False)
    )
    return opt, "torch.optim.SGD", traj


def adagrad(problem, lr, initial=0.1, eps=1e-7):
    opt = {"name": "adagrad", "learning_rate": f32(lr), "initial_accumulator": f32(initial), "epsilon": f32(eps)}
    # Keras' eps under the root, folded into the starting accumulator (see the module's text).
    traj = run_torch(
        problem,
        lambda ps: torch.optim.Adagrad(
            ps, lr=opt["learning_rate"], initial_accumulator_value=opt["initial_accumulator"] + opt["epsilon"], eps=0.0, foreach=False
        )
    )
    return opt, "torch.optim.Adagrad (initial_accumulator_value = initial + eps, eps = 0)", traj


def adam(problem, lr, beta1=0.9, beta2=0.999, eps=1e-7):
    opt = {"name": "adam", "learning_rate": f32(lr), "beta1": f32(beta1), "beta2": f32(beta2), "epsilon": f32(eps)}

    def keras_eps(o, t):
        # Keras adds eps to sqrt(v); PyTorch to sqrt(v) / sqrt(1 - b2^t).
        o.param_groups[0]["eps"] = opt["epsilon"] / np.sqrt(1.0 - opt["beta2"] ** t)

    traj = run_torch(
        problem,
        lambda ps: torch.optim.Adam(ps, lr=opt["learning_rate"], betas=(opt["beta1"], opt["beta2"]), eps=1.0, foreach=False),
        keras_eps,
    )
    return opt, "torch.optim.Adam (eps = eps / sqrt(1 - beta2^t) at step t)", traj


def keras_rmsprop(problem, lr, rho, momentum, eps):
    """Keras 3's RMSprop.update_step (not centered), in NumPy float64."""
    p, out = problem.params0.copy(), []
    v, m = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, STEPS + 1):
        g = problem.grad_np(p, t)
        v = rho * v + (1.0 - rho) * g * g
        increment = lr * g / np.sqrt(v + eps)
        if momentum > 0:
            m = momentum * m + increment
            p = p - m
        else:
            p = p - increment
        out.append(p.copy())
    return out


def rmsprop(problem, lr, rho=0.9, momentum=0.0, eps=1e-7):
    opt = {"name": "rms_prop", "learning_rate": f32(lr), "rho": f32(rho), "momentum": f32(momentum), "epsilon": f32(eps)}
    args = (opt["learning_rate"], opt["rho"], opt["momentum"])
    # The NumPy rule against PyTorch's where they agree (eps = 0), so that it is not only ours.
    torch_no_eps = run_torch(problem, lambda ps: torch.optim.RMSprop(ps, lr=args[0], alpha=args[1], momentum=args[2], eps=0.0, foreach=False))
    np.testing.assert_allclose(keras_rmsprop(problem, *args, 0.0), torch_no_eps, rtol=1e-12)
    return opt, "Keras' formula in NumPy (checked against torch.optim.RMSprop with eps = 0)", keras_rmsprop(problem, *args, opt["epsilon"])


def keras_nadam(problem, opt):
    """Keras 3's own Nadam.apply_gradients on a float64 variable, or None without keras."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return None
    var = keras.Variable(problem.params0.copy(), dtype="float64")
    o = keras.optimizers.Nadam(learning_rate=opt["learning_rate"], beta_1=opt["beta1"], beta_2=opt["beta2"], epsilon=opt["epsilon"])
    out = []
    for t in range(1, STEPS + 1):
        p = torch.tensor(np.asarray(keras.ops.convert_to_numpy(var)), dtype=torch.float64)
        g = problem.grad_torch(p, t).numpy()
        o.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), var)])
        out.append(np.asarray(keras.ops.convert_to_numpy(var), dtype=np.float64).copy())
    return out


def nadam(problem, lr, beta1=0.9, beta2=0.999, eps=1e-7):
    opt = {"name": "nadam", "learning_rate": f32(lr), "beta1": f32(beta1), "beta2": f32(beta2), "epsilon": f32(eps)}
    traj = run_torch(
        problem,
        lambda ps: torch.optim.NAdam(
            ps, lr=opt["learning_rate"], betas=(opt["beta1"], opt["beta2"]), eps=opt["epsilon"], momentum_decay=1.0, foreach=False
        ),
    )
    by_keras = keras_nadam(problem, opt)
    if by_keras is not None:
        # 1e-10 apart: Keras' u_product starts from 0.96 ** t with 0.96 as a float32 constant.
        np.testing.assert_allclose(by_keras, traj, rtol=1e-9)
    else:
        print("keras is not installed: Nadam's trajectory is not checked against Keras' own")
    return opt, "torch.optim.NAdam (momentum_decay = 1: Keras' schedule), checked against keras.optimizers.Nadam", traj


def cases(problem):
    return {
        "sgd": sgd(problem, 0.1),
        "momentum": sgd(problem, 0.05, momentum=0.9),
        "nesterov": sgd(problem, 0.05, momentum=0.9, nesterov=True),
        "adagrad": adagrad(problem, 0.1),
        "adagrad_eps_1e-3_no_initial": adagrad(problem, 0.1, initial=0.0, eps=1e-3),
        "rmsprop": rmsprop(problem, 0.01),
        "rmsprop_momentum": rmsprop(problem, 0.01, rho=0.8, momentum=0.9),
        "adam": adam(problem, 0.01),
        "adam_b1_0.8_b2_0.99_eps_1e-5": adam(problem, 0.05, beta1=0.8, beta2=0.99, eps=1e-5),
        "nadam": nadam(problem, 0.01),
        "nadam_b1_0.8_b2_0.99_eps_1e-5": nadam(problem, 0.05, beta1=0.8, beta2=0.99, eps=1e-5),
    }


def listed(problem):
    out = []
    for name, (opt, oracle, traj) in cases(problem).items():
        # No parameter comes near zero, so that 1e-5 relative is a meaningful tolerance.
        assert min(np.abs(p).min() for p in traj) > 0.5, name
        out.append({"name": name, "optimizer": opt, "oracle": oracle, "trajectory": [list(map(float, p)) for p in traj]})
    return out


q = Quadratic()
fixture = {
    "about": "scripts/optimizer_fixtures.py: float64 parameters after each step of each optimiser "
    "(Keras 3's rules; PyTorch or NumPy as oracle), over a fixed gradient sequence and on a quadratic",
    "params0": params0.tolist(),
    "grads": grads.tolist(),
    "cases": listed(Fixed()),
    "quadratic": {
        "x": q.x.tolist(),
        "y": q.y.tolist(),
        "kernel": q.w0.tolist(),
        "bias": q.b0.tolist(),
        "cases": listed(q),
    },
}
path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "optimizer_trajectories.json"
path.write_text(json.dumps(fixture, indent=1) + "\n")
print(f"wrote {path}: {len(fixture['cases'])} optimisers, {STEPS} steps, on fixed gradients and on a quadratic")
