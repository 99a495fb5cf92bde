"""Pictures (PNG or SVG, by the file's extension), drawn by the library's ``plot`` module:
loss and accuracy curves, an activation and its derivative, the first layer's weights, a
convolution's filters and a convnet's feature maps.

Each function writes ``path`` when one is given and returns a :class:`Picture` of what it drew
(the file's bytes); without ``path`` it draws a PNG in memory. A ``Picture`` shows itself in
Jupyter (``_repr_png_`` or ``_repr_svg_``), so a notebook cell ending in
``nt.plot.activation("sigmoid")`` displays the chart.
"""

import os
import struct
import tempfile
import zlib

import numpy as np

from . import _neurite

__all__ = ["Picture", "history", "activation", "weights", "conv_filters", "feature_maps", "decision_regions"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Picture:
    """A drawn picture: its bytes (PNG or SVG) and, for a PNG, its ``width`` and ``height`` in
    pixels. Jupyter displays it inline; ``save(path)`` writes the bytes."""

    def __init__(self, data, format=None, path=None):
        data = bytes(data)
        if format is None:
            format = "png" if data.startswith(_PNG_SIGNATURE) else "svg"
        if format not in ("png", "svg"):
            raise ValueError(f"Picture: format must be 'png' or 'svg', got {format!r}")
        if format == "png" and not data.startswith(_PNG_SIGNATURE):
            raise ValueError("Picture: the bytes are not a PNG (no PNG signature)")
        self.data, self.format, self.path = data, format, path

    @property
    def size(self):
        """``(width, height)`` in pixels of a PNG (from its IHDR chunk); ``None`` for SVG."""
        if self.format != "png":
            return None
        return struct.unpack(">II", self.data[16:24])

    width = property(lambda self: self.size and self.size[0])
    height = property(lambda self: self.size and self.size[1])

    def _repr_png_(self):
        return self.data if self.format == "png" else None

    def _repr_svg_(self):
        return self.data.decode("utf-8") if self.format == "svg" else None

    def save(self, path):
        """Writes the picture's bytes to ``path``."""
        with open(path, "wb") as f:
            f.write(self.data)
        return self

    @classmethod
    def from_array(cls, pixels):
        """A PNG of an array of shape (height, width) (grey) or (height, width, 3) (RGB),
        values 0..255 (integers) or 0..1 (floats)."""
        a = np.asarray(pixels)
        if a.dtype.kind == "f":
            a = np.clip(a, 0.0, 1.0) * 255.0 + 0.5
        a = np.clip(a, 0, 255).astype(np.uint8)
        if a.ndim == 2:
            colour = 0
        elif a.ndim == 3 and a.shape[2] == 3:
            colour = 2
        else:
            raise ValueError(f"Picture.from_array: shape (height, width) or (height, width, 3), got {a.shape}")
        h, w = a.shape[:2]
        if h == 0 or w == 0:
            raise ValueError(f"Picture.from_array: an empty picture {a.shape}")
        raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
        data = _PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
        return cls(data, "png")

    def __repr__(self):
        size = f" {self.width}x{self.height}" if self.format == "png" else ""
        return f"<neurite Picture {self.format}{size}, {len(self.data)} bytes>"


def _draw(draw, path):
    """Runs ``draw(file)`` into ``path`` (or a temporary PNG) and returns the Picture."""
    if path is not None:
        path = os.fspath(path)
        draw(path)
        with open(path, "rb") as f:
            data = f.read()
        fmt = "svg" if path.lower().endswith(".svg") else "png"
        return Picture(data, fmt, path)
    with tempfile.TemporaryDirectory(prefix="neurite-plot-") as tmp:
        file = os.path.join(tmp, "picture.png")
        draw(file)
        with open(file, "rb") as f:
            return Picture(f.read(), "png")


def history(history, path=None):
    """Draws a ``History`` (or its ``.history`` dict) per epoch: loss, accuracy, and their
    validation counterparts when present."""
    values = getattr(history, "history", history)
    values = {k: [float(v) for v in vs] for k, vs in values.items()}
    return _draw(lambda p: _neurite.plot_history(values, p), path)


def activation(name, path=None):
    """Draws the activation ``name`` and its derivative."""
    return _draw(lambda p: _neurite.plot_activation(name, p), path)


def weights(model, path=None, image_shape=(28, 28)):
    """Draws each unit of the model's first layer as an ``image_shape`` picture (red below
    zero, green above, as note 002 draws them). ``model`` is a ``Sequential`` or a fitted
    ``nt.teach.DigitDetector`` or ``OneVsAll``."""
    core = model._built("plot weights") if hasattr(model, "_built") else model
    return _draw(lambda p: core.plot_weights(p, int(image_shape[0]), int(image_shape[1])), path)


def conv_filters(model, path=None, layer=None):
    """Draws the kernels of the ``Conv2D`` layer named ``layer`` (the model's first when
    ``None``) in the notes' colours, one small image per filter (and input channel)."""
    core = model._built("plot conv_filters")
    return _draw(lambda p: core.plot_conv_filters(p, layer), path)


def feature_maps(model, image, label=None, path=None):
    """Draws ``image`` (one example in the model's input shape, values 0..1) and the feature
    maps of every convolution and pooling layer for it, with the predicted class (and
    ``label`` when given)."""
    core = model._built("plot feature_maps")
    pixels = np.asarray(image, dtype=np.float32).ravel().tolist()
    label = None if label is None else int(label)
    return _draw(lambda p: core.plot_feature_maps(p, pixels, label), path)


_REGION_COLOURS = np.array([[255, 205, 205], [205, 225, 255], [210, 245, 210], [250, 240, 200]], dtype=np.uint8)
_POINT_COLOURS = np.array([[200, 30, 30], [30, 70, 200], [30, 150, 30], [200, 150, 0]], dtype=np.uint8)


def decision_regions(predict, X, y, resolution=200, margin=0.5, path=None):
    """Draws the regions a two-feature classifier gives each class, and the points ``X``
    (n, 2) coloured by their labels ``y``: ``predict`` is a model's ``predict`` (or any
    function from an (m, 2) array to m labels). The first feature runs left to right, the
    second bottom to top, each from its smallest value less ``margin`` to its largest plus
    ``margin``. Up to four classes, in the order of ``np.unique(y)``."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"decision_regions: X must be (n, 2) with n labels, got X {X.shape} and y {y.shape}")
    labels = np.unique(y)
    if labels.size > len(_REGION_COLOURS):
        raise ValueError(f"decision_regions: at most {len(_REGION_COLOURS)} classes, got {labels.size}")
    n = int(resolution)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(hi[1], lo[1], n)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.c_[gx.ravel(), gy.ravel()]
    region = np.asarray(predict(grid)).reshape(n, n)
    picture = np.full((n, n, 3), 255, dtype=np.uint8)
    for i, label in enumerate(labels):
        picture[region == label] = _REGION_COLOURS[i]
    r = max(2, n // 60)
    for (px, py), label in zip(X, y):
        col = int(round((px - lo[0]) / (hi[0] - lo[0]) * (n - 1)))
        row = int(round((hi[1] - py) / (hi[1] - lo[1]) * (n - 1)))
        i = int(np.searchsorted(labels, label))
        picture[max(0, row - r - 1) : row + r + 2, max(0, col - r - 1) : col + r + 2] = 0
        picture[max(0, row - r) : row + r + 1, max(0, col - r) : col + r + 1] = _POINT_COLOURS[i]
    pic = Picture.from_array(picture)
    if path is not None:
        pic.save(path)
        pic.path = os.fspath(path)
    return pic
