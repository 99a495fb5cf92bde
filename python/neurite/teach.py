"""The notes' small models, as note 003 writes them in Python: the Rosenblatt ``Perceptron``
(``eta``, ``n_iter``, ``w_`` with the bias first, ``errors_``, ``net_input``, ``predict``
giving 1 or -1). The learning rule is the library's ``teach::Perceptron``."""

from ._neurite import Perceptron

__all__ = ["Perceptron"]
