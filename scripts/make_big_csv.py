#!/usr/bin/env python3
"""Writes a large CSV table for timing `neurite train --csv` (BENCHMARKS.md).

    python3 scripts/make_big_csv.py /tmp/big.csv [ROWS]
        ROWS rows of 50 numeric features (six significant digits, as a spreadsheet exports
        them) and a `label` column of three class names, seeded, about 100 MB for the
        default 240,000 rows.

    python3 scripts/make_big_csv.py --mnist /tmp/mnist_train.csv [MNIST_DIR]
        MNIST's 60,000 training pictures as the well-known CSV (a `label` column, then the
        784 grey levels 0..255 as `1x1` .. `28x28`): 109.6 MB, from the IDX files in
        MNIST_DIR or its `mnist` folder (default: $NEURITE_DATA, else ../shared/data/mnist).
"""
import gzip
import os
import random
import sys


def mnist(path, directory):
    # The files themselves or an `mnist` folder, as neurite looks for them.
    if not os.path.exists(os.path.join(directory, "train-images-idx3-ubyte.gz")):
        directory = os.path.join(directory, "mnist")

    def read(name, skip):
        with gzip.open(os.path.join(directory, name)) as f:
            return f.read()[skip:]

    images = read("train-images-idx3-ubyte.gz", 16)
    labels = read("train-labels-idx1-ubyte.gz", 8)
    with open(path, "w") as f:
        f.write("label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)) + "\n")
        for i, label in enumerate(labels):
            f.write(str(label) + "," + ",".join(map(str, images[i * 784 : (i + 1) * 784])) + "\n")


def synthetic(path, rows):
    rng = random.Random(0)
    with open(path, "w") as f:
        f.write(",".join(f"f{i}" for i in range(50)) + ",label\n")
        for _ in range(rows):
            c = rng.randrange(3)
            values = [rng.gauss(c if i < 5 else 0.0, 1.0) * 1000.0 for i in range(50)]
            f.write(",".join("%.6g" % v for v in values) + "," + ("red", "green", "blue")[c] + "\n")


if sys.argv[1] == "--mnist":
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.environ.get("NEURITE_DATA") or os.path.join(here, "..", "..", "shared", "data", "mnist")
    mnist(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else default)
else:
    synthetic(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 240_000)
