"""Guards the ONNX export's operators and their attributes: a model exported by the Python
package must compute in ONNX Runtime what ``model.predict`` computes, for every activation,
with its parameter at a value other than ONNX's default (LeakyRelu's alpha 0.2, not 0.01; Elu's
alpha 0.5, not 1), with and without bias (Gemm or MatMul).

Round trips through neurite's own ONNX reader cannot catch an attribute the exporter leaves
out: the reader falls back to ONNX's default just as ONNX Runtime does, and at the default
value nothing differs. Hence an independent runtime, and parameters away from the defaults.
Runs in CI, which installs onnxruntime; elsewhere it is skipped without it."""

import os

import numpy as np
import pytest

import neurite as nt
from neurite import layers

# Every activation the library has, by the names Dense takes (the Rust FromStr of Activation),
# with the parameterised ones also at non-default values.
ACTIVATIONS = [
    "linear",
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "leaky_relu(0.2)",
    "elu",
    "elu(0.5)",
    "softplus",
    "softmax",
]

# float32 arithmetic in two implementations (neurite's kernels and ONNX Runtime's) on values of
# a few units: a few ulp apart. An attribute lost moves outputs by 1e-2 or more.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def ort():
    try:
        import onnxruntime
    except ImportError:
        if os.environ.get("NEURITE_CI", "") not in ("", "0"):
            pytest.fail("NEURITE_CI is set but onnxruntime is not installed")
        pytest.skip("onnxruntime is not installed")
    return onnxruntime


def _model(activation, use_bias, rng):
    """Two Dense layers with the activation under test, weights and biases drawn so that the
    pre-activations reach well into both signs (where LeakyRelu's and Elu's alpha act)."""
    model = nt.Sequential(
        [
            nt.Input(shape=(5,)),
            layers.Dense(7, activation=activation, use_bias=use_bias),
            layers.Dense(4, activation=activation, use_bias=use_bias),
        ]
    )
    model.set_weights([rng.normal(0.0, 1.0, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnx_runtime_computes_what_predict_computes(ort, tmp_path, activation, use_bias):
    rng = np.random.default_rng(2 * ACTIVATIONS.index(activation) + use_bias)
    model = _model(activation, use_bias, rng)
    assert len(model.get_weights()) == (4 if use_bias else 2)
    x = rng.normal(0.0, 2.0, (32, 5)).astype(np.float32)
    path = tmp_path / "model.onnx"
    model.export(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {session.get_inputs()[0].name: x})[0]
    ours = model.predict(x, verbose=0)
    assert theirs.shape == ours.shape == (32, 4)
    np.testing.assert_allclose(theirs, ours, rtol=TOLERANCE, atol=TOLERANCE, err_msg=f"{activation}, use_bias={use_bias}")


def test_the_non_default_parameters_matter_here():
    """The inputs reach the negative side: at alpha 0.2 and at the default 0.01 the model's
    outputs differ by far more than the tolerance, so a lost alpha cannot pass unseen."""
    outs = []
    for activation in ["leaky_relu(0.2)", "leaky_relu"]:
        model = _model(activation, True, np.random.default_rng(7))
        outs.append(model.predict(np.random.default_rng(8).normal(0.0, 2.0, (32, 5)).astype(np.float32), verbose=0))
    assert np.abs(outs[0] - outs[1]).max() > 100 * TOLERANCE


def test_every_activation_of_the_library_is_exported_here():
    """A new activation joins ACTIVATIONS above, so that its export is run too."""
    from neurite import activations

    assert {a.split("(")[0] for a in ACTIVATIONS} == activations._NAMES
