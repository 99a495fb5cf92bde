"""The notes' perceptron and the pictures, from Python."""

import numpy as np
import pytest

import neurite as nt


def test_perceptron_learns_and_as_note_003_names_things():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([-1, -1, -1, 1])  # AND
    p = nt.teach.Perceptron(eta=0.1, n_iter=10).fit(x, y)
    assert p.predict(x).tolist() == [-1, -1, -1, 1]
    assert p.w_.shape == (3,) and len(p.errors_) == 10 and p.errors_[-1] == 0
    np.testing.assert_allclose(p.net_input(x), x @ p.w_[1:] + p.w_[0], rtol=1e-6)
    # 0/1 targets are the same two classes; predictions come back as 0/1 integers.
    q = nt.teach.Perceptron(eta=0.1, n_iter=10).fit(x, np.array([0, 0, 0, 1]))
    assert q.predict(x).tolist() == [0, 0, 0, 1] and q.w_.tolist() == p.w_.tolist()
    with pytest.raises(ValueError, match="two labels"):
        nt.teach.Perceptron().fit(x, np.array([0, 1, 2, 1]))


def test_pictures_are_written(tmp_path):
    (x, y), _ = nt.datasets.digits.load_data()
    model = nt.Sequential([nt.layers.Dense(10, activation="softmax", input_shape=(64,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x.reshape(-1, 64) / 16.0, y, epochs=2, validation_split=0.2, verbose=0)
    nt.plot.history(h, tmp_path / "history.png")
    nt.plot.activation("sigmoid", tmp_path / "sigmoid.svg")
    nt.plot.weights(model, tmp_path / "weights.png", image_shape=(8, 8))
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "sigmoid.svg").read_bytes()[:200]
    assert (tmp_path / "weights.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="28"):
        nt.plot.weights(model, tmp_path / "w.png")
