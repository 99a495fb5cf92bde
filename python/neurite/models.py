"""Keras' ``Sequential`` on NumPy arrays. Training, evaluation and prediction run in the
library's engine with the GIL released; float32 C-contiguous arrays are read where they
are, other dtypes and layouts are converted once. Ctrl-C stops ``fit`` after its current
step and raises ``KeyboardInterrupt``, leaving the weights as trained so far."""

import html
import json
import math
import os
import sys
import time

import numpy as np

from . import _neurite, losses, optimizers, utils
from .callbacks import BackupAndRestore, History
from .layers import InputLayer, Layer, deserialize

_ACCURACY = {
    "accuracy",
    "acc",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
}


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _live_output():
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules


def _count(x):
    shape = getattr(x, "shape", None)
    return shape[0] if shape else len(x)


class Sequential:
    """A stack of layers (``Dense``, ``Dropout``, ``BatchNormalization``, ``Flatten``,
    ``Reshape``), as Keras' ``Sequential``: built from a list or with ``add``; the first layer's
    ``input_shape`` (or an ``Input``) gives the shape of an example, else the first ``fit`` or
    ``predict`` does. The model itself is the library's, built from the layers' Keras
    descriptions."""

    def __init__(self, layers=None, name=None):
        self.name = name or "sequential"
        self._layers = []
        self._input_shape = None
        self._core = None
        self._compiled = None
        self._seed = utils.random_seed()
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # Building.

    def add(self, layer):
        """Appends a layer (or, first, an ``Input``)."""
        if isinstance(layer, InputLayer):
            if self._layers or self._input_shape is not None:
                raise ValueError("an Input can only start a model")
            self._input_shape = layer.input_shape_
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                "neurite's Sequential takes Input, Dense, Dropout, BatchNormalization, Flatten and Reshape, "
                f"got {type(layer).__name__}"
            )
        if layer._model is not None:
            raise ValueError(f"{layer!r} already belongs to a model")
        if layer.input_shape_ is not None:
            if not self._layers and self._input_shape is None:
                self._input_shape = layer.input_shape_
            else:
                previous = self._previous_output()
                if previous is not None and previous != layer.input_shape_:
                    raise ValueError(
                        f"{layer!r} declares the input shape {layer.input_shape_}, but the previous layer gives {previous}"
                    )
        index = len(self._layers)
        if self._core is not None:
            layer._add_to(self._core)
            self._layers.append(layer)
            layer._model, layer._index = self, index
            self._core_layer_names()
            self._recompile()
            return
        layer._model, layer._index = self, index
        self._layers.append(layer)
        if self._input_shape is not None:
            try:
                self.build(self._input_shape)
            except Exception:
                self._layers.pop()
                layer._model = layer._index = None
                raise

    def _previous_output(self):
        """The shape of one example after the layers so far, when known."""
        if self._core is not None and self._layers:
            return tuple(self._core.layers()[-1][4])
        return self._input_shape if not self._layers else None

    def build(self, input_shape):
        """Creates the layers' weights for examples of ``input_shape`` (an int, or a shape
        such as (None, 784) or (None, 28, 28, 1))."""
        if self._core is not None:
            return
        if isinstance(input_shape, int):
            shape = (input_shape,)
        else:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
        shape = tuple(int(d) for d in shape)
        if not self._layers:
            self._input_shape = shape
            return
        core = _neurite.Model(self._seed)
        core.set_input_shape(list(shape))
        for layer in self._layers:
            layer._add_to(core)
        self._input_shape = shape
        self._core = core
        self._core_layer_names()
        self._recompile()

    def _core_layer_names(self):
        for layer, (name, *_rest) in zip(self._layers, self._core.layers()):
            layer.name = name

    def _built(self, what):
        if self._core is None:
            raise ValueError(
                f"{what}: this model has not yet been built; give the first layer input_shape=(features,), "
                "add an Input, or call fit or build first"
            )
        return self._core

    def _ensure_built(self, x):
        if self._core is None:
            shape = getattr(x, "shape", None)
            if shape is None or len(shape) < 2:
                raise ValueError(f"x: expected an array of shape (examples, ...), got shape {shape}")
            if not self._layers:
                raise ValueError("the model has no layers")
            self.build(tuple(shape[1:]))
        return self._core

    def _rows(self, x, what="x"):
        """x as the library reads it: one row of values per example. An array of examples
        shaped as the model's input (``(n, 28, 28, 1)``) is viewed as rows, without a copy when
        it is C-contiguous."""
        shape = getattr(x, "shape", None)
        if shape is None or self._input_shape is None:
            return x
        if len(shape) == 2 and len(self._input_shape) > 1:
            first = self._layers[0] if self._layers else None
            raise ValueError(
                f"{what}: the model's first layer ({getattr(first, 'name', None) or type(first).__name__}) takes examples of "
                f"shape {self._input_shape}, got flat rows of shape {tuple(shape)}; reshape them, e.g. "
                f"x.reshape(-1, {', '.join(str(d) for d in self._input_shape)})"
            )
        if len(shape) <= 2:
            return x
        if tuple(shape[1:]) != tuple(self._input_shape):
            raise ValueError(f"{what}: the model takes examples of shape {self._input_shape}, got an array of shape {tuple(shape)}")
        return x.reshape(shape[0], -1)

    @property
    def layers(self):
        """The layers, input to output."""
        return list(self._layers)

    @property
    def input_shape(self):
        return (None, *self._input_shape) if self._input_shape is not None else None

    @property
    def output_shape(self):
        if self._core is None or not self._layers:
            return None
        return (None, *self._core.layers()[-1][4])

    @property
    def threads(self):
        """Threads for training and inference (default: all cores). The numbers are the same
        bit for bit for a given seed and thread count."""
        return self._built("threads").threads

    @threads.setter
    def threads(self, n):
        self._built("threads").threads = n

    def count_params(self):
        return self._built("count_params").count_params()

    def summary(self, print_fn=None):
        """Prints Keras' layer table (output shapes, parameter counts, totals)."""
        text = self._built("summary").summary().replace('Model: "sequential"', f'Model: "{self.name}"')
        (print_fn or print)(text)

    # Training.

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Chooses the optimiser (name or ``neurite.optimizers`` object), the loss (name or
        ``neurite.losses`` object) and the metrics (``["accuracy"]`` or none)."""
        if kwargs:
            raise ValueError(f"compile: neurite does not take {sorted(kwargs)}")
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='sparse_categorical_crossentropy'")
        name, lr = optimizers.get(optimizer)
        loss_name = losses.get(loss)
        accuracy = False
        for m in metrics or []:
            m_name = m if isinstance(m, str) else getattr(m, "name", getattr(m, "__name__", repr(m)))
            if m_name not in _ACCURACY:
                raise ValueError(f"compile: unknown metric {m!r}; neurite reports 'accuracy'")
            accuracy = True
        self._compiled = (name, lr, loss_name, accuracy)
        self._recompile()

    def _recompile(self):
        if self._core is not None and self._compiled is not None:
            self._core.compile(*self._compiled)

    def _ready(self, what):
        core = self._built(what)
        if core.loss_name() is None:
            raise ValueError(f"{what}: the model is not compiled: call compile(optimizer=..., loss=...) first")
        return core

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        initial_epoch=0,
        **kwargs,
    ):
        """Trains for ``epochs`` passes over (x, y) in batches of ``batch_size`` (32), holding
        out the last ``validation_split`` of the examples (or evaluating ``validation_data``)
        after each epoch; returns a ``History``."""
        if kwargs:
            raise ValueError(f"fit: neurite does not take {sorted(kwargs)}")
        if x is None or y is None:
            raise ValueError("fit: give x and y")
        backup = None
        for c in callbacks or []:
            if not isinstance(c, BackupAndRestore) or backup is not None:
                raise ValueError(f"fit: neurite takes one callback, neurite.callbacks.BackupAndRestore; got {c!r}")
            backup = c._args()
        if initial_epoch:
            raise ValueError("fit: initial_epoch is not supported; a model file keeps its optimiser state instead")
        batch_size = 32 if batch_size is None else batch_size
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"fit: batch_size must be a positive integer, got {batch_size!r}")
        if int(epochs) != epochs or epochs < 0:
            raise ValueError(f"fit: epochs must be an integer of 0 or more, got {epochs!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: validation_data must be (x_val, y_val)")
            validation_data = tuple(validation_data)
        verbose = _verbosity(verbose)
        if verbose == 1 and not _live_output():
            # As Keras: the redrawn bar only where \r redraws (a terminal, a notebook).
            verbose = 2
        core = self._ensure_built(x)
        self._ready("fit")
        if validation_data is not None:
            validation_data = (self._rows(validation_data[0], "validation_data"), validation_data[1])
        history = core.fit(
            self._rows(x),
            y,
            int(epochs),
            int(batch_size),
            float(validation_split),
            validation_data,
            bool(shuffle),
            self._seed,
            verbose,
            backup,
        )
        params = {"verbose": verbose, "epochs": int(epochs), "steps": math.ceil(_count(x) * (1 - validation_split) / batch_size)}
        self.history = History(history, params, self)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False, **kwargs):
        """The mean loss on (x, y), and the accuracy when compiled with it: ``[loss,
        accuracy]`` (or ``{"loss": ..., "accuracy": ...}`` with ``return_dict``)."""
        if kwargs:
            raise ValueError(f"evaluate: neurite does not take {sorted(kwargs)}")
        verbose = _verbosity(verbose)
        core = self._ensure_built(x)
        self._ready("evaluate")
        start = time.perf_counter()
        loss, accuracy = core.evaluate(self._rows(x), y)
        results = {"loss": loss}
        if core.reports_accuracy():
            results["accuracy"] = accuracy
        if verbose:
            steps = math.ceil(_count(x) / (batch_size or 32))
            line = " - ".join(f"{k}: {v:.4f}" for k, v in results.items())
            print(f"{steps}/{steps} - {time.perf_counter() - start:.2f}s - {line}")
        if return_dict:
            return results
        return list(results.values()) if len(results) > 1 else loss

    def predict(self, x, batch_size=None, verbose="auto", **kwargs):
        """The model's outputs for x, a float32 array of shape (n, outputs)."""
        if kwargs:
            raise ValueError(f"predict: neurite does not take {sorted(kwargs)}")
        _verbosity(verbose)
        core = self._ensure_built(x)
        return core.predict(self._rows(x))

    def __call__(self, x):
        return self.predict(x, verbose=0)

    # Weights and files.

    def get_weights(self):
        """Every layer's weights as NumPy arrays, in Keras' order: a Dense layer's kernel
        (inputs, units) and bias (units,); a BatchNormalization's gamma, beta, moving_mean and
        moving_variance."""
        return self._built("get_weights").get_weights()

    def set_weights(self, weights):
        """Replaces the weights, given as ``get_weights`` returns them."""
        self._built("set_weights").set_weights(list(weights))

    def save(self, filepath):
        """Saves the architecture, the weights and the optimiser's state in neurite's model
        file (safetensors, safe to load from strangers); ``neurite eval`` and ``predict`` read
        it too."""
        self._built("save").save(os.fspath(filepath))

    def export(self, filepath, format=None):
        """Writes the model for another framework: ``onnx``, ``torch`` (a PyTorch state dict)
        or ``npz`` (arrays W1, b1, ...); by default from the file's extension."""
        if format is None:
            ext = os.path.splitext(os.fspath(filepath))[1].lower()
            format = {".onnx": "onnx", ".pt": "torch", ".pth": "torch", ".npz": "npz"}.get(ext)
            if format is None:
                raise ValueError(f"export: say format='onnx', 'torch' or 'npz' for {os.fspath(filepath)!r}")
        self._built("export").export(os.fspath(filepath), format)

    def _repr_html_(self):
        """Keras' summary as an HTML table (Jupyter displays a model this way): each layer's
        name and type, output shape, parameter count and activation, then the totals as
        ``summary()`` gives them."""
        esc = html.escape
        head = f"<b>Model: &quot;{esc(self.name)}&quot;</b>"
        if self._core is None:
            rows = "".join(f"<tr><td>{esc(repr(layer))}</td><td>?</td><td>?</td><td></td></tr>" for layer in self._layers)
            note = "<p>not built yet: its input shape is not known</p>"
        else:
            rows = []
            for layer, (name, class_name, config, _input, output, _count) in zip(self._layers, self._core.layers()):
                params = sum(int(np.asarray(w).size) for w in layer.get_weights())
                shape = "(" + ", ".join(["None", *map(str, output)]) + ")"
                activation = json.loads(config).get("activation") or ""
                rows.append(
                    f"<tr><td>{esc(name)} ({esc(class_name)})</td><td>{esc(shape)}</td>"
                    f'<td style="text-align:right">{params:,}</td><td>{esc(str(activation))}</td></tr>'
                )
            rows = "".join(rows)
            totals = [
                line.strip()
                for line in self._core.summary().splitlines()
                if line.strip().startswith(("Total params", "Trainable params", "Non-trainable params"))
            ]
            note = "<p>" + "<br>".join(esc(line) for line in totals) + "</p>"
        table = (
            '<table class="neurite-summary"><thead><tr><th style="text-align:left">Layer (type)</th>'
            '<th style="text-align:left">Output Shape</th><th style="text-align:right">Param #</th>'
            '<th style="text-align:left">Activation</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
        return f"<div>{head}{table}{note}</div>"

    def __repr__(self):
        return f"<neurite Sequential {self.name!r}: {', '.join(map(repr, self._layers))}>"


def _from_core(core, name="sequential"):
    model = Sequential(name=name)
    for i, (layer_name, class_name, config, *_rest) in enumerate(core.layers()):
        layer = deserialize(class_name, json.loads(config))
        layer.name = layer_name
        layer._model, layer._index = model, i
        model._layers.append(layer)
    model._input_shape = tuple(core.input_shape()) if core.input_shape() else None
    model._core = core
    return model


def load_model(filepath, activation=None, output_activation=None):
    """Loads a model saved by ``save`` (compiled again when it was saved compiled, with its
    optimiser's state), or one from another framework: ONNX, a PyTorch ``.pt`` state dict,
    safetensors, an ``.npz`` of W1, b1, ... (``activation`` and ``output_activation`` name
    the activations of formats that do not record them)."""
    core = _neurite.load_model(os.fspath(filepath), activation, output_activation)
    return _from_core(core)
