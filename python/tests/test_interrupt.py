"""Ctrl-C during fit: training stops after its current step and KeyboardInterrupt is raised,
as in a notebook; the model keeps the weights trained so far and stays usable."""

import _thread
import io
import signal
import sys

import numpy as np
import pytest

import neurite as nt


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    """Python leaves SIGINT ignored when it was started with it ignored (a job started with
    `&` from a script, as CI may be), and then `_thread.interrupt_main()` does nothing; a
    notebook's kernel, like an interactive Python, raises KeyboardInterrupt. Install that."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class CtrlCAfterFirstEpoch(io.StringIO):
    """Standard output that presses Ctrl-C when the first epoch's line is printed."""

    def write(self, text):
        if text.startswith("Epoch 1/"):
            # What Ctrl-C does: Python's SIGINT handler marks the signal; the main thread must act on it.
            _thread.interrupt_main()
        return super().write(text)


def test_ctrl_c_stops_fit_with_keyboard_interrupt(monkeypatch):
    (x, y), (xt, yt) = nt.datasets.digits.load_data()
    x, xt = x.reshape(-1, 64) / 16.0, xt.reshape(-1, 64) / 16.0
    model = nt.Sequential([nt.layers.Dense(50, activation="sigmoid", input_shape=(64,)), nt.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    out = CtrlCAfterFirstEpoch()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(KeyboardInterrupt):
        # Bounded, so that a missed interrupt fails the test instead of hanging it.
        model.fit(x, y, epochs=300, verbose=2)
    monkeypatch.undo()
    # It stopped in the second epoch: the interrupt was seen before its next step.
    assert out.getvalue().count("Epoch ") == 1, out.getvalue()
    assert not np.array_equal(before[0], model.get_weights()[0])
    loss, accuracy = model.evaluate(xt, yt, verbose=0)
    assert np.isfinite(loss) and accuracy > 0.1
    # And training goes on afterwards.
    assert len(model.fit(x, y, epochs=1, verbose=0).history["loss"]) == 1


def test_backup_and_restore_continues_an_interrupted_fit_to_the_same_numbers(monkeypatch, tmp_path):
    (x, y), _ = nt.datasets.digits.load_data()
    x = x.reshape(-1, 64) / 16.0

    def new_model():
        m = nt.Sequential([nt.layers.Dense(16, activation="relu", input_shape=(64,)), nt.layers.Dense(10, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    whole = new_model()
    expected = whole.fit(x, y, epochs=4, validation_split=0.1, verbose=0).history
    backup = nt.callbacks.BackupAndRestore(tmp_path / "backup", save_freq=7)
    stopped = new_model()
    out = CtrlCAfterFirstEpoch()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(x, y, epochs=4, validation_split=0.1, verbose=2, callbacks=[backup])
    monkeypatch.undo()
    assert out.getvalue().count("Epoch ") == 1 and (tmp_path / "backup" / "checkpoint.safetensors").exists()
    # A new session: a new model, the same program, the backup directory.
    again = new_model()
    history = again.fit(x, y, epochs=4, validation_split=0.1, verbose=0, callbacks=[backup]).history
    assert history == expected
    for a, b in zip(again.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "backup" / "checkpoint.safetensors").exists()
    with pytest.raises(ValueError, match="one callback"):
        again.fit(x, y, callbacks=[object()], verbose=0)
