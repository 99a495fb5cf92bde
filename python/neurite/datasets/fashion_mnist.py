"""Fashion-MNIST: MNIST's shapes, pictures of clothes."""

from .. import _neurite


def load_data(path=None, download=True):
    """As ``neurite.datasets.mnist.load_data``, for Fashion-MNIST."""
    return _neurite.load_idx_dataset("fashion-mnist", path, download)
