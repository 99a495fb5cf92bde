"""``torch.save`` and ``torch.load`` of state_dicts, in PyTorch's own file format (the zip
``torch.save`` writes, which ``torch.load(path, weights_only=True)`` reads; ``load`` also reads
safetensors files), written and read by the library (``neurite::io::torch``)."""

import os
from collections import OrderedDict

import numpy as np

from .. import _neurite
from ._tensor import Tensor, _from_array, float32, int64


def _flat_tensors(obj, what):
    if isinstance(obj, Tensor):
        raise TypeError(f"torch.save of a single tensor is not supported in neurite.torch: save a dict of tensors ({what})")
    if not isinstance(obj, dict):
        raise TypeError(
            f"torch.save({type(obj).__name__}) is not supported in neurite.torch: it saves state_dicts "
            "(model.state_dict(), a dict of tensors), the form PyTorch recommends"
        )
    out = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"torch.save: state_dict keys must be strings, got {key!r}")
        if not isinstance(value, Tensor):
            raise TypeError(
                f"torch.save: the value of {key!r} is a {type(value).__name__}; neurite.torch saves dicts of tensors only"
            )
        out.append((key, value))
    return out


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True):
    """Writes a state_dict (a dict of tensors) to ``f`` atomically, in PyTorch's zip format."""
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError("torch.save: neurite.torch writes to a path (str or os.PathLike), not a file object")
    tensors = _flat_tensors(obj, str(f))
    entries = []
    for key, t in tensors:
        if t._var is None:
            raise TypeError(f"torch.save: {key!r} is a {t.dtype!r} tensor; convert it with .float() first")
        kind = "int64" if t.dtype._kind in ("int", "bool") else "float32"
        entries.append((key, t.detach()._var, kind))
    _neurite.save_state_dict(os.fspath(f), entries)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **kwargs):
    """Reads a state_dict file (PyTorch's zip or safetensors) as an ``OrderedDict`` of tensors
    in file order. Only tensors are read: nothing in the file is ever run."""
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError("torch.load: neurite.torch reads from a path (str or os.PathLike), not a file object")
    out = OrderedDict()
    for name, array, kind in _neurite.load_state_dict(os.fspath(f)):
        if kind == "int64":
            out[name] = _from_array(np.asarray(array).astype(np.int64), int64)
        else:
            out[name] = _from_array(np.asarray(array, dtype=np.float32), float32)
    return out
