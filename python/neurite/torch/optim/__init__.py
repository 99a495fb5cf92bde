"""``torch.optim``: SGD, Adam, AdamW, RMSprop and Adagrad with PyTorch's defaults and update
rules, each step the library's optimiser (``neurite::optim``, one vectorised pass per
parameter) over the parameters' accumulated ``.grad``."""

import json

from ... import _neurite


class Optimizer:
    """The base of the optimisers: ``param_groups`` (each with its own hyperparameters),
    ``step()``, ``zero_grad()``."""

    _defaults = {}

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = []
        for g in groups:
            group = dict(self.defaults)
            group.update(g)
            group["params"] = list(group["params"])
            for p in group["params"]:
                if not p.is_leaf:
                    raise ValueError("can't optimize a non-leaf Tensor")
            self._check(group)
            self.param_groups.append(group)
        self._engines = [None] * len(self.param_groups)
        self._built_with = [None] * len(self.param_groups)
        self.state = {}

    def _check(self, group):
        if group.get("lr", 0) < 0:
            raise ValueError(f"Invalid learning rate: {group['lr']}")

    def _json(self, group):
        raise NotImplementedError

    def _engine(self, i):
        group = self.param_groups[i]
        params = group["params"]
        # The group as it is now (a scheduler may have changed its lr, a user its params).
        snapshot = ([(k, v) for k, v in group.items() if k != "params"], [p._var.id for p in params])
        built = self._built_with[i]
        if built == snapshot:
            return self._engines[i]
        spec = self._json(group)
        if built is not None and built[1] == snapshot[1]:
            # Only a hyperparameter moved (a scheduler's lr): keep the moments.
            self._engines[i].set_optimizer(spec)
        else:
            self._engines[i] = _neurite.Optim(spec, [p._var for p in params])
        self._built_with[i] = snapshot
        return self._engines[i]

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p._var.set_grad(None)
                elif p.grad is not None:
                    p.grad.zero_()

    def step(self, closure=None):
        loss = None
        if closure is not None:
            from .. import enable_grad

            with enable_grad():
                loss = closure()
        for i in range(len(self.param_groups)):
            self._engine(i).step()
        return loss

    def add_param_group(self, group):
        g = dict(self.defaults)
        g.update(group)
        g["params"] = list(g["params"])
        self._check(g)
        self.param_groups.append(g)
        self._engines.append(None)
        self._built_with.append(None)

    def state_dict(self):
        raise TypeError(
            f"{type(self).__name__}.state_dict() is not supported in neurite.torch: save the model's state_dict; "
            "neurite's own checkpoints (neurite train --checkpoint) keep optimiser state"
        )

    def load_state_dict(self, state_dict):
        self.state_dict()

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def _unsupported(name, **flags):
    for k, v in flags.items():
        if v:
            raise TypeError(f"{name}({k}={v!r}) is not supported in neurite.torch")


class SGD(Optimizer):
    """``p -= lr * (g + weight_decay p)`` with PyTorch's momentum buffer (dampening,
    Nesterov)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False, foreach=None, differentiable=False, fused=None):
        _unsupported("SGD", differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _json(self, g):
        return json.dumps({"name": "torch_sgd", "lr": g["lr"], "momentum": g["momentum"], "dampening": g["dampening"], "weight_decay": g["weight_decay"], "nesterov": g["nesterov"], "maximize": g["maximize"]})


class Adam(Optimizer):
    """PyTorch's Adam: ``p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, foreach=None, maximize=False, capturable=False, differentiable=False, fused=None):
        _unsupported("Adam", differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize))

    def _check(self, g):
        super()._check(g)
        b1, b2 = g["betas"]
        if not 0.0 <= b1 < 1.0 or not 0.0 <= b2 < 1.0:
            raise ValueError(f"Invalid beta parameters: {g['betas']}")
        if g["eps"] < 0:
            raise ValueError(f"Invalid epsilon value: {g['eps']}")

    _decoupled = False

    def _json(self, g):
        return json.dumps({"name": "torch_adam", "lr": g["lr"], "betas": list(g["betas"]), "eps": g["eps"], "weight_decay": g["weight_decay"], "amsgrad": g["amsgrad"], "maximize": g["maximize"], "decoupled_weight_decay": self._decoupled})


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the step."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, **kwargs):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **kwargs)


class RMSprop(Optimizer):
    """``v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps)`` (centred and with
    momentum as PyTorch)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, capturable=False, foreach=None, maximize=False, differentiable=False):
        _unsupported("RMSprop", differentiable=differentiable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered, maximize=maximize))

    def _json(self, g):
        return json.dumps({"name": "torch_rmsprop", "lr": g["lr"], "alpha": g["alpha"], "eps": g["eps"], "weight_decay": g["weight_decay"], "momentum": g["momentum"], "centered": g["centered"], "maximize": g["maximize"]})


class Adagrad(Optimizer):
    """``acc += g^2; p -= lr/(1 + (t-1) lr_decay) * g / (sqrt(acc) + eps)``."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _unsupported("Adagrad", differentiable=differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize))

    def _json(self, g):
        return json.dumps({"name": "torch_adagrad", "lr": g["lr"], "lr_decay": g["lr_decay"], "weight_decay": g["weight_decay"], "initial_accumulator_value": g["initial_accumulator_value"], "eps": g["eps"], "maximize": g["maximize"]})


from . import lr_scheduler  # noqa: E402  (torch.optim.lr_scheduler)
