"""Seeds: neurite draws weights and shuffles from a seed (0 unless set), so that the same
program gives the same numbers, bit for bit, on the same machine and thread count; the
``neurite train`` command uses the same seed for the same model."""

_seed = 0


def set_random_seed(seed):
    """Seeds the weights and the shuffling of models created from now on (Keras'
    ``keras.utils.set_random_seed``)."""
    global _seed
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"set_random_seed: the seed must be 0 or more, got {seed}")
    _seed = seed


def random_seed():
    """The seed new models take."""
    return _seed


def to_categorical(x, num_classes=None, dtype="float32"):
    """Keras' ``keras.utils.to_categorical``: class indices to one-hot rows, the class axis
    last (a trailing axis of 1 is dropped first), ``num_classes`` being ``max(x) + 1`` when not
    given. The rows are the library's one-hot encoding. float32 as tf.keras gives them (and
    what neurite trains on); Keras 3 gives float64, ``dtype="float64"``.

    >>> to_categorical([0, 2], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    import numpy as np

    from . import _neurite

    x = np.asarray(x)
    if x.dtype.kind == "f" and not np.all(np.mod(x, 1) == 0):
        raise ValueError("to_categorical: class indices must be whole numbers")
    x = x.astype(np.int64)
    shape = x.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = x.reshape(-1)
    if not num_classes:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    num_classes = int(num_classes)
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(
            f"to_categorical: class indices must be in 0..{num_classes - 1} for num_classes={num_classes}, "
            f"got {int(flat.min())}..{int(flat.max())}"
        )
    rows = _neurite.one_hot(flat.tolist(), num_classes) if flat.size else np.zeros((0, num_classes), np.float32)
    return np.asarray(rows).reshape(shape + (num_classes,)).astype(dtype, copy=False)
