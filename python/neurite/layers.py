"""Layers as Keras spells them: ``Input(shape=(784,))``, ``Dense``, ``Dropout``,
``BatchNormalization``, ``Flatten``, ``Reshape``, ``Conv2D``, ``MaxPooling2D``,
``AveragePooling2D`` and ``GlobalAveragePooling2D`` (images channels last, ``(28, 28, 1)``),
with Keras' arguments and defaults. A layer
here is a description (Keras' class name and ``get_config()``); the layer itself (its weights,
its forward and backward passes) is the library's, created from that description by the
library's Keras adapter when the model knows its input shape.

>>> from neurite import layers
>>> layers.Dropout(0.3).get_config()["rate"]
0.3
"""

import json

from . import activations


def _shape(shape, what):
    try:
        dims = tuple(int(d) for d in shape)
    except TypeError:
        dims = (int(shape),)
    if not dims or any(d < 1 for d in dims):
        raise ValueError(f"{what}: a shape needs one or more sizes of at least 1, got {shape!r}")
    return dims


def _product(dims):
    p = 1
    for d in dims:
        p *= d
    return p


class InputLayer:
    """The model's input: examples of ``shape``, ``(784,)`` or ``(28, 28, 1)``."""

    def __init__(self, shape=None, name=None):
        if shape is None:
            raise ValueError("Input: give shape=(features,) or the shape of one example")
        self.input_shape_ = _shape(shape, "Input")
        self.name = name
        self.shape = (None, *self.input_shape_)

    @property
    def features(self):
        return _product(self.input_shape_)

    def __repr__(self):
        return f"Input(shape={self.input_shape_})"


def Input(shape=None, name=None, **kwargs):
    """Keras' ``keras.Input(shape=(784,))``, for ``model.add`` or the start of a list."""
    if kwargs:
        raise ValueError(f"Input: neurite does not take {sorted(kwargs)}")
    return InputLayer(shape=shape, name=name)


class Layer:
    """What every layer shares: its name, its Keras configuration, where it sits in a model,
    and its weights as NumPy arrays (Keras' order: kernel, bias; gamma, beta, moving_mean,
    moving_variance)."""

    def __init__(self, name=None, input_shape=None, input_dim=None, **kwargs):
        if kwargs:
            raise ValueError(f"{type(self).__name__}: neurite does not take {sorted(kwargs)}")
        if input_shape is not None and input_dim is not None:
            raise ValueError(f"{type(self).__name__}: give input_shape or input_dim, not both")
        if input_dim is not None:
            input_shape = (input_dim,)
        self.input_shape_ = _shape(input_shape, f"{type(self).__name__} input_shape") if input_shape is not None else None
        self.name = name
        self._model = None
        self._index = None

    def get_config(self):
        """Keras' ``get_config()``: the layer's settings by Keras' names."""
        config = {"name": self.name}
        config.update(self._settings())
        return config

    def _settings(self):
        return {}

    def _add_to(self, core):
        core.add_layer(type(self).__name__, json.dumps(self.get_config()))

    def get_weights(self):
        """The layer's weights as NumPy arrays."""
        model, first, count = self._weights_span()
        return model.get_weights()[first : first + count]

    def set_weights(self, weights):
        """Replaces the layer's weights, given as ``get_weights`` returns them."""
        model, first, count = self._weights_span()
        all_weights = model.get_weights()
        if len(weights) != count:
            raise ValueError(f"{self.name}.set_weights: expected {count} arrays, got {len(weights)}")
        all_weights[first : first + count] = list(weights)
        model.set_weights(all_weights)

    @property
    def weights(self):
        return self.get_weights()

    def _weights_span(self):
        if self._model is None or self._model._core is None:
            raise ValueError("this layer is not built yet: add it to a model that knows its input shape")
        counts = [c[-1] for c in self._model._core.layers()]
        return self._model, sum(counts[: self._index]), counts[self._index]

    @property
    def output_shape(self):
        if self._model is None or self._model._core is None:
            raise ValueError(f"{self!r} is not built yet")
        return (None, *self._model._core.layers()[self._index][4])

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """A fully connected layer, ``activation(x @ kernel + bias)``, with Keras' arguments and
    defaults (Glorot-uniform kernel, zero bias, linear activation)."""

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) != units or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def _settings(self):
        return {
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }

    def __repr__(self):
        return f"Dense({self.units}, activation={self.activation!r})"


class Dropout(Layer):
    """Keras' ``Dropout(rate)``: while training, each value is set to 0 with probability
    ``rate`` and the others scaled by ``1 / (1 - rate)``; the identity at inference. The masks
    come from the fit's seed, so a fit is repeatable bit for bit."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            raise ValueError("Dropout: neurite does not take noise_shape")
        self.rate = float(rate)
        self.seed = seed

    def _settings(self):
        return {"rate": self.rate, "seed": self.seed}


class BatchNormalization(Layer):
    """Keras' ``BatchNormalization()`` over the last axis: the batch's mean and variance while
    training (the moving ones updated with ``momentum``), the moving ones at inference;
    ``gamma`` and ``beta`` trained, ``moving_mean`` and ``moving_variance`` not."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(f"BatchNormalization: neurite normalises the last axis (axis=-1), got axis={axis!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)

    def _settings(self):
        return {
            "axis": -1,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }


class Flatten(Layer):
    """Keras' ``Flatten()``: each example as one row, ``(None, 28, 28)`` to ``(None, 784)``."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten: neurite's images are channels_last, got data_format={data_format!r}")


class Reshape(Layer):
    """Keras' ``Reshape(target_shape)``: each example in another shape (one ``-1`` inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def _settings(self):
        return {"target_shape": list(self.target_shape)}


def _pair(value, what):
    """Keras' ``3`` or ``(3, 3)`` as ``[3, 3]``."""
    try:
        dims = [int(d) for d in value]
    except TypeError:
        dims = [int(value)] * 2
    if len(dims) != 2 or any(d < 1 for d in dims):
        raise ValueError(f"{what}: expected a size or (height, width) of at least 1, got {value!r}")
    return dims


def _channels_last(kind, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{kind}: neurite's images are channels_last, got data_format={data_format!r}")


def _padding(kind, padding):
    if str(padding).lower() not in ("valid", "same"):
        raise ValueError(f"{kind}: padding must be 'valid' or 'same', got {padding!r}")
    return str(padding).lower()


class Conv2D(Layer):
    """Keras' ``Conv2D(filters, kernel_size)``: ``filters`` kernels slid over images
    ``(height, width, channels)`` with ``strides`` and ``"valid"`` or ``"same"`` padding, a
    bias per filter and the activation. The kernel has Keras' shape
    ``(kh, kw, in_channels, filters)``."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(filters) != filters or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive integer, got {filters!r}")
        _channels_last("Conv2D", data_format)
        if _pair(dilation_rate, "Conv2D dilation_rate") != [1, 1]:
            raise ValueError(f"Conv2D: neurite has no dilated convolution, got dilation_rate={dilation_rate!r}")
        if groups != 1:
            raise ValueError(f"Conv2D: neurite has no grouped convolution, got groups={groups!r}")
        self.filters = int(filters)
        self.kernel_size = tuple(_pair(kernel_size, "Conv2D kernel_size"))
        self.strides = tuple(_pair(strides, "Conv2D strides"))
        self.padding = _padding("Conv2D", padding)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def _settings(self):
        return {
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }

    def __repr__(self):
        return f"Conv2D({self.filters}, kernel_size={self.kernel_size}, activation={self.activation!r})"


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        _channels_last(kind, data_format)
        self.pool_size = tuple(_pair(pool_size, f"{kind} pool_size"))
        self.strides = tuple(_pair(strides, f"{kind} strides")) if strides is not None else None
        self.padding = _padding(kind, padding)

    def _settings(self):
        return {
            "pool_size": list(self.pool_size),
            "strides": list(self.strides or self.pool_size),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling2D):
    """Keras' ``MaxPooling2D(pool_size=(2, 2))``: each channel's largest value in every window
    (strides default to the window's size)."""


class AveragePooling2D(_Pooling2D):
    """Keras' ``AveragePooling2D(pool_size=(2, 2))``: each channel's mean over every window
    (with ``"same"`` padding, over the cells inside the image)."""


class GlobalAveragePooling2D(Layer):
    """Keras' ``GlobalAveragePooling2D()``: each channel's mean over the whole image,
    ``(None, h, w, c)`` to ``(None, c)`` (``(None, 1, 1, c)`` with ``keepdims=True``)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _channels_last("GlobalAveragePooling2D", data_format)
        self.keepdims = bool(keepdims)

    def _settings(self):
        return {"keepdims": self.keepdims}


def deserialize(class_name, config):
    """The layer object of Keras' class name and ``get_config()``."""
    kinds = {
        "Dense": Dense,
        "Dropout": Dropout,
        "BatchNormalization": BatchNormalization,
        "Flatten": Flatten,
        "Reshape": Reshape,
        "Conv2D": Conv2D,
        "MaxPooling2D": MaxPooling2D,
        "AveragePooling2D": AveragePooling2D,
        "GlobalAveragePooling2D": GlobalAveragePooling2D,
    }
    if class_name not in kinds:
        raise ValueError(f"neurite has no {class_name} layer")
    return kinds[class_name](**config)
