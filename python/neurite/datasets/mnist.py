"""MNIST: 60,000 training and 10,000 test images of 28x28 handwritten digits."""

from .. import _neurite


def load_data(path=None, download=True):
    """``(x_train, y_train), (x_test, y_test)``: images uint8 of shape (n, 28, 28), labels uint8
    of shape (n,). Read from ``path`` (a directory of the four IDX files, .gz or not) when
    given; else from ``$NEURITE_DATA``, ``./data/mnist`` or the cache, where it is downloaded
    (checksums checked) when found nowhere and ``download`` is true. ``OSError`` names the
    places searched."""
    return _neurite.load_idx_dataset("mnist", path, download)
