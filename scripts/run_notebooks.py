"""Executes the tutorials' notebooks (docs/tutorials/*.ipynb, or the ones named) with nbclient,
as CI does (.ci/run): each in a fresh kernel, from its own folder, with a per-cell timeout. Any
error in any cell fails the run. Prints one line per notebook with its time, then a total.

    target/ci-venv/bin/python scripts/run_notebooks.py [--timeout 120] [NOTEBOOK ...]

The notebooks read MNIST from $NEURITE_DATA; when it is unset this script sets it to
../shared/data/mnist beside the repository, and stops with a message when MNIST is in neither
place (the notebooks would otherwise try to download it). The notebooks are executed in memory:
the files on disk are not changed (pass --write to store the outputs in them).

A notebook whose metadata names modules of the package it needs (``"neurite": {"requires":
["neurite.torch"]}``) is skipped, with a line saying so, while a module's source is not in
this tree (python/neurite/torch.py or python/neurite/torch/); once it is, the notebook runs
and must pass.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = pathlib.Path(__file__).resolve().parent.parent
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def has_mnist(d):
    d = pathlib.Path(d)
    return all((d / f).exists() or (d / (f + ".gz")).exists() for f in FILES)


def mnist_dir():
    env = os.environ.get("NEURITE_DATA")
    if env:
        for d in (pathlib.Path(env), pathlib.Path(env) / "mnist"):
            if has_mnist(d):
                return d
        sys.exit(f"run_notebooks: NEURITE_DATA={env} holds no MNIST (the four IDX files {', '.join(FILES)}, .gz or not)")
    d = ROOT.parent / "shared" / "data" / "mnist"
    if has_mnist(d):
        return d
    sys.exit(f"run_notebooks: MNIST is missing: put its four IDX files in {d} or set NEURITE_DATA")


def missing_modules(nb):
    """The modules the notebook needs whose source is not in python/ (see the docstring)."""
    missing = []
    for module in nb.metadata.get("neurite", {}).get("requires", []):
        base = ROOT / "python" / pathlib.Path(*module.split("."))
        if not (base.with_suffix(".py").exists() or (base / "__init__.py").exists()):
            missing.append(module)
    return missing


def this_python_kernel(folder):
    """A kernel spec, ``neurite-tutorials``, that runs ipykernel in this very Python (the one
    with the extension just built), put first on JUPYTER_PATH: a ``python3`` spec elsewhere
    (~/.local/share/jupyter) could name another interpreter."""
    spec = pathlib.Path(folder) / "kernels" / "neurite-tutorials"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "neurite tutorials", "language": "python"}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [str(folder), os.environ.get("JUPYTER_PATH", "")] if p)
    return "neurite-tutorials"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    parser.add_argument("--timeout", type=int, default=120, help="seconds allowed to one cell (default 120)")
    parser.add_argument("--kernel", help="the Jupyter kernel to run them in (default: this Python's ipykernel)")
    parser.add_argument("--write", action="store_true", help="store the outputs in the notebook files")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))
    if not notebooks:
        sys.exit("run_notebooks: no notebooks found in docs/tutorials")
    os.environ["NEURITE_DATA"] = str(mnist_dir())
    specs = tempfile.TemporaryDirectory(prefix="neurite-kernel-")
    kernel = args.kernel or this_python_kernel(specs.name)

    failed, skipped, total = [], 0, 0.0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        missing = missing_modules(nb)
        if missing:
            skipped += 1
            print(f"{'skip':6s} {path.name:32s} needs {', '.join(missing)}, not in this tree yet", flush=True)
            continue
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name=kernel,
            resources={"metadata": {"path": str(path.resolve().parent)}},
        )
        start = time.perf_counter()
        try:
            client.execute()
            status = "ok"
        except (CellExecutionError, CellTimeoutError) as e:
            status = "FAILED"
            failed.append((path, e))
        seconds = time.perf_counter() - start
        total += seconds
        cells = sum(1 for c in nb.cells if c.cell_type == "code")
        pictures = sum(
            1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})
        )
        print(f"{status:6s} {path.name:32s} {seconds:6.1f} s  {cells:2d} code cells, {pictures:2d} pictures", flush=True)
        if args.write and status == "ok":
            nbformat.write(nb, path)
    ran = len(notebooks) - skipped
    print(f"{ran - len(failed)}/{ran} notebooks ran in {total:.1f} s" + (f", {skipped} skipped" if skipped else ""))
    for path, e in failed:
        print(f"\n== {path}\n{e}", file=sys.stderr)
    specs.cleanup()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
