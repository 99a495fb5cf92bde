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
softplus = _make("softplus", "``log(1 + exp(x))``.")


def leaky_relu(x, alpha=None, negative_slope=None):
    """``x`` where positive, ``alpha x`` elsewhere: note 003's ``np.maximum(alpha*x, x)``, with
    its default ``alpha=0.01`` (Keras 3 calls it ``negative_slope`` and defaults to 0.2)."""
    if alpha is not None and negative_slope is not None:
        raise ValueError("leaky_relu: give alpha or negative_slope, not both")
    slope = next((v for v in (alpha, negative_slope) if v is not None), 0.01)
    return _neurite.activation("leaky_relu", x, alpha=float(slope))


def elu(x, alpha=1.0):
    """``x`` where positive, ``alpha (exp(x) - 1)`` elsewhere (Keras' and note 003's ``elu``)."""
    return _neurite.activation("elu", x, alpha=float(alpha))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (the last by default, as Keras; note 003 writes
    ``np.sum(np.exp(x), axis=0)``), computed stably (the max subtracted)."""
    return _neurite.activation("softmax", x, axis=int(axis))


for _f in (leaky_relu, elu, softmax):
    _f.__qualname__ = _f.__name__


def derivative(name, x, alpha=None):
    """The derivative of the activation ``name`` at each element of ``x`` (``alpha``: leaky
    ReLU's slope or ELU's scale, their defaults when not given)."""
    return _neurite.activation_derivative(name, x, None if alpha is None else float(alpha))


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
