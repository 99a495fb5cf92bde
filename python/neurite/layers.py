"""Layers as Keras spells them: ``Input(shape=(784,))`` and ``Dense(units, activation=...,
input_shape=...)``. A ``Dense`` here is a description; the layer itself (its weights, its
forward and backward passes) is the library's, created when the model knows its inputs."""

from . import activations


def _features(shape, what):
    try:
        dims = tuple(int(d) for d in shape)
    except TypeError:
        dims = (int(shape),)
    if len(dims) != 1 or dims[0] < 1:
        raise ValueError(
            f"{what}: neurite's models take flat rows, shape (features,), got {dims}; "
            f"reshape the data to (-1, {_product(dims)}) and give shape=({_product(dims)},)"
        )
    return dims[0]


def _product(dims):
    p = 1
    for d in dims:
        p *= d
    return p


class InputLayer:
    """The model's input: rows of ``shape[0]`` features."""

    def __init__(self, shape=None, name=None):
        if shape is None:
            raise ValueError("Input: give shape=(features,)")
        self.features = _features(shape, "Input")
        self.name = name
        self.shape = (None, self.features)

    def __repr__(self):
        return f"Input(shape=({self.features},))"


def Input(shape=None, name=None, **kwargs):
    """Keras' ``keras.Input(shape=(784,))``, for ``model.add`` or the start of a list."""
    if kwargs:
        raise ValueError(f"Input: neurite does not take {sorted(kwargs)}")
    return InputLayer(shape=shape, name=name)


class Dense:
    """A fully connected layer, ``activation(x @ kernel + bias)``, with Keras' arguments and
    defaults (Glorot-uniform kernel, zero bias, linear activation)."""

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        input_shape=None,
        input_dim=None,
        name=None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(f"Dense: neurite does not take {sorted(kwargs)}")
        if int(units) != units or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = str(kernel_initializer)
        self.bias_initializer = str(bias_initializer)
        if input_shape is not None and input_dim is not None:
            raise ValueError("Dense: give input_shape or input_dim, not both")
        self.input_dim = _features(input_shape, "Dense input_shape") if input_shape is not None else input_dim
        self.name = name
        self._model = None
        self._index = None

    def _add_to(self, core, input_dim):
        core.add_dense(
            self.units,
            self.activation,
            input_dim,
            self.use_bias,
            self.kernel_initializer,
            self.bias_initializer,
            self.name,
        )

    def get_weights(self):
        """[kernel, bias] as NumPy arrays (the kernel of shape (inputs, units))."""
        model, first, count = self._weights_span()
        return model.get_weights()[first : first + count]

    def set_weights(self, weights):
        """Replaces [kernel, bias]."""
        model, first, count = self._weights_span()
        all_weights = model.get_weights()
        if len(weights) != count:
            raise ValueError(f"{self.name}.set_weights: expected {count} arrays, got {len(weights)}")
        all_weights[first : first + count] = list(weights)
        model.set_weights(all_weights)

    def _weights_span(self):
        if self._model is None or self._model._core is None:
            raise ValueError("this layer is not built yet: add it to a model that knows its input shape")
        model = self._model
        first = sum(1 + layer.use_bias for layer in model._layers[: self._index])
        return model, first, 1 + self.use_bias

    def __repr__(self):
        return f"Dense({self.units}, activation={self.activation!r})"
