#!/usr/bin/env python3
"""Writes a large CSV table for timing `neurite train --csv` (BENCHMARKS.md): ROWS rows of 50
numeric features (six significant digits, as a spreadsheet exports them) and a `label` column
of three class names, seeded, about 100 MB for the default 240,000 rows.

    python3 scripts/make_big_csv.py /tmp/big.csv [ROWS]
"""
import random
import sys

path = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 240_000
rng = random.Random(0)
with open(path, "w") as f:
    f.write(",".join(f"f{i}" for i in range(50)) + ",label\n")
    for r in range(rows):
        c = rng.randrange(3)
        values = [rng.gauss(c if i < 5 else 0.0, 1.0) * 1000.0 for i in range(50)]
        f.write(",".join("%.6g" % v for v in values) + "," + ("red", "green", "blue")[c] + "\n")
