"""Guards the ONNX export of convolutional networks (issue 27, point 6): neurite's convnets
as neurite exports them (`tests/fixtures/conv_interop/neurite_*.onnx`, written by
`NEURITE_CONV_EXPORT=DIR cargo test --test conv_interop`, which also checks that the same
seeds still give the same outputs) run in ONNX Runtime must give neurite's outputs within
1e-5. The graph's input stays neurite's (N, H, W, C); the channel order is handled inside
(Transpose to NCHW, and back before a Flatten), which only an independent runtime can check.
Runs in CI, which installs onnxruntime; elsewhere it is skipped without it."""

import os

import numpy as np
import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "conv_interop")
# Three convnets: 12x10x1 (valid and same 3x3 convolutions, max and average pooling, Flatten,
# Dense softmax); 9x9x3 (stride-2 same convolution, same-padded max and average pooling with
# stride 1, a 2x3 kernel, global average pooling); 9x9x3 (strides 2x1, Elu, two Dense).
NETS = ["a", "b", "c"]
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


@pytest.mark.parametrize("net", NETS)
def test_onnx_runtime_computes_what_neurite_computes(ort, net):
    path = os.path.join(FIXTURES, f"neurite_{net}.onnx")
    x = np.load(os.path.join(FIXTURES, f"neurite_{net}.input.npy"))
    ours = np.load(os.path.join(FIXTURES, f"neurite_{net}.output.npy"))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    # Channels last, as neurite takes images, with a free batch dimension.
    assert list(inp.shape[1:]) == list(x.shape[1:])
    theirs = session.run(None, {inp.name: x})[0]
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours, rtol=TOLERANCE, atol=TOLERANCE, err_msg=net)
    # Any batch size.
    one = session.run(None, {inp.name: x[:1]})[0]
    np.testing.assert_allclose(one, ours[:1], rtol=TOLERANCE, atol=TOLERANCE)
