"""Shared fixtures: where MNIST is (the repository's convention: ../shared/data/mnist beside
the clone, or $NEURITE_DATA) and the neurite command, as cargo builds it for this run."""

import importlib.machinery
import json
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _ci():
    """Whether this is CI, where a test that cannot run fails instead of skipping: NEURITE_CI
    set to anything but "" or "0" (NEURITE_CI=true and NEURITE_CI=yes count, as any value
    does for the Rust build scripts)."""
    return os.environ.get("NEURITE_CI", "") not in ("", "0")


def pytest_sessionstart(session):
    """Refuses to test a stale extension: a checkout that ran `maturin develop` before the
    extension was built for the stable ABI still holds `_neurite.cpython-3XX-....so` beside the
    new `_neurite.abi3.so`, and Python imports its own version's name first, so the tests
    would run the old build. One `_neurite` extension per package directory, or a usage error
    naming the others."""
    try:
        import neurite._neurite as extension
    except ImportError:
        return  # the tests' own imports report it
    loaded = pathlib.Path(extension.__file__).resolve()
    others = sorted(
        p.name
        for p in loaded.parent.glob("_neurite.*")
        if p.resolve() != loaded and any(p.name.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)
    )
    if others:
        raise pytest.UsageError(
            f"{loaded.parent} holds more than one build of the extension: {loaded.name} (the one Python "
            f"imports) and {', '.join(others)}. Delete the stale one (an interpreter-specific name left by "
            f"a maturin develop from before the abi3 build) and rebuild."
        )


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
        if _ci():
            pytest.fail("NEURITE_CI is set but MNIST is missing: put it in ../shared/data/mnist or $NEURITE_DATA")
        pytest.skip("MNIST is not in ../shared/data/mnist or $NEURITE_DATA")
    return d


def _cargo_built_cli():
    """The `neurite` executable cargo reports for this checkout, built now if it is stale
    (cargo does nothing when it is fresh), or (None, why)."""
    cargo = shutil.which("cargo")
    if cargo is None:
        return None, "cargo is not on PATH"
    out = subprocess.run(
        [cargo, "build", "-p", "neurite-cli", "--bin", "neurite", "--message-format=json-render-diagnostics"],
        cwd=ROOT, capture_output=True, text=True,
    )
    if out.returncode != 0:
        return None, f"cargo build -p neurite-cli failed:\n{out.stderr[-4000:]}"
    for line in out.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("reason") == "compiler-artifact" and message.get("target", {}).get("name") == "neurite" \
                and message.get("executable"):
            return pathlib.Path(message["executable"]), None
    return None, "cargo build -p neurite-cli reported no neurite executable"


@pytest.fixture(scope="session")
def neurite_cli():
    """The `neurite` command: $NEURITE_CLI when set (a binary chosen on purpose), else the one
    cargo builds for this checkout now, never whichever target/*/neurite happens to be there
    (it may be stale, or another profile's). Skipped without cargo, failed under CI."""
    explicit = os.environ.get("NEURITE_CLI")
    if explicit:
        if not pathlib.Path(explicit).is_file():
            pytest.fail(f"NEURITE_CLI={explicit} is not a file")
        return pathlib.Path(explicit)
    path, why = _cargo_built_cli()
    if path is not None:
        return path
    if _ci():
        pytest.fail(f"NEURITE_CI is set but the neurite command cannot be built: {why}")
    pytest.skip(f"the neurite command cannot be built: {why}")
