"""Model files: neurite's own (save/load round trip, optimiser state included) and the
exports other frameworks read, each read back by the library's importers."""

import numpy as np
import pytest

import neurite as nt


def trained():
    (x, y), (xt, yt) = nt.datasets.digits.load_data()
    x, xt = x.reshape(-1, 64) / 16.0, xt.reshape(-1, 64) / 16.0
    m = nt.Sequential([nt.layers.Dense(32, activation="relu", input_shape=(64,)), nt.layers.Dense(10, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=3, verbose=0)
    return m, (x, y), (xt, yt)


def test_save_load_round_trip_continues_training_identically(tmp_path):
    m, (x, y), (xt, _) = trained()
    path = tmp_path / "digits.safetensors"
    m.save(path)
    back = nt.load_model(path)
    assert [(l.name, l.units, l.activation) for l in back.layers] == [(l.name, l.units, l.activation) for l in m.layers]
    np.testing.assert_array_equal(back.predict(xt), m.predict(xt))
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    # The optimiser's state came along: one more epoch gives the same numbers in both.
    assert back.fit(x, y, epochs=1, verbose=0).history["loss"] == m.fit(x, y, epochs=1, verbose=0).history["loss"]


@pytest.mark.parametrize("name, kwargs", [("m.onnx", {}), ("m.pt", {"activation": "relu", "output_activation": "softmax"}), ("m.npz", {"activation": "relu", "output_activation": "softmax"})])
def test_exports_read_back(tmp_path, name, kwargs):
    m, _, (xt, _) = trained()
    m.export(tmp_path / name)
    back = nt.load_model(tmp_path / name, **kwargs)
    np.testing.assert_allclose(back.predict(xt), m.predict(xt), rtol=1e-6, atol=1e-7)
    if name == "m.npz":
        arrays = np.load(tmp_path / name)
        assert sorted(arrays.files) == ["W1", "W2", "b1", "b2"]
        np.testing.assert_array_equal(arrays["W1"], m.get_weights()[0])


def test_export_needs_a_known_format(tmp_path):
    m, _, _ = trained()
    with pytest.raises(ValueError, match="format="):
        m.export(tmp_path / "m.bin")
    with pytest.raises(ValueError, match="unknown format"):
        m.export(tmp_path / "m.bin", format="keras")
