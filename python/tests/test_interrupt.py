"""Ctrl-C during fit: training stops after its current step and KeyboardInterrupt is raised,
as in a notebook; the model keeps the weights trained so far and stays usable."""

import _thread
import io
import sys

import numpy as np
import pytest

import neurite as nt


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
        model.fit(x, y, epochs=100_000, verbose=2)
    monkeypatch.undo()
    # It stopped soon after the first epoch, not after the hundred thousandth.
    epochs = out.getvalue().count("Epoch ")
    assert 1 <= epochs < 1000, epochs
    assert not np.array_equal(before[0], model.get_weights()[0])
    loss, accuracy = model.evaluate(xt, yt, verbose=0)
    assert np.isfinite(loss) and accuracy > 0.1
    # And training goes on afterwards.
    assert len(model.fit(x, y, epochs=1, verbose=0).history["loss"]) == 1
