"""Training on the bundled digits: Keras' API and History, the same numbers as `neurite
train`, the same numbers whatever the input's dtype or layout, arrays read in place."""

import json
import subprocess
import threading
import time

import numpy as np
import pytest

import neurite as nt


def digits():
    (x, y), (xt, yt) = nt.datasets.digits.load_data()
    return (x.reshape(-1, 64) / 16.0, y), (xt.reshape(-1, 64) / 16.0, yt)


def seed_model(hidden=50):
    return nt.Sequential([nt.layers.Dense(hidden, activation="sigmoid", input_shape=(64,)), nt.layers.Dense(10, activation="softmax")])


def compiled(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_digits_load_like_keras():
    (x, y), (xt, yt) = nt.datasets.digits.load_data()
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((1437, 8, 8), (1437,), (360, 8, 8), (360,))
    assert x.dtype == y.dtype == np.uint8 and x.max() == 16 and set(np.unique(y)) == set(range(10))


def test_fit_learns_the_digits_and_returns_keras_history():
    (x, y), (xt, yt) = digits()
    model = compiled(seed_model())
    history = model.fit(x, y, epochs=30, batch_size=32, validation_split=0.1, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 30 for v in history.history.values()) and history.epoch == list(range(30))
    assert history.history["loss"][-1] < history.history["loss"][0] / 4
    assert model.history is history
    loss, accuracy = model.evaluate(xt, yt, verbose=0)
    assert accuracy > 0.9 and loss < 0.5, (loss, accuracy)
    assert model.evaluate(xt, yt, verbose=0, return_dict=True) == {"loss": loss, "accuracy": accuracy}
    p = model.predict(xt)
    assert p.shape == (360, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(p.argmax(axis=1) == yt) == accuracy


def test_without_metrics_evaluate_returns_the_loss_and_history_has_loss_only():
    (x, y), _ = digits()
    model = seed_model()
    model.compile(optimizer=nt.optimizers.Adam(learning_rate=0.01), loss=nt.losses.SparseCategoricalCrossentropy())
    h = model.fit(x, y, epochs=1, validation_data=(x[:100], y[:100]), verbose=0)
    assert sorted(h.history) == ["loss", "val_loss"]
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_same_numbers_as_the_neurite_command(neurite_cli):
    out = subprocess.run([str(neurite_cli), "train", "--dataset", "digits", "--epochs", "3", "--json"], capture_output=True, text=True, check=True)
    cli = json.loads(out.stdout)
    (x, y), (xt, yt) = digits()
    model = compiled(seed_model())
    model.threads = cli["threads"]
    h = model.fit(x, y, epochs=3, verbose=0)
    assert h.history["loss"] == [e["loss"] for e in cli["history"]["epochs"]]
    assert h.history["accuracy"] == [e["accuracy"] for e in cli["history"]["epochs"]]
    assert model.evaluate(xt, yt, verbose=0) == [cli["test_loss"], cli["test_accuracy"]]


def test_both_styles_of_the_notes_and_lazy_building_give_the_same_model():
    (x, y), _ = digits()
    listed = compiled(seed_model())
    added = nt.models.Sequential()
    added.add(nt.Input(shape=(64,)))
    added.add(nt.layers.Dense(50, activation="sigmoid"))
    added.add(nt.layers.Dense(10, activation="softmax"))
    compiled(added)
    lazy = compiled(nt.Sequential([nt.layers.Dense(50, activation="sigmoid"), nt.layers.Dense(10, activation="softmax")]))
    with pytest.raises(ValueError, match="not yet been built"):
        lazy.summary()
    results = [m.fit(x, y, epochs=2, verbose=0).history for m in (listed, added, lazy)]
    assert results[0] == results[1] == results[2]


def test_float64_fortran_and_strided_inputs_train_like_float32():
    (x, y), _ = digits()
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    assert nt._neurite.reads_in_place(x32)
    strided = np.repeat(x32, 2, axis=1)[:, ::2]
    inputs = [x32, x, np.asfortranarray(x32), strided, x32.tolist()]
    assert not any(nt._neurite.reads_in_place(v) for v in inputs[1:4])
    labels = [y, y.astype(np.int64), y.astype(np.float32), y.reshape(-1, 1), y]
    histories = []
    for xi, yi in zip(inputs, labels):
        m = compiled(seed_model())
        histories.append(m.fit(xi, yi, epochs=1, verbose=0).history)
    assert all(h == histories[0] for h in histories)


def test_other_losses_take_target_rows():
    (x, y), _ = digits()
    onehot = np.eye(10)[y]
    m = seed_model()
    m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, onehot, epochs=5, verbose=0)
    assert h.history["accuracy"][-1] > 0.8
    binary = nt.Sequential([nt.layers.Dense(1, activation="sigmoid", input_shape=(64,))])
    binary.compile(optimizer=nt.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    h = binary.fit(x, (y == 0).astype(float), epochs=10, verbose=0)
    assert h.history["accuracy"][-1] > 0.95


def test_verbose_lines(capsys):
    (x, y), _ = digits()
    m = compiled(seed_model())
    m.fit(x, y, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [l.split(" - ")[0] for l in lines] == ["Epoch 1/2", "Epoch 2/2"] and "accuracy:" in lines[0]
    m.fit(x, y, epochs=1, verbose=0)
    m.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""
    m.evaluate(x, y, verbose=2)
    assert capsys.readouterr().out.startswith("45/45 - ")


def test_fit_releases_the_gil():
    (x, y), _ = digits()
    m = compiled(seed_model(200))
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    before = len(ticks)
    m.fit(x, y, epochs=100, verbose=0)
    during = len(ticks) - before
    stop.set()
    t.join()
    # A thread that held the GIL for the whole fit would let the counter move once or twice.
    assert during > 10
