"""``neurite.torch``: PyTorch's API over neurite's library, so that PyTorch code runs with its
import changed::

    import neurite.torch as torch
    from neurite.torch import nn, optim
    from neurite.torch.utils.data import DataLoader, TensorDataset

Tensors (float32, integer and bool dtypes), autograd (``requires_grad``, ``backward``,
``.grad``, ``no_grad``), ``nn.Module`` and its layers and losses, ``torch.optim`` with
PyTorch's update rules and defaults, ``DataLoader``, ``save``/``load`` of state_dicts in
PyTorch's own file format, and ``torch.onnx.export``. Every number is computed by the library
(``neurite._neurite``: its tensors, autograd, kernels and optimisers); this package holds
PyTorch's names, dtypes, indexing and printing. What is not supported raises ``TypeError`` or
``RuntimeError`` naming it. The CPU is the only device.
"""

import builtins
import contextlib
import functools
import math

import numpy as np

from .. import _neurite
from ._random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from ._tensor import (
    Size,
    Tensor,
    _as_array,
    _check_device,
    _from_array,
    _new_shape,
    _shape_args,
    _tensor_of,
    _Var,
    bool_,
    cat,
    device,
    dtype,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    stack,
    uint8,
)

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
bool = bool_

__version__ = _neurite.__version__


def _check_dtype(dt):
    if dt is not None and not isinstance(dt, dtype):
        raise TypeError(f"dtype must be a neurite.torch dtype (torch.float32, torch.int64, ...), got {dt!r}")


def _check_creation(dtype, device):
    """A dtype argument must be a neurite.torch dtype, a device the CPU."""
    _check_dtype(dtype)
    _check_device(device)


# -- creating tensors -------------------------------------------------------------------------


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (numbers, nested lists, an array or a tensor):
    float32 for floats, int64 for integers, bool for bools, unless ``dtype`` says."""
    _check_creation(dtype, device)
    arr = _as_array(data, dtype)
    if arr.dtype == object:
        raise TypeError(f"could not convert {type(data).__name__} to a tensor (ragged or non-numeric data)")
    if dtype is not None:
        arr = arr.astype(dtype._np)
    return _from_array(arr, dtype, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and (dtype is None or data.dtype is dtype):
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor of the array's dtype (a copy: neurite's storage is its own, so writing into
    one afterwards does not change the other, unlike PyTorch)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return _from_array(array)


def _filled(value, size, dtype, device, requires_grad, default=float32):
    _check_creation(dtype, device)
    shape = list(_new_shape(size))
    dt = dtype or default
    if dt._kind == "foreign":
        return _from_array(np.full(shape, value, dtype=dt._np), dt)
    t = Tensor._wrap(_Var.full(shape, builtins.float(value)), dt)
    return t.requires_grad_() if requires_grad else t


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _filled(0.0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _filled(1.0, size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    default = bool_ if isinstance(fill_value, builtins.bool) else int64 if isinstance(fill_value, builtins.int) else float32
    return _filled(fill_value, (size,), dtype, device, requires_grad, default)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return zeros(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return ones(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(tuple(t.shape), fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False):
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """``arange(5)``, ``arange(1, 4)``, ``arange(0, 1, 0.25)``: int64 when every argument is
    an integer, else float32."""
    _check_creation(dtype, device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    args = (start, end, step)
    whole = builtins.all(isinstance(a, (builtins.int, np.integer)) and not isinstance(a, builtins.bool) for a in args)
    dt = dtype or (int64 if whole else float32)
    count = builtins.max(0, math.ceil((end - start) / step))
    if count > 2**34:
        raise RuntimeError(f"arange({start}, {end}, {step}) would hold {count} values: more than neurite.torch allocates (2**34)")
    if whole or dt._kind != "float":
        arr = np.arange(start, end, step, dtype=np.float64)[:count]
        return _from_array(arr.astype(dt._np), dt, requires_grad)
    t = Tensor._wrap(_Var.arange(builtins.float(start), builtins.float(end), builtins.float(step)), dt)
    return t.requires_grad_() if requires_grad else t


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    _check_creation(dtype, device)
    t = Tensor._wrap(_Var.linspace(builtins.float(start), builtins.float(end), builtins.int(steps)), float32)
    t = t if dtype is None else t.to(dtype)
    return t.requires_grad_() if requires_grad else t


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    _check_creation(dtype, device)
    return _from_array(np.eye(n, m, dtype=np.float32), dtype or float32, requires_grad)


def _gen(generator):
    return (generator or default_generator)._g


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    _check_creation(dtype, device)
    t = Tensor._wrap(_gen(generator).uniform(list(_new_shape(size)), 0.0, 1.0), float32)
    return t.requires_grad_() if requires_grad else t


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    _check_creation(dtype, device)
    t = Tensor._wrap(_gen(generator).randn(list(_new_shape(size))), float32)
    return t.requires_grad_() if requires_grad else t


def randint(low, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    _check_creation(dtype, device)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    return Tensor._wrap(_gen(generator).randint(list(_new_shape((size,))), builtins.int(low), builtins.int(high)), dtype or int64)


def randperm(n, generator=None, dtype=None, device=None):
    _check_creation(dtype, device)
    return _from_array(np.asarray(_gen(generator).randperm(builtins.int(n)), dtype=np.int64), dtype or int64)


def rand_like(t, dtype=None):
    return rand(*t.shape, dtype=dtype)


def randn_like(t, dtype=None):
    return randn(*t.shape, dtype=dtype)


def normal(mean, std, size=None, generator=None):
    if size is not None:
        return randn(*size, generator=generator) * std + mean
    mean, std = _tensor_of(mean), _tensor_of(std)
    shape = np.broadcast_shapes(tuple(mean.shape), tuple(std.shape))
    return randn(*shape, generator=generator) * std + mean


def multinomial(probs, num_samples, replacement=False, generator=None):
    p = probs.detach().numpy().astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    out = []
    for row in rows:
        row = row / row.sum()
        picks = []
        weights = row.copy()
        for _ in range(num_samples):
            u = rand(1, generator=generator).item() * weights.sum()
            k = builtins.min(builtins.int(np.searchsorted(np.cumsum(weights), u, side="right")), len(weights) - 1)
            picks.append(k)
            if not replacement:
                weights[k] = 0.0
        out.append(picks)
    return _from_array(np.asarray(out, dtype=np.int64).reshape(p.shape[:-1] + (num_samples,)), int64)


# -- functions of tensors ----------------------------------------------------------------------


def _method(name):
    def f(input, *args, **kwargs):
        return getattr(_tensor_of(input), name)(*args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return f


for _name in (
    "abs", "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "square",
    "sign", "floor", "ceil", "round", "trunc", "clamp", "clip", "softmax", "log_softmax", "sum", "mean", "prod",
    "var", "std", "norm", "argmax", "argmin", "amax", "amin", "all", "any", "count_nonzero", "cumsum", "topk",
    "sort", "argsort", "unique", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "t",
    "reshape", "narrow", "index_select", "gather", "masked_select", "masked_fill", "nonzero", "chunk", "split",
    "matmul", "mm", "dot", "add", "sub", "mul", "multiply", "div", "divide", "true_divide", "pow", "eq", "ne", "gt",
    "ge", "lt", "le", "equal", "allclose", "isclose", "maximum", "minimum", "reciprocal", "logical_not",
    "clone", "detach", "swapaxes",
):
    globals()[_name] = _method(_name)
del _name


def neg(input):
    return -_tensor_of(input)


def max(input, dim=None, keepdim=False):
    return _tensor_of(input).max(dim, keepdim) if dim is not None else _tensor_of(input).max()


def min(input, dim=None, keepdim=False):
    return _tensor_of(input).min(dim, keepdim) if dim is not None else _tensor_of(input).min()


def where(condition, input=None, other=None):
    condition = _tensor_of(condition)
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    a = _tensor_of(input, None)
    b = _tensor_of(other, a.dtype)
    if isinstance(input, (builtins.int, builtins.float)) and not isinstance(other, (builtins.int, builtins.float)):
        a = _tensor_of(input, b.dtype)
    from ._tensor import _promote

    shape = list(np.broadcast_shapes(tuple(condition.shape), tuple(a.shape), tuple(b.shape)))
    out = _Var.where_cond(condition._v().broadcast_to(shape), a._v().broadcast_to(shape), b._v().broadcast_to(shape))
    return Tensor._wrap(out, _promote(a.dtype, b.dtype))


def concat(tensors, dim=0):
    return cat(tensors, dim)


concatenate = concat


def hstack(tensors):
    tensors = [_tensor_of(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t if _tensor_of(t).ndim > 1 else _tensor_of(t).view(1, -1) for t in tensors], 0)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return _tensor_of(input).numel()


def is_floating_point(input):
    return input.is_floating_point()


def get_default_dtype():
    return float32


def set_default_dtype(d):
    if d is not float32:
        raise TypeError(f"neurite.torch computes in float32: set_default_dtype({d!r}) is not supported")


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    from . import _format

    if precision is not None:
        _format.PRECISION = precision
    if threshold is not None:
        _format.THRESHOLD = threshold
    if edgeitems is not None:
        _format.EDGEITEMS = edgeitems
    if linewidth is not None:
        _format.LINEWIDTH = linewidth


def get_num_threads():
    import os

    return os.cpu_count() or 1


def set_num_threads(n):
    """Accepted for compatibility; neurite's autograd operations size their own work."""


# -- autograd mode ------------------------------------------------------------------------------


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self._enabled = enabled
        self._prev = []

    def __enter__(self):
        self._prev.append(_neurite.set_grad_enabled(self._enabled))
        return None

    def __exit__(self, *exc):
        _neurite.set_grad_enabled(self._prev.pop())
        return False

    def __call__(self, func):
        enabled = self._enabled

        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            with _GradMode(enabled):
                return func(*args, **kwargs)

        return wrapped


class no_grad(_GradMode):
    """``with torch.no_grad():`` (or ``@torch.no_grad()``): operations record no graph."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):
    def __init__(self):
        super().__init__(True)


class inference_mode(_GradMode):
    def __init__(self, mode=True):
        super().__init__(not mode)


class set_grad_enabled(_GradMode):
    """``torch.set_grad_enabled(False)`` as a call, a context manager or a decorator."""

    def __init__(self, mode):
        super().__init__(builtins.bool(mode))
        self._prev.append(_neurite.set_grad_enabled(builtins.bool(mode)))

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        if self._prev:
            _neurite.set_grad_enabled(self._prev.pop())
        return False


def is_grad_enabled():
    return _neurite.is_grad_enabled()


class _Cuda:
    """``torch.cuda``: there is no GPU in neurite; ``is_available()`` says so."""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0

    @staticmethod
    def manual_seed(seed):
        return None

    manual_seed_all = manual_seed


cuda = _Cuda()


class _Backends:
    class mps:
        @staticmethod
        def is_available():
            return False


backends = _Backends()

from . import autograd, nn, onnx, optim, utils  # noqa: E402
from .serialization import load, save  # noqa: E402
from .nn.parameter import Parameter  # noqa: E402
