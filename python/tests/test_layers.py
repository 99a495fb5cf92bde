"""The layers beyond Dense from Python: Keras' spelling, the summary's counts, weights in
Keras' order, the learner's BatchNormalization/Dropout program on MNIST, and its ONNX export
run by ONNX Runtime (when installed; CI installs it)."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import neurite as nt
from neurite import layers

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "keras_mlp_batchnorm.py"


def test_layers_are_spelled_as_keras_spells_them_and_counted_as_keras_counts_them(capsys):
    model = nt.Sequential(
        [
            nt.Input(shape=(28, 28)),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert nt.layers.Dropout is layers.Dropout and nt.BatchNormalization is layers.BatchNormalization
    model.summary()
    text = capsys.readouterr().out
    assert "flatten (Flatten)" in text and "(None, 784)" in text
    assert "Non-trainable params: 512 (2.00 KB)" in text
    assert model.count_params() == 784 * 256 + 256 + 4 * 256 + 2570
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(784, 256), (256,), (256,), (256,), (256,), (256,), (256, 10), (10,)]
    gamma, beta, mean, var = model.layers[2].get_weights()
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (var == 1).all()
    model.layers[2].set_weights([gamma, beta, mean + 0.5, var * 2])
    assert (model.get_weights()[4] == 0.5).all()
    assert model.layers[3].get_config()["rate"] == 0.3
    assert model.output_shape == (None, 10) and model.input_shape == (None, 28, 28)
    # Images go in as images: (n, 28, 28) is read as rows of 784 values.
    x = np.random.default_rng(0).uniform(size=(5, 28, 28)).astype("float32")
    assert model.predict(x, verbose=0).shape == (5, 10)
    with pytest.raises(ValueError, match=r"takes examples of shape \(28, 28\)"):
        model.predict(np.zeros((5, 27, 28), "float32"), verbose=0)


def test_dropout_trains_repeatably_and_is_the_identity_at_inference():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def fitted():
        nt.utils.set_random_seed(3)
        m = nt.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)), layers.Dropout(0.5), layers.Dense(2, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        m.fit(x, y, epochs=3, batch_size=16, verbose=0)
        return m

    a, b = fitted(), fitted()
    assert all((u == v).all() for u, v in zip(a.get_weights(), b.get_weights()))
    assert (a.predict(x, verbose=0) == a.predict(x, verbose=0)).all()


def test_keras_layer_settings_neurite_cannot_honour_are_refused():
    with pytest.raises(ValueError, match="Dropout: rate must be in"):
        layers.Dropout(1.0)
    with pytest.raises(ValueError, match="last axis"):
        layers.BatchNormalization(axis=1)
    with pytest.raises(ValueError, match="neurite does not take"):
        layers.Dropout(0.2, noise_shape=(None, 1))
    with pytest.raises(ValueError, match="cannot reshape"):
        nt.Sequential([nt.Input(shape=(784,)), layers.Reshape((5, -1)), layers.Flatten(), layers.Dense(2)])


def test_the_batchnorm_dropout_program_reaches_keras_accuracy_and_exports(mnist_dir, tmp_path):
    env = dict(os.environ, NEURITE_DATA=str(mnist_dir), OUT_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Non-trainable params: 512 (2.00 KB)" in out.stdout
    accuracy = float(re.search(r"test_accuracy: ([0-9.]+)", out.stdout).group(1))
    assert accuracy >= 0.97, out.stdout
    model = nt.load_model(tmp_path / "mlp_bn.safetensors")
    (_, _), (xt, yt) = nt.datasets.mnist.load_data(path=mnist_dir)
    xt = xt[:2000].reshape(-1, 784).astype("float32") / 255
    ours = model.predict(xt, verbose=0)
    try:
        import onnxruntime as ort
    except ImportError:
        if os.environ.get("NEURITE_CI", "") not in ("", "0"):
            pytest.fail("NEURITE_CI is set but onnxruntime is not installed")
        pytest.skip("onnxruntime is not installed")
    session = ort.InferenceSession(str(tmp_path / "mlp_bn.onnx"), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": xt})[0]
    assert np.abs(ours - theirs).max() <= 1e-4
    assert (ours.argmax(1) == yt[:2000]).mean() >= 0.96
