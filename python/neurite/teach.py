"""The notes' small models, as the notes write them in Python. Note 003's Rosenblatt
``Perceptron`` (``eta``, ``n_iter``, ``w_`` with the bias first, ``errors_``, ``net_input``,
``predict`` giving 1 or -1), the library's ``teach::Perceptron``. Note 002's logistic
regression, scikit-learn style (``fit(x, y)`` returning the model, ``predict``,
``predict_proba``, ``score``, ``coef_``, ``intercept_``, ``history_``): ``DigitDetector``
answers "is it a 5?" from all pixels, one, or the most telling one, with ``scores`` giving
accuracy, precision and recall; ``OneVsAll`` trains ten such models side by side, the most
activated naming the digit, with ``confusion_matrix``. They are the library's
``teach::DigitDetector`` and ``teach::OneVsAll``: weights from zero, gradient descent on
binary cross-entropy. Images are integer grey levels (``max_value``: the brightest, by
default the training set's) or floats in 0..1 (``x / 255.0``), shape (n, height, width) or
(n, features). ``nt.plot.weights(model, path, image_shape)`` draws their weights."""

from ._neurite import DigitDetector, OneVsAll, Perceptron

__all__ = ["Perceptron", "DigitDetector", "OneVsAll"]
