"""The notes' Keras program (examples/keras_mnist.py), unchanged but for its import line,
on MNIST: it runs and reaches the accuracy Keras reaches (about 0.968)."""

import os
import pathlib
import re
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "keras_mnist.py"


def test_the_notes_keras_program_runs_with_one_changed_import(mnist_dir):
    source = EXAMPLE.read_text(encoding="utf-8")
    assert "import neurite as keras" in source and "tensorflow" not in source.split("\n", 6)[-1]
    env = dict(os.environ, NEURITE_DATA=str(mnist_dir))
    out = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Total params: 39,760" in out.stdout
    assert len(re.findall(r"^Epoch \d+/10 ", out.stdout, re.M)) == 10
    accuracy = float(re.search(r"test_accuracy: ([0-9.]+)", out.stdout).group(1))
    loss = float(re.search(r"test_loss: ([0-9.]+)", out.stdout).group(1))
    assert accuracy > 0.96 and loss < 0.15, out.stdout


def test_mnist_loads_like_keras(mnist_dir):
    import neurite as nt

    (x, y), (xt, yt) = nt.datasets.mnist.load_data(path=mnist_dir)
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np_uint8() and x.max() == 255
    assert y[:5].tolist() == [5, 0, 4, 1, 9]


def np_uint8():
    import numpy as np

    return np.uint8
