"""neurite from Python: Keras' ``Sequential`` API on NumPy arrays, trained by neurite's
Rust engine (the same library as the ``neurite`` command).

The notes' Keras program runs with ``import neurite as keras`` in place of
``from tensorflow import keras``::

    import neurite as keras
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(50, activation="sigmoid", input_shape=(784,)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.reshape(-1, 784) / 255.0, y_train, epochs=10)

This package holds no maths: layers, activations, losses, optimisers, data sets and file
formats are the library's, reached through the extension module ``neurite._neurite``.
``from neurite import keras`` gives the same things under Keras' module names.
"""

from . import activations, callbacks, datasets, keras, layers, losses, models, optimizers, plot, teach, utils
from ._neurite import Tensor, __version__
from .callbacks import History
from .layers import (
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    MaxPooling2D,
    Reshape,
)
from .models import Sequential, load_model



def tensor(data):
    """A neurite ``Tensor`` (float32) from an array, a list or a number."""
    return Tensor(data)


__all__ = [
    "AveragePooling2D",
    "BatchNormalization",
    "Conv2D",
    "Dense",
    "GlobalAveragePooling2D",
    "MaxPooling2D",
    "Dropout",
    "Flatten",
    "Reshape",
    "History",
    "Input",
    "Sequential",
    "Tensor",
    "tensor",
    "activations",
    "callbacks",
    "datasets",
    "keras",
    "layers",
    "load_model",
    "losses",
    "models",
    "optimizers",
    "plot",
    "teach",
    "utils",
    "__version__",
]
