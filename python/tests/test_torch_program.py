"""A PyTorch beginner's program (examples/torch_mnist_mlp.py: note 003's tensor basics, an
nn.Module MLP trained 3 epochs with DataLoader, CrossEntropyLoss and Adam, evaluated under
no_grad, saved, loaded, exported to ONNX) runs on neurite.torch with only its imports changed,
and reaches PyTorch's accuracy (0.97 for PyTorch 2.15 on these settings)."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "torch_mnist_mlp.py"


def test_pytorch_beginner_program_runs_with_its_imports_changed(mnist_dir, tmp_path):
    source = EXAMPLE.read_text(encoding="utf-8")
    code = source.split("\nimport gzip", 1)[1]
    torch_imports = [line for line in code.splitlines() if "torch" in line and "import" in line]
    assert torch_imports == [
        "import neurite.torch as torch",
        "from neurite.torch import nn, optim",
        "from neurite.torch.utils.data import DataLoader, TensorDataset",
    ]
    out = subprocess.run([sys.executable, str(EXAMPLE), str(mnist_dir), str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    assert "tensor([[ 0,  1,  2,  3],\n        [ 4,  5,  6,  7],\n        [ 8,  9, 10, 11]])" in out.stdout
    assert "tensor([4., 6.])" in out.stdout  # the gradient of sum(a * a) at a = (2, 3)
    assert "(fc1): Linear(in_features=784, out_features=128, bias=True)" in out.stdout
    assert len(re.findall(r"^epoch \d: loss", out.stdout, re.M)) == 3
    accuracy = float(re.search(r"^test accuracy ([0-9.]+)", out.stdout, re.M).group(1))
    assert accuracy >= 0.96, out.stdout
    assert "restored model agrees: True" in out.stdout

    # The exported file runs in ONNX Runtime and gives the model's outputs, at any batch size.
    ort = pytest.importorskip("onnxruntime")
    import neurite.torch as torch
    from neurite.torch import nn

    session = ort.InferenceSession(str(tmp_path / "mlp.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(0, 1, size=(5, 784)).astype(np.float32)
    (got,) = session.run(None, {"input": x})
    state = torch.load(tmp_path / "mlp.pt")
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    model.load_state_dict({k.replace("fc1", "0").replace("fc2", "2"): v for k, v in state.items()})
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert got.shape == (5, 10)
    # Logits reach about 20: compared relative to the largest, as the sums' order differs.
    assert np.abs(got - want).max() / max(1.0, np.abs(want).max()) < 1e-5


def test_pytorch_examples_idioms_run_with_their_imports_changed(mnist_dir, tmp_path):
    """The idioms of PyTorch's own examples/mnist (nll_loss, SGD momentum, StepLR, .to(device),
    pred.eq(target.view_as(pred)), torch.max(x.data, 1), export with dynamic_axes), 1 epoch."""
    source = (EXAMPLE.parent / "torch_mnist_examples_style.py").read_text(encoding="utf-8")
    assert source.count("for epoch in range(1, 3):") == 1
    one = tmp_path / "one_epoch.py"
    one.write_text(source.replace("for epoch in range(1, 3):", "for epoch in range(1, 2):"), encoding="utf-8")
    out = subprocess.run([sys.executable, str(one), str(mnist_dir), str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    correct = int(re.search(r"Accuracy: (\d+)/10000", out.stdout).group(1))
    assert correct >= 9500, out.stdout  # PyTorch 2.15: 9610 after this epoch
    assert "0.006999999999999999 [0.006999999999999999]" in out.stdout  # StepLR's lr, as PyTorch prints it
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(tmp_path / "mnist.onnx"), providers=["CPUExecutionProvider"])
    (log_probs,) = session.run(None, {"input": np.zeros((3, 1, 28, 28), dtype=np.float32)})
    assert log_probs.shape == (3, 10) and np.allclose(np.exp(log_probs).sum(1), 1, atol=1e-5)
