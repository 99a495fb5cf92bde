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
# Keras' "Simple MNIST convnet" example, as its page builds it, and a small convnet for the
# bundled 8x8 digits (same padding, average and global pooling) that the CLI tests train.
convnet = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ]
)
(fixtures / "keras_convnet.json").write_text(convnet.to_json() + "\n")
digits = keras.Sequential(
    [
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(8, 3, activation="relu", padding="same"),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ]
)
(fixtures / "keras_convnet_digits.json").write_text(digits.to_json() + "\n")
print(f"keras {keras.__version__}: wrote keras_convnet.json ({convnet.count_params()} parameters), keras_convnet_digits.json ({digits.count_params()})")
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
