"""Smoke test of an installed neurite wheel (.ci/run runs it in a fresh venv, from a directory
where the source tree's python/neurite is not importable): the package imports from the venv,
has a version, reads NumPy arrays in place through the extension (rust-numpy under the
limited API), and fits, evaluates, predicts, saves and loads a small model on the bundled
digits."""

import os
import pathlib
import sys
import tempfile

import numpy as np

import neurite as nt

where = pathlib.Path(nt.__file__).resolve()
assert where.is_relative_to(pathlib.Path(sys.prefix).resolve()), f"neurite imported from {where}, not the venv"
extension = pathlib.Path(nt._neurite.__file__).name
assert ".abi3." in extension, f"the extension is {extension}, not an abi3 module"
assert nt.__version__, "no __version__"

assert nt._neurite.reads_in_place(np.zeros((4, 3), np.float32))
assert not nt._neurite.reads_in_place(np.zeros((4, 3), np.float64))

(x, y), (xt, yt) = nt.datasets.digits.load_data()
x, xt = x.reshape(-1, 64) / 16.0, xt.reshape(-1, 64) / 16.0
model = nt.Sequential([nt.layers.Dense(32, activation="relu", input_shape=(64,)), nt.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
loss, accuracy = model.evaluate(xt, yt, verbose=0)
assert accuracy > 0.5, f"accuracy {accuracy} after 5 epochs on the digits (chance: 0.1)"
p = model.predict(xt[:5], verbose=0)
assert p.shape == (5, 10) and p.dtype == np.float32 and np.allclose(p.sum(axis=1), 1, atol=1e-5)

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "digits.safetensors")
    model.save(path)
    assert np.array_equal(nt.load_model(path).predict(xt[:5], verbose=0), p)

print(
    f"neurite {nt.__version__} from {where.parent} ({extension}) on Python {sys.version.split()[0]}: "
    f"test accuracy {accuracy:.3f} after {len(history.history['loss'])} epochs"
)
