"""``from neurite import keras``: the parts of ``keras`` the notes' programs use, as neurite
has them, so that ``from tensorflow import keras`` (or ``import keras``) becomes ``from neurite
import keras`` and the rest of the program stays as written::

    from neurite import keras
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Nadam(), loss=keras.losses.SparseCategoricalCrossentropy())
    y_onehot = keras.utils.to_categorical(y_train, num_classes=10)

Each name is the package's own module or class (``keras.layers`` is ``neurite.layers``), not a
copy: ``import neurite as keras`` gives the same things.
"""

from . import activations, callbacks, datasets, layers, losses, models, optimizers, utils
from .layers import Input
from .models import Sequential, load_model

__all__ = [
    "Input",
    "Sequential",
    "activations",
    "callbacks",
    "datasets",
    "layers",
    "load_model",
    "losses",
    "models",
    "optimizers",
    "utils",
]
