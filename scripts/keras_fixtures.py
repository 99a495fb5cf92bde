"""Writes the Keras-written fixtures: architectures as Keras' own `model.to_json()` writes them
(tests/fixtures/keras_*.json), which `neurite train --architecture` and `io::keras` read, and
checks that Keras' BatchNormalization moves its statistics as tests/fixtures/layers_torch.json
says Keras' rule does.

    KERAS_BACKEND=torch python scripts/keras_fixtures.py      # needs keras 3 and torch
"""

import json
import pathlib

import keras
import numpy as np
from keras import layers

fixtures = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
mlp = keras.Sequential(
    [keras.Input(shape=(784,)), layers.Dense(256, activation="relu"), layers.BatchNormalization(), layers.Dropout(0.3), layers.Dense(10, activation="softmax")]
)
(fixtures / "keras_mlp_bn.json").write_text(mlp.to_json() + "\n")
images = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(64, activation="leaky_relu", kernel_initializer="he_normal"),
        layers.Reshape((8, 8)),
        layers.Flatten(),
        layers.Dense(10, activation="softmax", use_bias=False),
    ]
)
(fixtures / "keras_flatten.json").write_text(images.to_json() + "\n")
print(f"keras {keras.__version__}: wrote keras_mlp_bn.json ({mlp.count_params()} parameters), keras_flatten.json ({images.count_params()})")

# Keras' own BatchNormalization on the fixture's three batches.
f = json.loads((fixtures / "layers_torch.json").read_text())
bn = layers.BatchNormalization()
bn.build((None, f["features"]))
for batch in f["batches"]:
    bn(np.array(batch, dtype="float32").reshape(f["rows"], f["features"]), training=True)
mean, var = (np.asarray(keras.ops.convert_to_numpy(w)) for w in (bn.moving_mean, bn.moving_variance))
for name, got, want in [("moving_mean", mean, f["moving_after"]["mean"]), ("moving_variance", var, f["moving_after"]["variance"])]:
    diff = float(np.abs(got - np.array(want)).max())
    print(f"Keras' {name} after three batches differs from the fixture's rule by {diff:.2e}")
    assert diff < 1e-5
