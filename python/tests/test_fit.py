"""Training on the bundled digits: Keras' API and History, the same numbers as `neurite
train`, the same numbers whatever the input's dtype or layout, arrays read in place."""

import _thread
import io
import json
import signal
import subprocess
import sys
import threading

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


class GapWatcher(io.StringIO):
    """Standard output for a fit with verbose=2 that tells whether another Python thread ran
    while the fit was computing, with no clock: each epoch's line is written by the fit (the
    only Python code it runs). Leaving a write, it wakes the other thread, then records that
    thread's count as its last statement; entering the next write, a larger count means the
    other thread ran between the two writes, while the fit was in Rust. A fit that held the
    GIL there would leave the count unchanged at every line. Once that is seen, it presses
    Ctrl-C so that the fit ends at once."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.left_at = None
        self.lines = 0
        self.seen_between = 0
        self.wake = threading.Event()
        self.done = False

    def other_thread(self):
        while True:
            self.wake.wait()
            self.wake.clear()
            if self.done:
                return
            self.count += 1

    def write(self, text):
        if self.left_at is not None and self.count > self.left_at:
            self.seen_between += 1
            _thread.interrupt_main()
        self.lines += 1
        out = super().write(text)
        self.wake.set()
        self.left_at = self.count
        return out


def test_fit_releases_the_gil(monkeypatch):
    # Python ignores SIGINT when started with it ignored (a job started with `&`), and then
    # interrupt_main() does nothing: install the handler a terminal's Python has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    (x, y), _ = digits()
    m = compiled(seed_model(200))
    out = GapWatcher()
    t = threading.Thread(target=out.other_thread)
    t.start()
    monkeypatch.setattr(sys, "stdout", out)
    try:
        # Bounded, so that a fit holding the GIL fails the test instead of hanging it: then the
        # other thread never runs between two lines, and all 300 epochs end normally.
        with pytest.raises(KeyboardInterrupt):
            m.fit(x, y, epochs=300, verbose=2)
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGINT, previous)
        out.done = True
        out.wake.set()
        t.join()
    # Stopped at the first line after the other thread was seen running during the fit.
    assert out.seen_between >= 1 and out.lines < 300, (out.seen_between, out.lines)
    assert out.getvalue().count("Epoch ") == out.lines


@pytest.mark.parametrize(
    "optimizer, name",
    [
        (nt.optimizers.SGD(learning_rate=1e30), "sgd"),
        (nt.optimizers.SGD(learning_rate=1e30, momentum=0.9), "momentum"),
        (nt.optimizers.Adagrad(learning_rate=1e30), "adagrad"),
        (nt.optimizers.RMSprop(learning_rate=1e30), "rmsprop"),
        (nt.optimizers.Adam(learning_rate=1e30), "adam"),
    ],
)
def test_a_diverging_fit_raises_with_the_diagnosis_for_every_optimizer(optimizer, name):
    # Issue 26: Adam with a learning rate of 1e30 reached a loss of 1e31, finite, and fit
    # returned as if all was well; SGD's overflow was caught. Both stop now, saying so.
    (x, y), _ = digits()
    model = seed_model()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(RuntimeError) as stopped:
        model.fit(x, y, epochs=5, verbose=0)
    text = str(stopped.value)
    assert "epoch 1, step " in text and f"the training diverged with {name}: " in text, text
    assert "try a smaller learning rate (now 1000000000000000000000000000000)" in text, text
    if name in ("adagrad", "rmsprop", "adam"):
        assert "the loss grew to " in text, text
    # The same fit stops at the same place.
    again = seed_model()
    again.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(RuntimeError, match="the training diverged") as second:
        again.fit(x, y, epochs=5, verbose=0)
    assert str(second.value) == text
