"""Activation functions on NumPy arrays, computed by the library's kernels (the ones the
layers use), returning float32 arrays. Each can also be given to ``Dense(activation=...)``.

>>> import neurite as nt
>>> nt.activations.softmax([0.3, 2.9, 4.0]).round(6).tolist()
[0.018211, 0.245192, 0.736597]
"""

from . import _neurite


def _make(name, doc):
    def f(x):
        return _neurite.activation(name, x)

    f.__name__ = name
    f.__qualname__ = name
    f.__doc__ = doc
    return f


linear = _make("linear", "The identity, ``x``.")
step = _make("step", "The step function: 1 where ``x > 0``, else 0.")
sigmoid = _make("sigmoid", "``1 / (1 + exp(-x))``.")
tanh = _make("tanh", "The hyperbolic tangent.")
relu = _make("relu", "``max(x, 0)``.")
leaky_relu = _make("leaky_relu", "``x`` where positive, ``0.01 x`` elsewhere.")
elu = _make("elu", "``x`` where positive, ``exp(x) - 1`` elsewhere.")
softplus = _make("softplus", "``log(1 + exp(x))``.")
softmax = _make("softmax", "``exp(x) / sum(exp(x))`` over the last axis, computed stably (the max subtracted).")


def derivative(name, x):
    """The derivative of the activation ``name`` at each element of ``x``."""
    return _neurite.activation_derivative(name, x)


def get(identifier):
    """The library's name of an activation given as a name, one of this module's functions,
    or None (linear)."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        return identifier
    name = getattr(identifier, "__name__", None)
    if callable(identifier) and name in _NAMES:
        return name
    raise ValueError(f"unknown activation {identifier!r}: give a name such as 'relu' or a function of neurite.activations")


_NAMES = {"linear", "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax"}
