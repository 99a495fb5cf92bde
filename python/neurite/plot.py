"""Pictures (PNG or SVG, by the file's extension), drawn by the library's ``plot`` module:
loss and accuracy curves, an activation and its derivative, the first layer's weights."""

import os

from . import _neurite


def history(history, path):
    """Draws a ``History`` (or its ``.history`` dict) per epoch: loss, accuracy, and their
    validation counterparts when present."""
    values = getattr(history, "history", history)
    _neurite.plot_history({k: [float(v) for v in vs] for k, vs in values.items()}, os.fspath(path))


def activation(name, path):
    """Draws the activation ``name`` and its derivative."""
    _neurite.plot_activation(name, os.fspath(path))


def weights(model, path, image_shape=(28, 28)):
    """Draws each unit of the model's first layer as an ``image_shape`` picture (red below
    zero, green above, as note 002 draws them). ``model`` is a ``Sequential`` or a fitted
    ``nt.teach.DigitDetector`` or ``OneVsAll``."""
    core = model._built("plot weights") if hasattr(model, "_built") else model
    core.plot_weights(os.fspath(path), int(image_shape[0]), int(image_shape[1]))
