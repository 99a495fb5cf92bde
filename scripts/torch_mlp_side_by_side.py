"""python/examples/torch_mnist_mlp.py on neurite.torch and, with its three import lines
swapped back, on PyTorch: alternately, ROUNDS times each, printing each run's fit time and
test accuracy and the ratio of the medians. Both run with the same threads (torch's
get_num_threads; neurite's autograd runs each operation on the calling thread).

Usage: python scripts/torch_mlp_side_by_side.py MNIST_DIR [ROUNDS]
  (PyTorch must be importable by the same python.)
"""

import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "python" / "examples" / "torch_mnist_mlp.py"
SWAPS = [
    ("import neurite.torch as torch", "import torch"),
    ("from neurite.torch import nn, optim", "from torch import nn, optim"),
    ("from neurite.torch.utils.data import DataLoader, TensorDataset", "from torch.utils.data import DataLoader, TensorDataset"),
]


def main():
    data = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    source = EXAMPLE.read_text(encoding="utf-8")
    lines = source.split("\n")
    for ours, theirs in SWAPS:
        assert lines.count(ours) == 1, ours
        lines[lines.index(ours)] = theirs
    original = "\n".join(lines)
    assert "neurite" not in original.split("import numpy as np", 1)[1], "the PyTorch program must not use neurite"
    work = pathlib.Path(tempfile.mkdtemp())
    (work / "torch_program.py").write_text(original, encoding="utf-8")
    runs = {"neurite.torch": [], "pytorch": []}
    for r in range(rounds):
        for name, program in (("neurite.torch", EXAMPLE), ("pytorch", work / "torch_program.py")):
            out = subprocess.run([sys.executable, str(program), data, str(work)], capture_output=True, text=True, check=True)
            result = re.search(r"^RESULT .*$", out.stdout, re.M).group(0)
            fit = float(re.search(r"fit_seconds=([0-9.]+)", result).group(1))
            runs[name].append(fit)
            print(f"round {r + 1} {name}: {result}", flush=True)
    ours, theirs = statistics.median(runs["neurite.torch"]), statistics.median(runs["pytorch"])
    print(f"median fit: neurite.torch {ours:.2f} s, PyTorch {theirs:.2f} s: {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
