"""Optimisers by name or as objects, with Keras' defaults (Adam and Nadam: learning rate 0.001,
beta1 0.9, beta2 0.999, epsilon 1e-7). The update rules are the library's."""


class Optimizer:
    """An optimiser and its learning rate (None: the optimiser's Keras default)."""

    _name = None

    def __init__(self, learning_rate=None):
        if learning_rate is not None and not learning_rate > 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be positive, got {learning_rate}")
        self.learning_rate = learning_rate

    @property
    def name(self):
        return self._name

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


class SGD(Optimizer):
    """Gradient descent; with ``momentum`` 0.9 (the only other value offered) it is momentum
    SGD, with ``nesterov=True`` Nesterov's."""

    def __init__(self, learning_rate=None, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        if momentum not in (0, 0.0, 0.9):
            raise ValueError(f"SGD: momentum {momentum} is not offered; neurite has 0 and 0.9")
        self._name = "nesterov" if nesterov else ("momentum" if momentum else "sgd")


class Adam(Optimizer):
    _name = "adam"


class Nadam(Optimizer):
    """Adam with Nesterov momentum, Keras 3's rule (``optimizer="nadam"``)."""

    _name = "nadam"


class RMSprop(Optimizer):
    _name = "rmsprop"


class Adagrad(Optimizer):
    _name = "adagrad"


def get(identifier):
    """(name, learning rate) of an optimiser given by name or as an object."""
    if isinstance(identifier, str):
        return identifier.lower(), None
    if isinstance(identifier, Optimizer):
        return identifier.name, identifier.learning_rate
    raise ValueError(f"unknown optimizer {identifier!r}: give a name such as 'adam' or an object of neurite.optimizers")
