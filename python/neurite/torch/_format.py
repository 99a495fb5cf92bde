"""How a ``neurite.torch`` tensor prints: PyTorch's layout (``tensor([[0.1000, 2.0000],``...),
its choice between fixed and scientific notation, whole floats as ``1.``, elision past
1000 values, and the ``dtype=``, ``grad_fn=`` and ``requires_grad=`` suffixes."""

import math

import numpy as np

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


class _Formatter:
    def __init__(self, values, kind):
        self.kind = kind
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = np.asarray(values).reshape(-1)
        if kind in ("int", "bool"):
            self.width = max((len(self._plain(x)) for x in flat), default=1)
            return
        finite = flat[np.isfinite(flat)]
        nonzero = np.abs(finite[finite != 0])
        if finite.size == 0:
            self.width = max((len(self._plain(x)) for x in flat), default=1)
            return
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if nonzero.size:
            lo, hi = float(nonzero.min()), float(nonzero.max())
            if self.int_mode:
                self.sci_mode = hi / lo > 1000.0 or hi > 1e8
            else:
                self.sci_mode = hi / lo > 1000.0 or hi > 1e8 or lo < 1e-4
        self.width = max(len(self.format(x)) for x in flat)

    def _plain(self, x):
        if self.kind == "bool":
            return "True" if x else "False"
        if self.kind == "int":
            return str(int(x))
        return str(float(x)).lower().replace("inf", "inf")

    def format(self, x):
        if self.kind in ("int", "bool"):
            return self._plain(x)
        x = float(x)
        if math.isnan(x):
            s = "nan"
        elif math.isinf(x):
            s = "inf" if x > 0 else "-inf"
        elif self.sci_mode:
            s = f"{x:.{PRECISION}e}"
        elif self.int_mode:
            s = f"{x:.0f}."
        else:
            s = f"{x:.{PRECISION}f}"
        return s

    def cell(self, x):
        return self.format(x).rjust(self.width)


def _summarized(arr):
    if arr.ndim == 0:
        return arr
    if arr.shape[0] > 2 * EDGEITEMS:
        parts = [_summarized(x) for x in arr[:EDGEITEMS]] + [_summarized(x) for x in arr[-EDGEITEMS:]]
    else:
        parts = [_summarized(x) for x in arr]
    return np.array(parts) if parts else arr


def _lines(arr, fmt, indent, summarize):
    if arr.ndim == 0:
        return fmt.cell(arr)
    n = arr.shape[0]
    elide = summarize and n > 2 * EDGEITEMS
    if arr.ndim == 1:
        cells = [fmt.cell(x) for x in (list(arr[:EDGEITEMS]) + list(arr[-EDGEITEMS:]) if elide else arr)]
        if elide:
            cells = cells[:EDGEITEMS] + [" ..."] + cells[EDGEITEMS:]
        per_line = max(1, math.floor((LINEWIDTH - indent) / (fmt.width + 2)))
        rows = [", ".join(cells[i : i + per_line]) for i in range(0, len(cells), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"
    picks = list(range(EDGEITEMS)) + list(range(n - EDGEITEMS, n)) if elide else list(range(n))
    subs = [_lines(arr[i], fmt, indent + 1, summarize) for i in picks]
    if elide:
        subs = subs[:EDGEITEMS] + ["..."] + subs[EDGEITEMS:]
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(subs) + "]"


def tensor_repr(t, prefix="tensor("):
    from ._tensor import bool_, float32, int64

    dtype = t.dtype
    arr = t._np if t._var is None else t._var.numpy()
    kind = dtype._kind if dtype._kind in ("int", "bool") else "float"
    indent = len(prefix)
    suffixes = []
    summarize = arr.size > THRESHOLD
    if arr.size == 0 and arr.ndim > 1:
        body = "[]"
        suffixes.append(f"size={tuple(arr.shape)}")
    elif arr.size == 0:
        body = "[]"
    else:
        fmt = _Formatter(_summarized(arr) if summarize else arr, kind)
        body = _lines(arr, fmt, indent, summarize)
    if dtype not in (float32, int64, bool_) or (arr.size == 0 and dtype is not float32):
        suffixes.append(f"dtype={dtype!r}")
    grad_fn = t.grad_fn
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffixes) + ")"
