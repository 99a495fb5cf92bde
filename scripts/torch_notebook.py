"""Runs a tutorial notebook written for ``import neurite.torch as torch`` in PyTorch itself:
its code cells, in order, with that import changed to ``import torch``, in one namespace.
A check that the notebook is plain PyTorch code (its assertions hold there too), for any
Python with torch installed; it needs neither Jupyter nor neurite.

    python scripts/torch_notebook.py docs/tutorials/01_tensors_autograd.ipynb
"""

import json
import sys


def main(path):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    source = "\n\n".join(cells)
    if "import neurite.torch as torch" not in source:
        sys.exit(f"{path}: no 'import neurite.torch as torch' to change")
    source = source.replace("import neurite.torch as torch", "import torch", 1)
    exec(compile(source, f"{path} (with import torch)", "exec"), {"__name__": "__main__"})
    import torch

    print(f"{path}: {len(cells)} code cells ran in PyTorch {torch.__version__}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
