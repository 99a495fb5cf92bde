"""Writes python/tests/fixtures/learners_keras.json: what Keras 3 and NumPy give for the notes'
Python that python/tests/test_learners.py runs on neurite, so that the tests compare with
Keras and NumPy rather than with neurite itself.

    KERAS_BACKEND=torch /work/venv-ref/bin/python scripts/learners_fixtures.py

- Losses: Keras' functions (keras.losses.mean_squared_error, ...) and loss objects with each
  reduction and with sample weights, on float32 inputs; each function is also checked here
  against the notes' formulas written in NumPy (notes 002 and 004: the mean of squared errors,
  -sum t log p, the log-loss), so that the fixture is not Keras' word alone.
- Activations: keras.activations.leaky_relu (negative_slope), elu (alpha), softmax (axis=0),
  checked against note 003's NumPy functions (Leaky_ReLU, elu, softmax with axis=0).
- to_categorical: keras.utils.to_categorical.
- Nadam: a linear Dense(3) on 8 examples fitted by Keras (full batch, no shuffle, mse) for 5
  epochs from given weights: the weights after it.
- The perceptron: note 003's own class, run as written, on AND, OR and NAND.
- Printing: NumPy's repr of float32 arrays.
"""

import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(24)
f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
EPS = 1e-7


def softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def arr(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64).tolist()


# Inputs (float32, as neurite computes in float32).
probs = f32(softmax_rows(rng.normal(0, 1.5, (4, 3))))
onehot = f32(np.eye(3)[[0, 2, 1, 2]])
labels = np.array([0, 2, 1, 2])
logits = f32(rng.normal(0, 2.0, (4, 3)))
reg_true, reg_pred = f32(rng.normal(0, 1, (4, 3))), f32(rng.normal(0, 1, (4, 3)))
bin_true = f32(rng.integers(0, 2, (4, 2)))
bin_pred = f32(rng.uniform(0.05, 0.95, (4, 2)))
bin_clipped = f32([[0.0, 1.0], [1.0, 0.0], [0.5, 0.25], [1e-9, 1.0 - 1e-9]])
bin_logits = f32(rng.normal(0, 3.0, (4, 2)))
weights = f32([1.0, 0.5, 2.0, 0.0])
cube_true, cube_pred = f32(rng.normal(0, 1, (2, 3, 4))), f32(rng.normal(0, 1, (2, 3, 4)))
probs_t = f32(softmax_rows(rng.normal(0, 1, (4, 3))).T)  # classes on axis 0
onehot_t = f32(np.eye(3)[[1, 0, 2, 2]].T)
with_zero = f32([[0.0, 0.3, 0.7], [0.2, 0.8, 0.0]])
with_zero_t = f32([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])

# The notes' formulas in NumPy float64.
np_mse = lambda t, p: np.mean((np.float64(t) - p) ** 2, axis=-1)  # noqa: E731
np_cce = lambda t, p: -np.sum(t * np.log(np.clip(np.float64(p), EPS, 1 - EPS)), axis=-1)  # noqa: E731
np_bce = lambda t, p: -np.mean(  # noqa: E731
    t * np.log(np.clip(np.float64(p), EPS, 1 - EPS)) + (1 - t) * np.log(1 - np.clip(np.float64(p), EPS, 1 - EPS)), axis=-1
)

L = keras.losses
cases = []


def case(name, fn, kwargs, y_true, y_pred, formula, rounding=None):
    """One loss function's case: Keras' values, checked against the notes' formula in float64;
    where Keras' float32 rounding moves a value (``rounding`` says how), the formula's values
    are the expected ones and Keras' are kept beside them."""
    keras_values = arr(fn(y_true, y_pred, **kwargs))
    formula = np.asarray(formula, dtype=np.float64).tolist()
    if rounding is None:
        np.testing.assert_allclose(keras_values, formula, rtol=2e-6, atol=1e-7, err_msg=name)
    cases.append(
        {"name": name, "function": fn.__name__, "kwargs": kwargs, "y_true": np.asarray(y_true).tolist(),
         "y_pred": np.asarray(y_pred).tolist(), "expected": formula if rounding else keras_values,
         "keras": keras_values, "rounding": rounding}
    )


case("mse", L.mean_squared_error, {}, reg_true, reg_pred, np_mse(reg_true, reg_pred))
case("mse of a vector", L.mean_squared_error, {}, reg_true[0], reg_pred[0], np_mse(reg_true[0], reg_pred[0]))
case("mse of (4,) against (4, 1)", L.mean_squared_error, {}, reg_true[:, 0], reg_pred[:, :1], np_mse(reg_true[:, :1], reg_pred[:, :1]))
case("mse of 3-d", L.mean_squared_error, {}, cube_true, cube_pred, np_mse(cube_true, cube_pred))
case("cce", L.categorical_crossentropy, {}, onehot, probs, np_cce(onehot, probs))
case("cce with zero probabilities", L.categorical_crossentropy, {}, with_zero_t, with_zero, np_cce(with_zero_t, with_zero))
case("cce from logits", L.categorical_crossentropy, {"from_logits": True}, onehot, logits,
     np_cce(onehot, softmax_rows(np.float64(logits))))
case("cce on axis 0", L.categorical_crossentropy, {"axis": 0}, onehot_t, probs_t, np_cce(onehot_t.T, probs_t.T))
case("scce", L.sparse_categorical_crossentropy, {}, labels, probs, np_cce(onehot, probs))
case("scce with (4, 1) labels", L.sparse_categorical_crossentropy, {}, labels[:, None], probs, np_cce(onehot, probs))
case("scce from logits", L.sparse_categorical_crossentropy, {"from_logits": True}, labels, logits,
     np_cce(onehot, softmax_rows(np.float64(logits))))
case("bce", L.binary_crossentropy, {}, bin_true, bin_pred, np_bce(bin_true, bin_pred))
case("bce clipped at 0 and 1", L.binary_crossentropy, {}, bin_true, bin_clipped, np_bce(bin_true, bin_clipped),
     rounding="Keras clips p to 1 - 1e-7 in float32 (0.99999988) and takes log(1 - p) = log(1.19e-7); the formula, "
     "and neurite, log(1e-7): 15.94 against 16.12 where p = 1 and the target 0")
case("bce from logits", L.binary_crossentropy, {"from_logits": True}, bin_true, bin_logits,
     np_bce(bin_true, 1 / (1 + np.exp(-np.float64(bin_logits)))))
case("bce of a vector", L.binary_crossentropy, {}, bin_true[:, 0], bin_pred[:, 0], np_bce(bin_true[:, 0], bin_pred[:, 0]))

objects = []


def obj(name, cls, kwargs, y_true, y_pred, sample_weight=None):
    loss = getattr(L, cls)(**kwargs)
    sw = {} if sample_weight is None else {"sample_weight": sample_weight}
    objects.append(
        {"name": name, "class": cls, "kwargs": kwargs, "y_true": np.asarray(y_true).tolist(),
         "y_pred": np.asarray(y_pred).tolist(), "sample_weight": None if sample_weight is None else np.asarray(sample_weight).tolist(),
         "expected": arr(loss(y_true, y_pred, **sw))}
    )


for reduction in ["sum_over_batch_size", "sum", None, "none"]:
    obj(f"MeanSquaredError {reduction}", "MeanSquaredError", {"reduction": reduction}, reg_true, reg_pred)
    obj(f"CategoricalCrossentropy {reduction}", "CategoricalCrossentropy", {"reduction": reduction}, onehot, probs)
obj("MeanSquaredError weighted", "MeanSquaredError", {}, reg_true, reg_pred, weights)
obj("MeanSquaredError weighted sum", "MeanSquaredError", {"reduction": "sum"}, reg_true, reg_pred, weights)
obj("SparseCategoricalCrossentropy", "SparseCategoricalCrossentropy", {}, labels, probs)
obj("SparseCategoricalCrossentropy from logits", "SparseCategoricalCrossentropy", {"from_logits": True}, labels, logits)
obj("BinaryCrossentropy", "BinaryCrossentropy", {}, bin_true, bin_pred)
obj("BinaryCrossentropy weighted", "BinaryCrossentropy", {}, bin_true, bin_pred, weights)
obj("BinaryCrossentropy from logits none", "BinaryCrossentropy", {"from_logits": True, "reduction": "none"}, bin_true, bin_logits)
obj("MeanSquaredError 3-d", "MeanSquaredError", {}, cube_true, cube_pred)

# Activations, against note 003's NumPy functions.
x = f32(np.linspace(-3, 3, 13))
x2 = f32(rng.normal(0, 2, (3, 4)))
A = keras.activations
leaky = arr(A.leaky_relu(x, negative_slope=0.2))
np.testing.assert_allclose(leaky, np.maximum(0.2 * np.float64(x), x), rtol=1e-6)  # note 003's Leaky_ReLU
elu = arr(A.elu(x, alpha=0.5))
np.testing.assert_allclose(elu, (x > 0) * np.float64(x) + (x <= 0) * (0.5 * (np.exp(np.float64(x)) - 1)), rtol=1e-6, atol=1e-7)
soft0 = arr(A.softmax(x2, axis=0))
np.testing.assert_allclose(soft0, np.exp(np.float64(x2)) / np.sum(np.exp(np.float64(x2)), axis=0), rtol=1e-6)  # note 003's softmax
activations = {
    "x": x.tolist(),
    "leaky_relu_0.2": leaky,
    "leaky_relu_0.01": np.maximum(0.01 * np.float64(x), x).tolist(),
    "elu_0.5": elu,
    "elu_1": arr(A.elu(x)),
    "x2": x2.tolist(),
    "softmax_axis0": soft0,
    "softmax_axis_last": arr(A.softmax(x2)),
}

# to_categorical.
to_categorical = [
    {"x": v, "num_classes": n, "expected": keras.utils.to_categorical(v, num_classes=n).tolist(),
     "shape": list(keras.utils.to_categorical(v, num_classes=n).shape)}
    for v, n in [([0, 2, 1], None), ([0, 2, 1], 5), ([[1], [0], [3]], None), ([[0, 1], [2, 0]], 3)]
]

# Nadam through fit: a linear Dense(3) from given weights, full batch, mse, 5 epochs.
nx, ny = f32(rng.normal(0, 1, (8, 2))), f32(rng.normal(0, 1, (8, 3)))
k0, b0 = f32(rng.normal(0, 1, (2, 3))), f32(rng.normal(0, 0.5, 3))
m = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(3)])
m.set_weights([k0, b0])
m.compile(optimizer=keras.optimizers.Nadam(learning_rate=0.05), loss="mse")
h = m.fit(nx, ny, batch_size=8, epochs=5, shuffle=False, verbose=0)
nadam = {"x": nx.tolist(), "y": ny.tolist(), "kernel": k0.tolist(), "bias": b0.tolist(), "learning_rate": 0.05,
         "epochs": 5, "loss": [float(v) for v in h.history["loss"]],
         "kernel_after": m.get_weights()[0].tolist(), "bias_after": m.get_weights()[1].tolist()}


# Note 003's perceptron, as written there, on AND (targets 1 and -1).
class NotePerceptron:
    def __init__(self, rate=0.01, niter=10, dtype=np.float64):  # dtype: not in the note (see below)
        self.rate = rate
        self.niter = niter
        self.dtype = dtype

    def fit(self, X, y):
        self.weight = np.zeros(1 + X.shape[1], dtype=self.dtype)
        self.errors = []
        for i in range(self.niter):
            err = 0
            for xi, target in zip(X, y):
                delta_w = self.rate * (target - self.predict(xi))
                self.weight[1:] += delta_w * xi
                self.weight[0] += delta_w
                err += int(delta_w != 0.0)
            self.errors.append(err)
        return self

    def net_input(self, X):
        return np.dot(X, self.weight[1:]) + self.weight[0]

    def predict(self, X):
        return np.where(self.net_input(X) >= 0.0, 1, -1)


# Rates that are binary fractions (0.25, 0.125) make every weight exact in float32 and float64,
# so the note's float64 code and neurite's float32 take the same path. With 0.1 they need not:
# the zero weights put net inputs exactly on the step's threshold (>= 0), and float64 rounds
# some sums of 0.1s a hair above 0 where float32 lands on 0 (AND: bias -0.6 in float64, -0.4 in
# float32, both with every example right). The 0.1 cases run the note's code on float32 arrays.
gx = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
perceptron = []
for gate, y in [("and", [-1, -1, -1, 1]), ("or", [-1, 1, 1, 1]), ("nand", [1, 1, 1, -1])]:
    for rate, niter, dtype in [(0.25, 10, np.float64), (0.125, 6, np.float64), (0.1, 10, np.float32)]:
        r = np.float32(rate) if dtype == np.float32 else rate
        p = NotePerceptron(rate=r, niter=niter, dtype=dtype).fit(gx.astype(dtype), np.array(y))
        perceptron.append({"gate": gate, "y": y, "rate": rate, "niter": niter, "dtype": np.dtype(dtype).name,
                           "weight": p.weight.astype(np.float64).tolist(), "errors": p.errors,
                           "predict": p.predict(gx.astype(dtype)).tolist()})

printing = [
    {"values": v, "repr": "tensor(" + np.array2string(f32(v), separator=", ", prefix="tensor(") + ")"}
    for v in [[0.26894142, 0.73105858, 0.88079708], [[1.0, 2.0], [3.0, 4.5]], [1e-6, 1.0], [1.0, -3.0], 3.5]
]

fixture = {
    "about": "scripts/learners_fixtures.py: Keras 3 (backend torch) and NumPy on the notes' Python",
    "keras": keras.__version__,
    "numpy": np.__version__,
    "loss_functions": cases,
    "loss_objects": objects,
    "activations": activations,
    "to_categorical": to_categorical,
    "nadam_fit": nadam,
    "perceptron": perceptron,
    "printing": printing,
}
path = pathlib.Path(__file__).resolve().parent.parent / "python" / "tests" / "fixtures" / "learners_keras.json"
path.parent.mkdir(exist_ok=True)
path.write_text(json.dumps(fixture, indent=1) + "\n")
print(f"wrote {path}: {len(cases)} loss functions, {len(objects)} loss objects (Keras {keras.__version__})")
