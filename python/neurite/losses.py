"""Losses as Keras has them: functions on arrays giving each example's loss, and loss objects
with a ``reduction``; both name a loss for ``compile(loss=...)`` too. The maths is the
library's (``neurite::nn::Loss``, the functions training runs), not a copy in Python.

>>> import neurite as nt
>>> nt.losses.mean_squared_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).tolist()
[0.5, 0.5]
>>> float(nt.losses.MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
0.5

As in Keras, the last axis holds one example's outputs (``axis=-1``), so a function returns
an array of the predictions' shape without that axis (a 0-d array for one example given as a
vector); the cross-entropies clip probabilities to ``[1e-7, 1 - 1e-7]`` before the logarithm,
and ``from_logits=True`` takes the logits of a softmax (sigmoid for the binary one) through
the library's fused, stable kernels. One difference: Keras divides each row of predicted
probabilities by its sum before a categorical cross-entropy; neurite takes them as given, which
is the same for rows that sum to 1, as a softmax's do.
"""

import numpy as np

from . import _neurite

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "none", None)


def _values(name, y_true, y_pred, from_logits=False, axis=-1):
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true)
    if y_pred.ndim == 0:
        raise ValueError(f"{name}: y_pred needs at least one axis, got a number")
    y_true, y_pred = _same_rank(y_true, y_pred)
    if axis not in (-1, y_pred.ndim - 1):
        # The class axis last, as the library's rows have it.
        y_pred = np.moveaxis(y_pred, axis, -1)
        if name != "sparse_categorical_crossentropy":
            y_true = np.moveaxis(y_true, axis, -1)
    return _neurite.loss_values(name, y_true, y_pred, bool(from_logits))


def _same_rank(y_true, y_pred):
    """Keras' ``squeeze_or_expand_to_same_rank``: where the ranks differ by one and the longer
    ends in an axis of 1, that axis is dropped (or, against a vector, the vector gets one)."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            return y_true, y_pred[:, None]
        return y_true[..., 0], y_pred
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            return y_true[:, None], y_pred
        return y_true, y_pred[..., 0]
    return y_true, y_pred


def _no_smoothing(name, label_smoothing):
    if label_smoothing:
        raise ValueError(f"{name}: neurite does not smooth labels; give label_smoothing=0")


def mean_squared_error(y_true, y_pred):
    """Keras' ``mean_squared_error``: ``mean((y_true - y_pred)^2)`` over the last axis, one value
    per example."""
    return _values("mean_squared_error", y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Keras' ``categorical_crossentropy``: ``-sum(y_true * log(y_pred))`` over the class axis,
    against one-hot (or soft) rows, one value per example."""
    _no_smoothing("categorical_crossentropy", label_smoothing)
    return _values("categorical_crossentropy", y_true, y_pred, from_logits, axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Keras' ``sparse_categorical_crossentropy``: ``-log(y_pred[label])`` against integer class
    labels (shape of ``y_pred`` without its class axis, or with a last axis of 1)."""
    if ignore_class is not None:
        raise ValueError("sparse_categorical_crossentropy: neurite has no ignore_class; give None")
    return _values("sparse_categorical_crossentropy", y_true, y_pred, from_logits, axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Keras' ``binary_crossentropy``: ``-(y log p + (1 - y) log(1 - p))`` averaged over the last
    axis, one value per example."""
    _no_smoothing("binary_crossentropy", label_smoothing)
    return _values("binary_crossentropy", y_true, y_pred, from_logits, axis)


def half_mean_squared_error(y_true, y_pred):
    """Note 003's ``1/2 mean((y_true - y_pred)^2)`` over the last axis (its derivative is
    ``y_pred - y_true``); not in Keras."""
    return _values("half_mean_squared_error", y_true, y_pred)


# Keras' short names.
mse = mean_squared_error
MSE = mean_squared_error


class Loss:
    """Keras' loss object: ``loss(y_true, y_pred, sample_weight=None)`` computes each example's
    loss with the library, weights it, and reduces it by ``reduction``: ``"sum_over_batch_size"``
    (the default: the mean over examples), ``"sum"``, ``"mean"`` (as the default) or
    ``None``/``"none"`` (each example's value)."""

    _name = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"{type(self).__name__}: neurite computes losses in float32, got dtype={dtype!r}")
        self.reduction = reduction
        self.from_logits = False
        self._label = name

    @property
    def name(self):
        """The library's name of the loss (what ``compile`` hands it)."""
        return self._name

    def call(self, y_true, y_pred):
        """Each example's loss, unreduced."""
        return _values(self._name, y_true, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(self.call(y_true, y_pred), dtype=np.float32)
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float32)
            # Keras lines the weights up with the values by adding or dropping a last axis of 1.
            if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
                weights = weights[..., 0]
            values = values * weights
        if self.reduction in (None, "none") or values.ndim == 0 or values.size == 0:
            return values
        total = values.sum(dtype=np.float32)
        if self.reduction == "sum":
            return total
        return np.float32(total / np.float32(values.size))

    def get_config(self):
        return {"name": self._label or self._name, "reduction": self.reduction}

    def __repr__(self):
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MeanSquaredError(Loss):
    """Mean squared error."""

    _name = "mean_squared_error"


class _CrossEntropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        _no_smoothing(self._name, label_smoothing)
        self.from_logits = bool(from_logits)
        self.axis = axis

    def call(self, y_true, y_pred):
        return _values(self._name, y_true, y_pred, self.from_logits, self.axis)


class SparseCategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy against integer class labels."""

    _name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, axis=-1, reduction="sum_over_batch_size", name=None, dtype=None):
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: neurite has no ignore_class; give None")
        super().__init__(from_logits=from_logits, axis=axis, reduction=reduction, name=name, dtype=dtype)


class CategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy against one-hot rows."""

    _name = "categorical_crossentropy"


class BinaryCrossentropy(_CrossEntropy):
    """Log-loss of one probability per output."""

    _name = "binary_crossentropy"


_FUNCTIONS = {
    f.__name__: f
    for f in (
        mean_squared_error,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        binary_crossentropy,
        half_mean_squared_error,
    )
}


def get(identifier):
    """The library's name of a loss given by name, loss object or function of this module, for
    ``compile``. The model's last activation is fused with the loss in training, so a loss
    object must take probabilities (``from_logits=False``) and reduce by the mean."""
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, Loss):
        if identifier.from_logits:
            raise ValueError(
                f"compile: {identifier!r} with from_logits=True: neurite's models output probabilities (end them "
                "with a softmax or sigmoid, which training fuses with the loss) and take from_logits=False"
            )
        if identifier.reduction not in ("sum_over_batch_size", "mean"):
            raise ValueError(f"compile: neurite trains on the batch mean, not reduction={identifier.reduction!r}")
        return identifier.name
    name = getattr(identifier, "__name__", None)
    if callable(identifier) and _FUNCTIONS.get(name) is identifier:
        return name
    raise ValueError(f"unknown loss {identifier!r}: give a name such as 'sparse_categorical_crossentropy'")
