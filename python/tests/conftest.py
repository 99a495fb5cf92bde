"""Shared fixtures: where MNIST is (the repository's convention: ../shared/data/mnist beside
the clone, or $NEURITE_DATA) and the neurite command built by `cargo test`, when present."""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _mnist_dir():
    for d in [os.environ.get("NEURITE_DATA"), ROOT.parent / "shared" / "data" / "mnist"]:
        if d and (pathlib.Path(d) / "train-images-idx3-ubyte.gz").exists() or d and (pathlib.Path(d) / "train-images-idx3-ubyte").exists():
            return pathlib.Path(d)
    return None


@pytest.fixture
def mnist_dir():
    """The MNIST directory; the test is skipped without it, and fails under NEURITE_CI=1."""
    d = _mnist_dir()
    if d is None:
        if os.environ.get("NEURITE_CI") == "1":
            pytest.fail("NEURITE_CI=1 but MNIST is missing: put it in ../shared/data/mnist or $NEURITE_DATA")
        pytest.skip("MNIST is not in ../shared/data/mnist or $NEURITE_DATA")
    return d


@pytest.fixture
def neurite_cli():
    """The `neurite` command built by cargo (debug or release), or skip."""
    for p in [os.environ.get("NEURITE_CLI"), ROOT / "target" / "debug" / "neurite", ROOT / "target" / "release" / "neurite"]:
        if p and pathlib.Path(p).exists():
            return pathlib.Path(p)
    if os.environ.get("NEURITE_CI") == "1":
        pytest.fail("NEURITE_CI=1 but the neurite command is not built (cargo test builds it)")
    pytest.skip("the neurite command is not built (cargo build -p neurite-cli)")
