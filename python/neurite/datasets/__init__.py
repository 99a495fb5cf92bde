"""Data sets as Keras' ``keras.datasets`` gives them: ``load_data()`` returns
``(x_train, y_train), (x_test, y_test)`` as uint8 NumPy arrays. Read by the library's IDX
reader (``mnist``, ``fashion_mnist``) or bundled in it (``digits``)."""

from . import digits, fashion_mnist, mnist

__all__ = ["digits", "fashion_mnist", "mnist"]
