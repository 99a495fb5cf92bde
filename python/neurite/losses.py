"""Losses by name or as objects; their maths is the library's."""


class Loss:
    _name = None

    @property
    def name(self):
        return self._name

    def __repr__(self):
        return f"{type(self).__name__}()"


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class labels."""

    _name = "sparse_categorical_crossentropy"


class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot rows."""

    _name = "categorical_crossentropy"


class BinaryCrossentropy(Loss):
    """Log-loss of one probability per output."""

    _name = "binary_crossentropy"


class MeanSquaredError(Loss):
    """Mean squared error."""

    _name = "mse"


def _named(name):
    def f(*_):
        raise TypeError(f"neurite.losses.{name} names a loss for compile(); it is computed by the model")

    f.__name__ = name
    return f


sparse_categorical_crossentropy = _named("sparse_categorical_crossentropy")
categorical_crossentropy = _named("categorical_crossentropy")
binary_crossentropy = _named("binary_crossentropy")
mean_squared_error = _named("mean_squared_error")
mse = _named("mse")


def get(identifier):
    """The library's name of a loss given by name, class instance or function of this module."""
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, Loss):
        return identifier.name
    name = getattr(identifier, "__name__", None)
    if callable(identifier) and globals().get(name) is identifier:
        return name
    raise ValueError(f"unknown loss {identifier!r}: give a name such as 'sparse_categorical_crossentropy'")
