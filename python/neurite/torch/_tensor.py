"""``neurite.torch.Tensor``: PyTorch's tensor over the library's autograd variable.

Every value is computed by the library (``neurite._neurite.Var``: its tensors, kernels and
backward rules). This module holds what PyTorch users see around the numbers: dtypes and
their promotion, indexing, in-place semantics, printing, and PyTorch's names.

Storage: the library's tensors hold float32. Integer and bool tensors keep their dtype as a
label over float32 values, which are exact for whole numbers up to 2**24 (16,777,216):
creating an integer tensor with larger values raises ``ValueError`` rather than rounding.
float64 (and float16) tensors exist to be converted (``.float()``, ``.to()``, ``.numpy()``);
computing on them raises ``TypeError``: neurite computes in float32.
"""

import builtins
import math

import numpy as np

from .. import _neurite

_Var = _neurite.Var
_EXACT = 2**24


class dtype:
    """A tensor's element type (``torch.float32``, ``torch.int64``, ``torch.bool``, ...)."""

    __slots__ = ("name", "is_floating_point", "itemsize", "_np", "_kind")

    def __init__(self, name, np_dtype, kind):
        self.name = name
        self._np = np.dtype(np_dtype)
        self.itemsize = self._np.itemsize
        self.is_floating_point = kind == "float"
        self._kind = kind  # "bool" < "int" < "float"; "foreign" for float64/float16

    @property
    def is_signed(self):
        return self.name not in ("uint8", "bool")

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


float32 = dtype("float32", np.float32, "float")
float64 = dtype("float64", np.float64, "foreign")
float16 = dtype("float16", np.float16, "foreign")
int64 = dtype("int64", np.int64, "int")
int32 = dtype("int32", np.int32, "int")
int16 = dtype("int16", np.int16, "int")
int8 = dtype("int8", np.int8, "int")
uint8 = dtype("uint8", np.uint8, "int")
bool_ = dtype("bool", np.bool_, "bool")

_DTYPES = {d.name: d for d in (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)}


def _dtype_by_name(name):
    return _DTYPES[name]


def _from_numpy_dtype(np_dtype):
    np_dtype = np.dtype(np_dtype)
    if np_dtype == np.bool_:
        return bool_
    name = np_dtype.name
    if name in _DTYPES:
        return _DTYPES[name]
    if np_dtype.kind in "iu":
        return int64
    raise TypeError(
        f"can't convert np.ndarray of type numpy.{name}: neurite.torch supports float32, int64, int32, "
        "int16, int8, uint8 and bool (float64 and float16 for conversion only)"
    )


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int"}
_TYPE_NAMES.update({"int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"})

_RANK = {"bool": 0, "int": 1, "float": 2}


def _promote(a, b):
    """The result dtype of an operation on two tensors, as PyTorch promotes them."""
    if a is b:
        return a
    ra, rb = _RANK[a._kind], _RANK[b._kind]
    if ra != rb:
        return a if ra > rb else b
    if a._kind == "int":  # the wider integer; int64 above all
        return a if a.itemsize >= b.itemsize else b
    return a


class Size(tuple):
    """A tensor's shape: a tuple (``torch.Size([2, 3]) == (2, 3)``)."""

    def __repr__(self):
        return f"torch.Size([{', '.join(str(d) for d in self)}])"

    def numel(self):
        return math.prod(self)

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out


class device:
    """``torch.device``: neurite runs on the CPU; other devices are refused by name."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        kind = str(type).split(":")[0]
        if kind != "cpu":
            raise RuntimeError(f"neurite.torch runs on the CPU only; device {type!r} is not available")
        self.type, self.index = "cpu", index

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        return isinstance(other, (device, str)) and str(other).split(":")[0] == "cpu"

    def __hash__(self):
        return hash("cpu")


_CPU = device("cpu")


def _check_device(dev):
    if dev is not None:
        device(dev)


_GRAD_NAMES = {
    "add": "AddBackward0",
    "add_scalar": "AddBackward0",
    "mul_scalar": "MulBackward0",
    "powf": "PowBackward0",
    "sub": "SubBackward0",
    "mul": "MulBackward0",
    "div": "DivBackward0",
    "pow": "PowBackward0",
    "matmul": "MmBackward0",
    "sum": "SumBackward0",
    "sum_axis": "SumBackward1",
    "mean": "MeanBackward0",
    "mean_axis": "MeanBackward1",
    "max": "MaxBackward1",
    "max_axis": "MaxBackward0",
    "linear": "AddmmBackward0",
    "binary_crossentropy": "BinaryCrossEntropyWithLogitsBackward0",
    "relu": "ReluBackward0",
    "sigmoid": "SigmoidBackward0",
    "tanh": "TanhBackward0",
    "exp": "ExpBackward0",
    "log": "LogBackward0",
    "sqrt": "SqrtBackward0",
    "neg": "NegBackward0",
    "abs": "AbsBackward0",
    "reshape": "ViewBackward0",
    "transpose": "TransposeBackward0",
    "permute": "PermuteBackward0",
    "softmax": "SoftmaxBackward0",
    "log_softmax": "LogSoftmaxBackward0",
    "sparse_categorical_crossentropy": "NllLossBackward0",
    "cat": "CatBackward0",
    "stack": "StackBackward0",
    "index_select": "IndexSelectBackward0",
    "narrow": "SliceBackward0",
}


class _GradFn:
    """What ``tensor.grad_fn`` shows: the name of the operation that made a tensor."""

    __slots__ = ("_op",)

    def __init__(self, op):
        self._op = op

    def name(self):
        return _GRAD_NAMES.get(self._op, "".join(p.capitalize() for p in self._op.split("_")) + "Backward0")

    def __repr__(self):
        return f"<{self.name()} object>"


def _value_error_for_big_ints(arr):
    if arr.size and np.abs(arr).max() > _EXACT:
        raise ValueError(
            f"integer values up to {_EXACT} (2**24) are supported (neurite's tensors hold float32, exact "
            f"only that far); this array reaches {np.abs(arr).max()}"
        )


def _as_array(data, dtype=None):
    """NumPy array for torch.tensor(data): PyTorch's default dtypes (float32 for floats,
    int64 for ints, bool) unless ``dtype`` is given."""
    if isinstance(data, Tensor):
        return data.numpy()
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _nested_tensors_to_lists(data)
    arr = np.asarray(data)
    if dtype is None:
        if arr.dtype.kind == "f" and not isinstance(data, np.ndarray):
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu" and not isinstance(data, np.ndarray):
            arr = arr.astype(np.int64)
    return arr


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _nested_tensors_to_lists(data):
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_nested_tensors_to_lists(x) for x in data]
    return data


def _from_array(arr, dtype=None, requires_grad=False):
    """A tensor from a NumPy array, keeping its dtype unless ``dtype`` is given."""
    if dtype is None:
        dtype = _from_numpy_dtype(arr.dtype)
    if dtype._kind == "foreign":
        if requires_grad:
            raise TypeError(f"{dtype!r} tensors cannot require grad in neurite.torch: it computes in float32")
        t = Tensor.__new__(Tensor)
        t._var, t._dtype, t._np, t._grad_of = None, dtype, np.array(arr, dtype=dtype._np), None
        return t
    if arr.dtype.kind == "c" or arr.dtype.kind not in "biuf":
        raise TypeError(f"can't convert an array of dtype {arr.dtype} to a tensor")
    if dtype._kind == "int":
        if arr.dtype.kind == "f":
            arr = np.trunc(arr)
        _value_error_for_big_ints(arr)
    elif dtype._kind == "bool":
        arr = arr != 0
    if requires_grad and not dtype.is_floating_point:
        raise RuntimeError("Only Tensors of floating point dtype can require gradients")
    return Tensor._wrap(_Var.from_numpy(arr, requires_grad), dtype)


def _scalar_dtype(x):
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    return float32


def _is_scalar(x):
    return isinstance(x, (int, float, bool, np.number, np.bool_))


def _normalize_dim(dim, ndim):
    d = dim + ndim if dim < 0 else dim
    if not 0 <= d < builtins.max(ndim, 1):
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-builtins.max(ndim, 1)}, {builtins.max(ndim, 1) - 1}], but got {dim})"
        )
    return d


class _MinMax(tuple):
    """``(values, indices)`` of ``max(dim)``/``min(dim)``, as PyTorch's named tuple."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


class Tensor:
    """A multi-dimensional array with PyTorch's API, computed by neurite's library.

    >>> import neurite.torch as torch
    >>> x = torch.arange(6).view(2, -1)
    >>> x
    tensor([[0, 1, 2],
            [3, 4, 5]])
    >>> w = torch.ones(3, requires_grad=True)
    >>> (x.float() @ w).sum().backward()
    >>> w.grad
    tensor([3., 5., 7.])
    """

    __slots__ = ("_var", "_dtype", "_np", "_grad_of", "__weakref__")
    __array_priority__ = 1000  # numpy scalars and arrays defer to Tensor's operators

    def __init__(self, *args, **kwargs):
        # torch.Tensor(data) / torch.Tensor(2, 3): the legacy constructor, float32.
        if len(args) == 1 and not isinstance(args[0], int):
            t = _from_array(np.asarray(_as_array(args[0]), dtype=np.float32), float32)
        else:
            t = _from_array(np.zeros(args, dtype=np.float32), float32)
        self._var, self._dtype, self._np, self._grad_of = t._var, t._dtype, None, None

    @classmethod
    def _wrap(cls, var, dtype=float32):
        t = object.__new__(cls)
        t._var, t._dtype, t._np, t._grad_of = var, dtype, None, None
        return t

    def _v(self):
        if self._var is None:
            raise TypeError(
                f"neurite.torch computes in float32: this {self._dtype!r} tensor can only be converted "
                "(.float(), .to(torch.float32), .numpy()); operations on it are not supported"
            )
        return self._var

    # -- what a tensor is -------------------------------------------------------------

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return _CPU

    @property
    def is_cuda(self):
        return False

    @property
    def shape(self):
        return Size(self._np.shape if self._var is None else self._var.shape)

    def size(self, dim=None):
        shape = self.shape
        return shape if dim is None else shape[_normalize_dim(dim, len(shape))]

    def dim(self):
        return len(self.shape)

    ndimension = dim

    @property
    def ndim(self):
        return len(self.shape)

    def numel(self):
        return math.prod(self.shape)

    nelement = numel

    def element_size(self):
        return self._dtype.itemsize

    def is_floating_point(self):
        return self._dtype._kind in ("float", "foreign")

    def is_contiguous(self):
        return True

    def contiguous(self):
        return self

    def numpy(self):
        """The values as a NumPy array of this dtype (a copy: neurite's storage is its own)."""
        if self._var is None:
            return self._np.copy()
        if self._var.requires_grad and _neurite.is_grad_enabled():
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        arr = self._var.numpy()
        return arr if self._dtype is float32 else arr.astype(self._dtype._np)

    def __array__(self, dtype=None, copy=None):
        arr = self.detach().numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        if self._var is None:
            return self._np.reshape(()).item()
        value = self._var.item()
        if self._dtype._kind == "int":
            return int(value)
        if self._dtype._kind == "bool":
            return value != 0
        return float(value)

    def tolist(self):
        return self.detach().numpy().tolist()

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._dtype._kind not in ("int", "bool") or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self):
        from ._format import tensor_repr

        return tensor_repr(self)

    def __str__(self):
        return self.__repr__()

    def __reduce__(self):
        return (_rebuild, (self.detach().numpy(), self._dtype.name, self.requires_grad))

    # -- conversions --------------------------------------------------------------------

    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``: CPU only."""
        target = kwargs.get("dtype")
        for a in list(args) + [kwargs.get("device")]:
            if isinstance(a, dtype):
                target = a
            elif isinstance(a, Tensor):
                target = a.dtype
            elif a is not None:
                _check_device(a)
        return self if target is None or target is self._dtype else self._cast(target)

    def _cast(self, target):
        if target is self._dtype:
            return self
        if self._var is None or target._kind == "foreign":
            return _from_array(self.detach().numpy().astype(target._np), target)
        if target._kind == "float":
            return Tensor._wrap(self._var, target)  # the same float32 values, the graph kept
        if target._kind == "int":
            v = self._var.value_map("trunc") if self._dtype._kind == "float" else self._var
            if target is uint8 or target.itemsize < 8:
                arr = self.detach().numpy().astype(target._np)  # wraps around as PyTorch's casts do
                return _from_array(arr, target)
            return Tensor._wrap(v.detach() if v is self._var and self.requires_grad else v, target)
        return Tensor._wrap(self._var.compare("ne", _Var.full([], 0.0)), bool_)

    def float(self):
        return self._cast(float32)

    def double(self):
        return self._cast(float64)

    def half(self):
        return self._cast(float16)

    def long(self):
        return self._cast(int64)

    def int(self):
        return self._cast(int32)

    def short(self):
        return self._cast(int16)

    def char(self):
        return self._cast(int8)

    def byte(self):
        return self._cast(uint8)

    def bool(self):
        return self._cast(bool_)

    def type(self, dtype=None):
        if dtype is None:
            return f"torch.{_TYPE_NAMES[self._dtype.name]}Tensor"
        return self._cast(dtype)

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        raise RuntimeError("neurite.torch runs on the CPU only: CUDA is not available")

    # -- autograd ------------------------------------------------------------------------

    @property
    def requires_grad(self):
        return self._var is not None and self._var.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        if requires_grad == self.requires_grad:
            return self
        if not self.is_leaf:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if requires_grad and not self._dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._var = self._var.as_parameter() if requires_grad else self._var.detach()
        return self

    @property
    def is_leaf(self):
        return self._var is None or self._var.is_leaf or not self._var.requires_grad

    @property
    def grad_fn(self):
        op = None if self._var is None else self._var.op_name
        return None if op is None or not self._var.requires_grad else _GradFn(op)

    @property
    def grad(self):
        if self._var is None:
            return None
        g = self._var.grad()
        if g is None:
            return None
        t = Tensor._wrap(g, float32)
        t._grad_of = self._var
        return t

    @grad.setter
    def grad(self, value):
        if value is None:
            self._var.set_grad(None)
        else:
            self._var.set_grad(_tensor_of(value)._v())

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        if create_graph:
            raise TypeError("backward(create_graph=True) is not supported: neurite's gradients are not differentiable")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None and self.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        self._var.backward(None if gradient is None else _tensor_of(gradient)._v())

    def retain_grad(self):
        raise TypeError("retain_grad() is not supported: neurite keeps the gradients of leaf tensors only")

    def detach(self):
        if self._var is None:
            return self
        return Tensor._wrap(self._var.detach() if self._var.requires_grad else self._var, self._dtype)

    @property
    def data(self):
        """The values without the graph (PyTorch's older spelling of ``detach()``)."""
        return self.detach()

    @data.setter
    def data(self, value):
        value = _tensor_of(value)
        if tuple(value.shape) != tuple(self.shape):
            raise RuntimeError(f"data: a tensor of shape {tuple(value.shape)} for one of shape {tuple(self.shape)} (neurite.torch keeps shapes)")
        prev = _neurite.set_grad_enabled(False)
        try:
            self._var.set_value(value._cast(self._dtype)._v())
        finally:
            _neurite.set_grad_enabled(prev)

    def detach_(self):
        if self._var is not None and self._var.requires_grad:
            self._var = self._var.detach()
        return self

    def clone(self, memory_format=None):
        if self._var is None:
            return _from_array(self._np.copy(), self._dtype)
        return Tensor._wrap(self._var.copy(), self._dtype)

    # -- arithmetic ---------------------------------------------------------------------

    def _binary(self, other, op, result_dtype=None, reverse=False):
        self._v()
        if _is_scalar(other):
            other_dtype = _scalar_dtype(other)
            dt = result_dtype or (self._dtype if _RANK[self._dtype._kind] >= _RANK[other_dtype._kind] else other_dtype)
            if dt._kind == "bool" and op in ("add", "sub", "mul"):
                dt = int64 if op != "mul" else bool_
            a = self._v()
            if op == "add" and not reverse:
                return Tensor._wrap(a.add_scalar(float(other)), dt)
            if op == "mul":
                return Tensor._wrap(a.mul_scalar(float(other)), dt)
            if op == "sub" and not reverse:
                return Tensor._wrap(a.add_scalar(-float(other)), dt)
            if op == "sub" and reverse:
                return Tensor._wrap(a.neg().add_scalar(float(other)), dt)
            if op == "add":
                return Tensor._wrap(a.add_scalar(float(other)), dt)
            if op == "pow" and not reverse:
                return Tensor._wrap(a.powf(float(other)), dt)
            b = _Var.full([], float(other))
        else:
            other = _tensor_of(other)
            dt = result_dtype or _promote(self._dtype, other._dtype)
            if dt._kind == "bool" and op in ("add", "sub"):
                if op == "sub":
                    raise RuntimeError(
                        "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                        "`logical_xor()` operator instead."
                    )
            a, b = self._v(), other._v()
        if reverse:
            a, b = b, a
        out = getattr(a, op)(b)
        if op == "add" and dt._kind == "bool":
            out = out.compare("ne", _Var.full([], 0.0))
        return Tensor._wrap(out, dt)

    def __add__(self, other):
        return self._binary(other, "add")

    def __radd__(self, other):
        return self._binary(other, "add", reverse=True)

    def __sub__(self, other):
        return self._binary(other, "sub")

    def __rsub__(self, other):
        return self._binary(other, "sub", reverse=True)

    def __mul__(self, other):
        return self._binary(other, "mul")

    def __rmul__(self, other):
        return self._binary(other, "mul", reverse=True)

    def __truediv__(self, other):
        return self._float_binary(other, "div")

    def __rtruediv__(self, other):
        return self._float_binary(other, "div", reverse=True)

    def _float_binary(self, other, op, reverse=False):
        self._v()
        a = self if self._dtype.is_floating_point else self._cast(float32)
        if not _is_scalar(other):
            other = _tensor_of(other)
            if not other._dtype.is_floating_point:
                other = other._cast(float32)
        return a._binary(other, op, result_dtype=float32, reverse=reverse)

    def __floordiv__(self, other):
        q = self._float_binary(other, "div")
        dt = self._dtype if _is_scalar(other) and not isinstance(other, float) else _promote(
            self._dtype, _scalar_dtype(other) if _is_scalar(other) else _tensor_of(other)._dtype
        )
        return Tensor._wrap(q._var.value_map("floor"), dt)

    def __rfloordiv__(self, other):
        return _tensor_of(other, self._dtype).__floordiv__(self)

    def __mod__(self, other):
        return self - (self // other) * other

    def __rmod__(self, other):
        return _tensor_of(other, self._dtype).__mod__(self)

    def __pow__(self, other):
        self._v()
        if _is_scalar(other):
            dt = self._dtype if not isinstance(other, float) else _promote(self._dtype, float32)
            return Tensor._wrap(self._v().powf(float(other)), dt)
        return self._binary(other, "pow")

    def __rpow__(self, other):
        return self._binary(other, "pow", reverse=True)

    def __matmul__(self, other):
        other = _tensor_of(other)
        return Tensor._wrap(self._v().matmul(other._v()), _promote(self._dtype, other._dtype))

    def __rmatmul__(self, other):
        return _tensor_of(other).__matmul__(self)

    def __neg__(self):
        if self._dtype is bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
        return Tensor._wrap(self._v().neg(), self._dtype)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def _compare(self, other, op):
        self._v()
        other = _tensor_of(other, self._dtype if _is_scalar(other) else None)
        return Tensor._wrap(self._v().compare(op, other._v()), bool_)

    def __eq__(self, other):
        if other is None:
            return False
        return self._compare(other, "eq")

    def __ne__(self, other):
        if other is None:
            return True
        return self._compare(other, "ne")

    def __gt__(self, other):
        return self._compare(other, "gt")

    def __ge__(self, other):
        return self._compare(other, "ge")

    def __lt__(self, other):
        return self._compare(other, "lt")

    def __le__(self, other):
        return self._compare(other, "le")

    def _logical(self, other, op):
        a, b = self.bool(), _tensor_of(other).bool()
        if op == "and":
            return Tensor._wrap(a._var.mul(b._var), bool_)
        if op == "or":
            return Tensor._wrap(a._var.maximum(b._var), bool_)
        return Tensor._wrap(a._var.compare("ne", b._var), bool_)

    def __and__(self, other):
        return self._logical(other, "and")

    __rand__ = __and__

    def __or__(self, other):
        return self._logical(other, "or")

    __ror__ = __or__

    def __xor__(self, other):
        return self._logical(other, "xor")

    __rxor__ = __xor__

    def __invert__(self):
        if self._dtype is not bool_:
            raise TypeError("~ (bitwise not) is supported on bool tensors only in neurite.torch")
        return Tensor._wrap(self._var.compare("eq", _Var.full([], 0.0)), bool_)

    def logical_not(self):
        return self.bool().__invert__()

    def add(self, other, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        q = self / other
        return Tensor._wrap(q._var.value_map("floor" if rounding_mode == "floor" else "trunc"), q._dtype)

    divide = div
    true_divide = div

    def pow(self, exponent):
        return self**exponent

    def matmul(self, other):
        return self @ other

    def mm(self, other):
        if self.ndim != 2 or _tensor_of(other).ndim != 2:
            raise RuntimeError("mm: both arguments must be 2-D (use matmul for others)")
        return self @ other

    def dot(self, other):
        if self.ndim != 1 or _tensor_of(other).ndim != 1:
            raise RuntimeError("1D tensors expected, but got other shapes in dot")
        return self @ other

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def equal(self, other):
        other = _tensor_of(other)
        return self.shape == other.shape and bool((self == other).all())

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        a, b = self.detach().numpy(), _tensor_of(other).detach().numpy()
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        a, b = self.detach().numpy(), _tensor_of(other).detach().numpy()
        return _from_array(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def maximum(self, other):
        other = _tensor_of(other)
        return Tensor._wrap(self._v().maximum(other._v()), _promote(self._dtype, other._dtype))

    def minimum(self, other):
        other = _tensor_of(other)
        return Tensor._wrap(self._v().minimum(other._v()), _promote(self._dtype, other._dtype))

    # -- element-wise functions ------------------------------------------------------------

    def _float_unary(self, name, *args):
        self._v()
        v = self._v() if self._dtype.is_floating_point else self._cast(float32)._v()
        return Tensor._wrap(getattr(v, name)(*args), float32)

    def exp(self):
        return self._float_unary("exp")

    def log(self):
        return self._float_unary("log")

    def log2(self):
        return self.log() / math.log(2.0)

    def log10(self):
        return self.log() / math.log(10.0)

    def log1p(self):
        return (self + 1.0).log()

    def expm1(self):
        return self.exp() - 1.0

    def sqrt(self):
        return self._float_unary("sqrt")

    def rsqrt(self):
        return 1.0 / self.sqrt()

    def sigmoid(self):
        return self._float_unary("sigmoid")

    def tanh(self):
        return self._float_unary("tanh")

    def relu(self):
        return Tensor._wrap(self._v().relu(), self._dtype)

    def square(self):
        return self * self

    def reciprocal(self):
        return 1.0 / self

    def abs(self):
        return Tensor._wrap(self._v().abs(), self._dtype)

    absolute = abs

    def sign(self):
        return Tensor._wrap(self._v().value_map("sign"), self._dtype)

    def floor(self):
        return Tensor._wrap(self._v().value_map("floor"), self._dtype)

    def ceil(self):
        return Tensor._wrap(self._v().value_map("ceil"), self._dtype)

    def trunc(self):
        return Tensor._wrap(self._v().value_map("trunc"), self._dtype)

    def round(self, decimals=0):
        if decimals:
            scale = 10.0**decimals
            return Tensor._wrap((self * scale)._var.value_map("round"), self._dtype) / scale
        return Tensor._wrap(self._v().value_map("round"), self._dtype)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            out = self
            if min is not None:
                out = out.maximum(_tensor_of(min))
            if max is not None:
                out = out.minimum(_tensor_of(max))
            return out
        lo = -math.inf if min is None else float(min)
        hi = math.inf if max is None else float(max)
        return Tensor._wrap(self._v().clamp(lo, hi), self._dtype)

    clip = clamp

    def softmax(self, dim, dtype=None):
        return self._float_unary("softmax", dim)

    def log_softmax(self, dim, dtype=None):
        return self._float_unary("log_softmax", dim)

    def masked_fill(self, mask, value):
        mask = _tensor_of(mask)
        filled = _tensor_of(value, self._dtype) if _is_scalar(value) else _tensor_of(value)
        shape = list(np.broadcast_shapes(tuple(self.shape), tuple(mask.shape)))
        return Tensor._wrap(
            _Var.where_cond(mask._v().broadcast_to(shape), filled._v().broadcast_to(shape), self._v().broadcast_to(shape)),
            self._dtype,
        )

    # -- reductions -------------------------------------------------------------------------

    def _reduce(self, name, dim, keepdim, dtype_out):
        self._v()
        v = self._v()
        if dim is None:
            out = getattr(v, name)()
            if keepdim:
                out = out.reshape([1] * self.ndim)
            return Tensor._wrap(out, dtype_out)
        dims = [dim] if isinstance(dim, int) else list(dim)
        dims = sorted({_normalize_dim(d, self.ndim) for d in dims}, reverse=True)
        for d in dims:
            v = getattr(v, name + "_axis")(d, keepdim)
        return Tensor._wrap(v, dtype_out)

    def sum(self, dim=None, keepdim=False, dtype=None):
        out_dtype = dtype or (int64 if self._dtype._kind in ("int", "bool") else self._dtype)
        return self._reduce("sum", dim, keepdim, out_dtype)

    def mean(self, dim=None, keepdim=False, dtype=None):
        self._v()
        if not self._dtype.is_floating_point and dtype is None:
            raise NotImplementedError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
                f"complex dtype. Got: {_TYPE_NAMES[self._dtype.name]}"
            )
        return self._cast(float32)._reduce("mean", dim, keepdim, float32)

    def prod(self, dim=None, keepdim=False):
        if self.requires_grad:
            return self.log().sum(dim, keepdim).exp() if bool((self > 0).all()) else _unsupported("prod of non-positive values with a gradient")
        arr = self.numpy().prod(axis=dim, keepdims=keepdim)
        return _from_array(np.asarray(arr), self._dtype if self._dtype._kind != "bool" else int64)

    def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
        if correction is None:
            correction = 1 if unbiased else 0
        mean = self.mean(dim, keepdim=True)
        sq = (self - mean) ** 2
        n = self.numel() if dim is None else math.prod(self.shape[d] for d in ([dim] if isinstance(dim, int) else dim))
        return sq.sum(dim, keepdim=keepdim) / builtins.max(n - correction, 0)

    def std(self, dim=None, unbiased=True, keepdim=False, correction=None):
        return self.var(dim, unbiased, keepdim, correction).sqrt()

    def norm(self, p=2, dim=None, keepdim=False):
        if p == 2 or p == "fro":
            return (self * self).sum(dim, keepdim=keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim=keepdim)
        return (self.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)

    def max(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return Tensor._wrap(self._v().max(), self._dtype)
        d = _normalize_dim(dim, self.ndim)
        values = Tensor._wrap(self._v().max_axis(d, keepdim), self._dtype)
        return _MinMax((values, self.argmax(d, keepdim)))

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return Tensor._wrap(self._v().neg().max().neg(), self._dtype)
        d = _normalize_dim(dim, self.ndim)
        values = Tensor._wrap(self._v().neg().max_axis(d, keepdim).neg(), self._dtype)
        return _MinMax((values, self.argmin(d, keepdim)))

    def amax(self, dim=None, keepdim=False):
        return self.max() if dim is None else self.max(dim, keepdim)[0]

    def amin(self, dim=None, keepdim=False):
        return self.min() if dim is None else self.min(dim, keepdim)[0]

    def _arg(self, dim, keepdim, smallest):
        if dim is None:
            idx = self._v().arg_extreme(None, smallest)
            return _from_array(np.asarray(idx[0], dtype=np.int64).reshape([1] * self.ndim if keepdim else []), int64)
        d = _normalize_dim(dim, self.ndim)
        idx = np.asarray(self._v().arg_extreme(d, smallest), dtype=np.int64)
        shape = list(self.shape)
        if keepdim:
            shape[d] = 1
        else:
            del shape[d]
        return _from_array(idx.reshape(shape), int64)

    def argmax(self, dim=None, keepdim=False):
        return self._arg(dim, keepdim, False)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(dim, keepdim, True)

    def all(self, dim=None, keepdim=False):
        b = self.bool()
        if dim is None:
            return Tensor._wrap(b._var.compare("eq", _Var.full([], 1.0)).sum().compare("eq", _Var.full([], float(self.numel()))), bool_)
        return Tensor._wrap(b._reduce("sum", dim, keepdim, int64)._var.compare("eq", _Var.full([], float(self.shape[dim]))), bool_)

    def any(self, dim=None, keepdim=False):
        b = self.bool()
        return Tensor._wrap(b._reduce("sum", dim, keepdim, int64)._var.compare("gt", _Var.full([], 0.0)), bool_)

    def count_nonzero(self, dim=None):
        return (self != 0).sum(dim)

    def cumsum(self, dim):
        if self.requires_grad:
            _unsupported("cumsum with a gradient")
        return _from_array(np.cumsum(self.numpy(), axis=dim), self._dtype if self._dtype._kind != "bool" else int64)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        d = _normalize_dim(dim, self.ndim)
        order = np.argsort(-self.detach().numpy() if largest else self.detach().numpy(), axis=d, kind="stable")
        idx = np.take(order, np.arange(k), axis=d)
        indices = _from_array(idx.astype(np.int64), int64)
        return _MinMax((self.gather(d, indices), indices))

    def sort(self, dim=-1, descending=False):
        return self.topk(self.shape[_normalize_dim(dim, self.ndim)], dim, largest=descending)

    def argsort(self, dim=-1, descending=False):
        return self.sort(dim, descending)[1]

    def unique(self, sorted=True, return_counts=False):
        if return_counts:
            values, counts = np.unique(self.detach().numpy(), return_counts=True)
            return _from_array(values, self._dtype), _from_array(counts.astype(np.int64), int64)
        return _from_array(np.unique(self.detach().numpy()), self._dtype)

    # -- shapes -----------------------------------------------------------------------------

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], dtype):
            raise TypeError("view(dtype) is not supported in neurite.torch")
        shape = _shape_args(shape)
        if self._var is None:
            return _from_array(self._np.reshape(shape), self._dtype)
        return Tensor._wrap(self._var.reshape(list(shape)), self._dtype)

    reshape = view

    def view_as(self, other):
        return self.view(*other.shape)

    reshape_as = view_as

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.view(1)
        s = _normalize_dim(start_dim, self.ndim)
        e = _normalize_dim(end_dim, self.ndim)
        shape = list(self.shape)
        return self.view(*(shape[:s] + [math.prod(shape[s : e + 1])] + shape[e + 1 :]))

    def unflatten(self, dim, sizes):
        d = _normalize_dim(dim, self.ndim)
        shape = list(self.shape)
        return self.view(*(shape[:d] + list(sizes) + shape[d + 1 :]))

    def squeeze(self, dim=None):
        if dim is None:
            return self.view(*[d for d in self.shape if d != 1])
        dims = [dim] if isinstance(dim, int) else list(dim)
        out = self
        for d in sorted((_normalize_dim(d, self.ndim) for d in dims), reverse=True):
            if out.shape[d] == 1:
                out = Tensor._wrap(out._v().squeeze_axis(d), self._dtype)
        return out

    def unsqueeze(self, dim):
        d = dim + self.ndim + 1 if dim < 0 else dim
        if not 0 <= d <= self.ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-self.ndim - 1}, {self.ndim}], but got {dim})")
        return Tensor._wrap(self._v().unsqueeze(d), self._dtype)

    def permute(self, *dims):
        dims = _shape_args(dims)
        return Tensor._wrap(self._v().permute([_normalize_dim(d, self.ndim) for d in dims]), self._dtype)

    def transpose(self, dim0, dim1):
        return Tensor._wrap(self._v().transpose(dim0, dim1), self._dtype)

    swapaxes = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self):
        return self if self.ndim < 2 else self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def expand(self, *sizes):
        sizes = list(_shape_args(sizes))
        lead = len(sizes) - self.ndim
        shape = [self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes)]
        return Tensor._wrap(self._v().broadcast_to(shape), self._dtype)

    def expand_as(self, other):
        return self.expand(*other.shape)

    def repeat(self, *sizes):
        sizes = _new_shape(sizes)
        out = self.view(*([1] * (len(sizes) - self.ndim) + list(self.shape)))
        for d, r in enumerate(sizes):
            if r != 1:
                out = cat([out] * r, d)
        return out

    def chunk(self, chunks, dim=0):
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        size = self.shape[_normalize_dim(dim, self.ndim)]
        return self.split(math.ceil(size / chunks), dim)

    def split(self, split_size, dim=0):
        d = _normalize_dim(dim, self.ndim)
        size = self.shape[d]
        sizes = split_size if isinstance(split_size, (list, tuple)) else [split_size] * math.ceil(size / split_size)
        out, start = [], 0
        for s in sizes:
            s = builtins.min(s, size - start)
            out.append(self.narrow(d, start, s))
            start += s
        return tuple(out)

    def narrow(self, dim, start, length):
        return Tensor._wrap(self._v().narrow(_normalize_dim(dim, self.ndim), start, length), self._dtype)

    def index_select(self, dim, index):
        idx = [int(i) for i in np.asarray(_tensor_of(index).numpy()).reshape(-1)]
        return Tensor._wrap(self._v().index_select(_normalize_dim(dim, self.ndim), idx), self._dtype)

    def gather(self, dim, index):
        """``out[i][j] = self[i][index[i][j]]`` (dim 1), as PyTorch's gather."""
        d = _normalize_dim(dim, self.ndim)
        idx = np.asarray(_tensor_of(index).numpy(), dtype=np.int64)
        if idx.ndim != self.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        strides = np.cumprod([1] + list(self.shape[::-1]))[:-1][::-1]
        grids = np.indices(idx.shape)
        flat = np.zeros(idx.shape, dtype=np.int64)
        for axis in range(self.ndim):
            flat += (idx if axis == d else grids[axis]) * strides[axis]
        picked = self.reshape(-1).index_select(0, _from_array(flat.reshape(-1), int64))
        return picked.view(*idx.shape)

    def masked_select(self, mask):
        return self[_tensor_of(mask).bool().expand(*self.shape)]

    def nonzero(self, as_tuple=False):
        idx = np.nonzero(self.detach().numpy())
        if as_tuple:
            return tuple(_from_array(i.astype(np.int64), int64) for i in idx)
        return _from_array(np.stack(idx, axis=1).astype(np.int64), int64)

    # -- indexing -----------------------------------------------------------------------------

    def __getitem__(self, key):
        from ._index import getitem

        return getitem(self, key)

    def __setitem__(self, key, value):
        from ._index import setitem

        setitem(self, key, value)

    # -- in place ------------------------------------------------------------------------------

    def _assign(self, result):
        """Makes ``result`` this tensor's value, as PyTorch's in-place operations do."""
        if self._var is None:
            raise TypeError(f"in-place operations on {self._dtype!r} tensors are not supported")
        if result._dtype is not self._dtype:
            if _RANK[result._dtype._kind] > _RANK[self._dtype._kind]:
                raise RuntimeError(
                    f"result type {result._dtype.name.capitalize()} can't be cast to the desired output type "
                    f"{self._dtype.name.capitalize()}"
                )
            result = result._cast(self._dtype)
        grad_mode = _neurite.is_grad_enabled()
        if self._grad_of is not None:
            self._grad_of.set_grad(result._v())
            self._var = result._v()
        elif self._var.requires_grad and grad_mode and self._var.is_leaf:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        elif result._v().requires_grad and grad_mode:
            # Recorded: this tensor becomes the operation's result, as in PyTorch's graph.
            if tuple(result.shape) != tuple(self.shape):
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(result.shape)}")
            self._var = result._v()
        else:
            value = result._v()
            if tuple(result.shape) != tuple(self.shape):
                value = value.broadcast_to(list(self.shape))
            self._var.set_value(value)
        return self

    def _inplace(self, fn):
        """Runs `fn` (the out-of-place operation) and makes its result this tensor's value."""
        self._check_leaf_inplace()
        if self._var is not None and self._var.requires_grad and not self._var.is_leaf and _neurite.is_grad_enabled():
            return self._assign(fn())
        prev = _neurite.set_grad_enabled(False) if self._var is not None and self._var.requires_grad else None
        try:
            return self._assign(fn())
        finally:
            if prev is not None:
                _neurite.set_grad_enabled(prev)

    def _check_leaf_inplace(self):
        if self._var is not None and self._var.requires_grad and self._var.is_leaf and _neurite.is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")

    def add_(self, other, alpha=1):
        return self._inplace(lambda: self.add(other, alpha))

    def sub_(self, other, alpha=1):
        return self._inplace(lambda: self.sub(other, alpha))

    def mul_(self, other):
        return self._inplace(lambda: self * other)

    def div_(self, other):
        return self._inplace(lambda: self / other)

    def pow_(self, other):
        return self._inplace(lambda: self**other)

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda: self.clamp(min, max))

    clip_ = clamp_

    def relu_(self):
        return self._inplace(lambda: self.relu())

    def masked_fill_(self, mask, value):
        return self._inplace(lambda: self.masked_fill(mask, value))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._inplace(lambda: Tensor._wrap(_Var.full(list(self.shape), float(value)), self._dtype))

    def copy_(self, src):
        return self._inplace(lambda: _tensor_of(src)._cast(self._dtype).detach())

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from ._random import default_generator

        g = (generator or default_generator)._g
        return self.copy_(Tensor._wrap(g.randn(list(self.shape)), float32) * std + mean)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from ._random import default_generator

        g = (generator or default_generator)._g
        return self.copy_(Tensor._wrap(g.uniform(list(self.shape), float(a), float(b)), float32))

    def __iadd__(self, other):
        return self._inplace(lambda: self + other)

    def __isub__(self, other):
        return self._inplace(lambda: self - other)

    def __imul__(self, other):
        return self._inplace(lambda: self * other)

    def __itruediv__(self, other):
        return self._inplace(lambda: self / other)


def _rebuild(arr, dtype_name, requires_grad):
    return _from_array(arr, _DTYPES[dtype_name], requires_grad)


def _unsupported(what):
    raise TypeError(f"{what} is not supported in neurite.torch")


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    return shape


def _new_shape(shape):
    """A shape for a new tensor: no negative sizes (checked before anything is allocated)."""
    shape = _shape_args(shape)
    for d in shape:
        if d < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {d}: {list(shape)}")
    return shape


def _tensor_of(x, like_dtype=None):
    """``x`` as a Tensor: tensors as they are, numbers and arrays converted."""
    if isinstance(x, Tensor):
        return x
    if _is_scalar(x):
        dt = _scalar_dtype(x)
        if like_dtype is not None and _RANK.get(like_dtype._kind, 2) >= _RANK[dt._kind]:
            dt = like_dtype if like_dtype._kind != "foreign" else float32
        return Tensor._wrap(_Var.full([], float(x)), dt)
    return _from_array(_as_array(x))


def cat(tensors, dim=0):
    tensors = [_tensor_of(t) for t in tensors]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _promote(dt, t.dtype)
    return Tensor._wrap(_Var.cat([t._v() for t in tensors], dim), dt)


def stack(tensors, dim=0):
    tensors = [_tensor_of(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _promote(dt, t.dtype)
    return Tensor._wrap(_Var.stack([t._v() for t in tensors], dim), dt)
