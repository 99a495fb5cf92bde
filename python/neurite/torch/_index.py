"""Indexing and slicing of ``neurite.torch`` tensors, as PyTorch (and NumPy) index.

Reading (``t[0]``, ``t[:, 1:3]``, ``t[..., None]``, ``t[mask]``, ``t[idx]``, ``t[rows, cols]``)
is a chain of the library's differentiable ``narrow``, ``index_select``, ``reshape`` and
``squeeze``, so gradients flow through it. Writing (``t[mask] = 0``) replaces the values of a
tensor outside any graph.
"""

import numpy as np

from ._tensor import Tensor, _from_array, _tensor_of, bool_, int64


def _is_int(k):
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _index_array(k):
    """An advanced index as a NumPy array (ints or bools), or None for a basic one."""
    if isinstance(k, Tensor):
        if k.dtype is bool_:
            return k.numpy().astype(bool)
        if k.dtype._kind == "int":
            if k.ndim == 0:
                return None
            return k.numpy().astype(np.int64)
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if isinstance(k, (list, np.ndarray)):
        arr = np.asarray(k)
        if arr.dtype.kind == "b":
            return arr
        if arr.dtype.kind in "iu":
            return arr.astype(np.int64)
        raise IndexError(f"an index array of dtype {arr.dtype} (ints or bools expected)")
    if isinstance(k, (bool, np.bool_)):
        return np.asarray(k)
    return None


def _expand(key, ndim):
    if not isinstance(key, tuple):
        key = (key,)
    used = 0
    for k in key:
        if k is None or k is Ellipsis:
            continue
        arr = _index_array(k)
        used += arr.ndim if arr is not None and arr.dtype == bool else 1
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    out = []
    seen_ellipsis = False
    for k in key:
        if k is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(k)
    return out


def _bound(i, size, axis):
    i = int(i)
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of bounds for dimension {axis} with size {size}")
    return i + size if i < 0 else i


def getitem(t, key):
    dtype = t.dtype
    if t._var is None:
        return _from_array(np.asarray(t._np[_numpy_key(key)]), dtype)
    v = t._var
    shape = list(v.shape)
    items = _expand(key, len(shape))
    axis = 0
    advanced = []  # (axis, int array) for adjacent integer-array indices
    for k in items:
        if k is None:
            v = v.unsqueeze(axis)
            shape.insert(axis, 1)
            axis += 1
            continue
        if isinstance(k, Tensor) and k.ndim == 0 and k.dtype._kind == "int":
            k = k.item()
        if _is_int(k):
            i = _bound(k, shape[axis], axis)
            v = v.narrow(axis, i, 1).squeeze_axis(axis)
            del shape[axis]
            continue
        if isinstance(k, slice):
            start, stop, step = k.indices(shape[axis])
            if step <= 0:
                raise ValueError("step must be greater than zero")
            if step == 1:
                length = max(0, stop - start)
                v = v.narrow(axis, min(start, shape[axis]), length)
            else:
                idx = list(range(start, stop, step))
                v = v.index_select(axis, idx)
                length = len(idx)
            shape[axis] = length
            axis += 1
            continue
        arr = _index_array(k)
        if arr is None:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or bool tensors are valid indices (got {type(k).__name__})")
        if arr.dtype == bool:
            span = shape[axis : axis + arr.ndim]
            if list(arr.shape) != span:
                raise IndexError(
                    f"The shape of the mask {list(arr.shape)} at index {axis} does not match the shape of the indexed tensor {span}"
                )
            if arr.ndim > 1:
                v = v.reshape(shape[:axis] + [-1] + shape[axis + arr.ndim :])
                shape = shape[:axis] + [int(np.prod(span))] + shape[axis + arr.ndim :]
            idx = np.flatnonzero(arr)
            v = v.index_select(axis, [int(i) for i in idx])
            shape[axis] = len(idx)
            axis += 1
            continue
        if advanced and advanced[-1][0] != axis - 1:
            raise TypeError("indexing with index arrays on dimensions that are not adjacent is not supported in neurite.torch")
        size = shape[axis]
        if arr.size and (arr.max() >= size or arr.min() < -size):
            bad = arr.max() if arr.max() >= size else arr.min()
            raise IndexError(f"index {bad} is out of bounds for dimension {axis} with size {size}")
        advanced.append((axis, np.where(arr < 0, arr + size, arr)))
        axis += 1
    if advanced:
        v, shape = _gather_advanced(v, shape, advanced)
    return Tensor._wrap(v, dtype)


def _gather_advanced(v, shape, advanced):
    """Applies adjacent integer-array indices at once: their broadcast shape replaces them."""
    first = advanced[0][0]
    axes = [a for a, _ in advanced]
    arrays = np.broadcast_arrays(*[arr for _, arr in advanced])
    sizes = [shape[a] for a in axes]
    flat = np.zeros(arrays[0].shape, dtype=np.int64)
    for arr, size in zip(arrays, sizes):
        flat = flat * size + arr
    merged = int(np.prod(sizes))
    v = v.reshape(shape[:first] + [merged] + shape[first + len(axes) :])
    v = v.index_select(first, [int(i) for i in flat.reshape(-1)])
    out_shape = shape[:first] + list(flat.shape) + shape[first + len(axes) :]
    return v.reshape(out_shape), out_shape


def _numpy_key(key):
    if isinstance(key, tuple):
        return tuple(_numpy_key(k) for k in key)
    if isinstance(key, Tensor):
        return key.numpy()
    return key


def setitem(t, key, value):
    """``t[key] = value``: new values for a tensor outside any graph."""
    from .. import _neurite

    if t._var is not None and t._var.requires_grad and _neurite.is_grad_enabled():
        if t._var.is_leaf:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        raise TypeError(
            "assigning into a tensor that is part of a graph is not supported in neurite.torch: build a new "
            "tensor instead (torch.where, torch.cat, masked_fill)"
        )
    arr = t.detach().numpy()
    arr[_numpy_key(key)] = value.detach().numpy() if isinstance(value, Tensor) else value
    t._assign(_from_array(arr, t.dtype).detach())
