"""The 8x8 handwritten digits bundled in neurite (grey levels 0..16), split as ``neurite
train --dataset digits`` splits them: no file, no download."""

from .. import _neurite


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: images uint8 of shape (n, 8, 8), labels uint8."""
    return _neurite.load_digits()
