"""The notes' small models, as the notes write them in Python.

Note 003's Rosenblatt ``Perceptron(rate=0.01, niter=10)``: ``fit(X, y)`` with the weights
``weight`` (bias first, from zeros) and the misclassifications of each epoch ``errors``,
``net_input``, ``predict`` (the library's ``teach::Perceptron``). The names of the book note
003 cites (Raschka's *Python Machine Learning*: ``eta``, ``n_iter``, ``w_``, ``errors_``) are
aliases. Targets are 1/-1 as in the note, or 0/1 (or any two labels); ``predict`` gives
integers in the labels ``fit`` saw.

Note 003's logic gates: ``AND``, ``OR``, ``NAND`` (one perceptron each, with hand-set weights,
``GATE_WEIGHTS``) and ``XOR`` = ``AND(NAND, OR)``, each giving 0 or 1 as the note's functions do;
``learn_xor()`` trains the 2-2-1 network that learns XOR by backpropagation, the one of
``neurite perceptron --gate xor``. All are the library's ``teach`` module.

Note 002's logistic regression, scikit-learn style (``fit(x, y)`` returning the model,
``predict``, ``predict_proba``, ``score``, ``coef_``, ``intercept_``, ``history_``):
``DigitDetector`` answers "is it a 5?" from all pixels, one, or the most telling one, with
``scores`` giving accuracy, precision and recall; ``OneVsAll`` trains ten such models side by
side, the most activated naming the digit, with ``confusion_matrix``. They are the library's
``teach::DigitDetector`` and ``teach::OneVsAll``: weights from zero, gradient descent on
binary cross-entropy. Images are integer grey levels (``max_value``: the brightest, by default
the training set's) or floats in 0..1 (``x / 255.0``), shape (n, height, width) or (n,
features). ``nt.plot.weights(model, path, image_shape)`` draws their weights.

>>> from neurite import teach
>>> [teach.XOR(a, b) for a, b in [(0, 0), (0, 1), (1, 0), (1, 1)]]
[0, 1, 1, 0]
"""

import numpy as np

from . import _neurite
from ._neurite import DigitDetector, OneVsAll

__all__ = [
    "Perceptron",
    "AND",
    "OR",
    "NAND",
    "XOR",
    "GATE_WEIGHTS",
    "INPUTS",
    "truth_table",
    "learn_xor",
    "DigitDetector",
    "OneVsAll",
]

_UNSET = object()


def _one_of(what, given):
    """The one value given among a name and its aliases (all but the defaults unset)."""
    values = [(name, v) for name, v in given if v is not _UNSET]
    if len(values) > 1:
        raise TypeError(f"Perceptron: {' and '.join(n for n, _ in values)} are the same setting ({what}); give one")
    return values[0][1] if values else None


class Perceptron:
    """Note 003's perceptron: ``Perceptron(rate=0.01, niter=10)``, ``fit(X, y)`` returning
    itself, ``weight`` (bias first), ``errors`` (misclassified examples per epoch),
    ``net_input(X)`` and ``predict(X)``. ``eta``/``n_iter``/``w_``/``errors_`` are the same
    things by the names of the book the note cites. ``random_state`` shuffles the examples each
    epoch (the note visits them in order)."""

    def __init__(self, rate=_UNSET, niter=_UNSET, random_state=None, *, eta=_UNSET, n_iter=_UNSET):
        rate = _one_of("the learning rate", [("rate", rate), ("eta", eta)])
        niter = _one_of("the number of epochs", [("niter", niter), ("n_iter", n_iter)])
        self.rate = 0.01 if rate is None else float(rate)
        self.niter = 10 if niter is None else int(niter)
        if self.niter < 0:
            raise ValueError(f"Perceptron: niter must be 0 or more, got {niter}")
        self.random_state = random_state
        self._core = None
        self._labels = np.array([-1, 1])

    # The book's names.
    eta = property(lambda self: self.rate, lambda self, v: setattr(self, "rate", v))
    n_iter = property(lambda self: self.niter, lambda self, v: setattr(self, "niter", v))

    def fit(self, X, y):
        """Learns from ``X`` (examples, features) and targets ``y``: 1 and -1 as in note 003,
        0 and 1, or any two labels (the larger is the one the step function's 1 stands for)."""
        y = np.asarray(y)
        labels = np.unique(y)
        if labels.size > 2 or y.size == 0:
            raise ValueError(
                f"Perceptron: targets must be two labels (1 and -1, or 0 and 1), got {labels.tolist()[:10]}"
            )
        numeric = labels.dtype.kind in "biuf"
        if numeric and set(labels.tolist()) <= {-1, 1}:
            pair = np.array([-1, 1])
        elif numeric and set(labels.tolist()) <= {0, 1}:
            pair = np.array([0, 1])
        elif labels.size == 2:
            pair = labels
        else:
            raise ValueError(f"Perceptron: one label {labels[0]!r} other than 0, 1 and -1: give both classes")
        signs = np.where(y == pair[1], 1.0, -1.0)
        core = _neurite.Perceptron(self.rate, self.niter, self.random_state)
        core.fit(X, signs)
        self._core, self._labels = core, pair
        return self

    def _fitted(self):
        if self._core is None:
            raise ValueError("Perceptron: call fit(X, y) first")
        return self._core

    @property
    def weight(self):
        """The weights, bias first: ``weight[0]`` is the bias, ``weight[1:]`` one per feature."""
        return self._fitted().w_

    w_ = weight

    @property
    def errors(self):
        """Misclassified examples in each epoch of ``fit``."""
        return list(self._fitted().errors_)

    errors_ = errors

    @property
    def classes_(self):
        """The two labels, the one for a negative net input first."""
        return self._labels.copy()

    def net_input(self, X):
        """``X . weight[1:] + weight[0]``."""
        return self._fitted().net_input(X)

    def predict(self, X):
        """The label of each example: the larger label where the net input is at least 0, else
        the smaller (1 or -1 after 1/-1 targets, 1 or 0 after 0/1 targets), as integers."""
        signs = np.asarray(self._fitted().predict(X))
        return self._labels[(signs > 0).astype(np.intp)]

    def __repr__(self):
        return f"Perceptron(rate={self.rate}, niter={self.niter})"


# The logic gates.

INPUTS = [(0, 0), (0, 1), (1, 0), (1, 1)]
"""The four input pairs of a truth table, in the notes' order."""


def _bit(gate, name, v):
    if isinstance(v, (bool, np.bool_)) or v in (0, 1):
        return bool(v)
    raise ValueError(f"{gate}: {name} must be 0 or 1, got {v!r}")


def _gate(name):
    def gate(x1, x2):
        return _neurite.gate_output(name, _bit(name.upper(), "x1", x1), _bit(name.upper(), "x2", x2))

    gate.__name__ = gate.__qualname__ = name.upper()
    return gate


AND = _gate("and")
AND.__doc__ = "1 when both inputs are 1: one perceptron, ``0.5 x1 + 0.5 x2 - 0.7 >= 0``."
OR = _gate("or")
OR.__doc__ = "1 when either input is 1: one perceptron, ``0.5 x1 + 0.5 x2 - 0.2 >= 0``."
NAND = _gate("nand")
NAND.__doc__ = "0 only when both inputs are 1: AND's perceptron with every sign turned."
XOR = _gate("xor")
XOR.__doc__ = "1 when exactly one input is 1: note 003's two layers, ``AND(NAND(x1, x2), OR(x1, x2))``."

GATE_WEIGHTS = {name: _neurite.gate_weights(name) for name in ("and", "or", "nand")}
"""The hand-set weights (bias first) of the perceptrons of AND, OR and NAND."""


def truth_table(gate):
    """The outputs of ``gate`` (a function of this module, or its name) for ``INPUTS``."""
    if isinstance(gate, str):
        gate = {"and": AND, "or": OR, "nand": NAND, "xor": XOR}[gate.lower()]
    return [gate(a, b) for a, b in INPUTS]


def learn_xor(hidden=2, seed=0, epochs=500):
    """XOR learned by backpropagation, as ``neurite perceptron --gate xor`` learns it: a
    ``Sequential`` of ``Dense(hidden, tanh)`` and ``Dense(1, sigmoid)`` whose weights are drawn
    with ``seed``, trained on the four examples at once with Adam (learning rate 0.05) on
    binary cross-entropy, on one thread. Returns ``(model, history)``; the model's
    ``predict(np.array(INPUTS))`` gives the four probabilities. A 2-2-1 network settles in a
    local minimum from most starts (seed 0 is one that learns XOR); 4 hidden units learn it
    from every seed in 0..20."""
    from .callbacks import History
    from .models import _from_core

    core, history = _neurite.learn_xor(int(hidden), int(seed), int(epochs))
    model = _from_core(core, name="xor")
    params = {"epochs": int(epochs), "batch_size": 4, "steps": 1}
    return model, History(history, params, model)
