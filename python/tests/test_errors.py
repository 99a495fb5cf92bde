"""Bad input is a Python exception with neurite's message, never a crash."""

import numpy as np
import pytest

import neurite as nt


@pytest.fixture
def model():
    m = nt.Sequential([nt.layers.Dense(8, activation="relu", input_shape=(4,)), nt.layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


X = np.zeros((6, 4), dtype=np.float32)
Y = np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros((6, 5)), r"expected an array of shape \(examples, 4\), got dtype float64 and shape \(6, 5\): reshape\(-1, 4\)"),
        (np.zeros((6, 2, 2), dtype=np.float32), r"shape \(6, 2, 2\)"),
        (np.zeros(4), r"shape \(4,\)"),
        (np.array([["a", "b", "c", "d"]] * 6), r"dtype <U1 and shape \(6, 4\) holds no numbers"),
        (np.zeros((6, 4), dtype=np.complex64), r"dtype complex64"),
        (np.array([object()] * 24).reshape(6, 4), r"dtype object"),
    ],
)
def test_bad_inputs_name_dtype_and_shape(model, x, message):
    for call in (lambda: model.fit(x, Y, verbose=0), lambda: model.evaluate(x, Y, verbose=0), lambda: model.predict(x)):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array([0, 1, 2, 0, 1, 3]), r"y: label 3 \(example 5\) is not a class index below 3"),
        (np.array([0, 1, 2, 0, 1, -1]), r"label -1 \(example 5\)"),
        (np.array([0, 1, 2, 0, 1, 0.5]), r"label 0\.5"),
        (np.array([0, 1, 2]), r"expected 6 class indices, shape \(6,\), got shape \(3,\)"),
        (np.zeros((6, 3)), r"got shape \(6, 3\)"),
        (np.array([0, 1, 2, 0, 1, np.nan]), r"label NaN"),
    ],
)
def test_bad_labels(model, y, message):
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, verbose=0)


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(X, Y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(X, Y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(X, Y, verbose=3)
    with pytest.raises(ValueError, match="does not take"):
        model.fit(X, Y, sample_weight=np.ones(6), verbose=0)
    with pytest.raises(ValueError, match="unknown activation \"swish\""):
        nt.Sequential([nt.layers.Dense(2, activation="swish", input_shape=(4,))])
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="lion", loss="mse")
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile(optimizer="adam", loss="hinge")
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["auc"])
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        nt.optimizers.Adam(learning_rate=-1)
    with pytest.raises(ValueError, match="not compiled"):
        nt.Sequential([nt.layers.Dense(2, input_shape=(4,))]).fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"takes flat rows, \(None, n\), but its input is \(None, 28, 28\); put a Flatten layer before it"):
        nt.Sequential([nt.Input(shape=(28, 28)), nt.layers.Dense(2)])
    with pytest.raises(TypeError, match="takes Input, Dense, Dropout"):
        nt.Sequential(["dense"])
    with pytest.raises(ValueError, match=r"declares the input shape \(5,\), but the previous layer gives \(3,\)"):
        model.add(nt.layers.Dense(2, input_shape=(5,)))


def test_missing_files_are_os_errors(tmp_path):
    with pytest.raises(OSError, match="nowhere.safetensors"):
        nt.load_model(tmp_path / "nowhere.safetensors")
    with pytest.raises(OSError, match=r"mnist not found: looked in .*nothing-here.*NEURITE_DATA"):
        nt.datasets.mnist.load_data(path=tmp_path / "nothing-here")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="bad.safetensors"):
        nt.load_model(bad)
    m = nt.Sequential([nt.layers.Dense(2, input_shape=(4,))])
    with pytest.raises(OSError):
        m.save(tmp_path / "no" / "such" / "dir" / "m.safetensors")
