#!/usr/bin/env python3
"""Times pandas reading a CSV table, the reference for `neurite train --csv`'s reading time in
BENCHMARKS.md: `pandas.read_csv` (its C parser) into float32 features, then the same split
and standardisation neurite does (a seeded 20% test part, mean and deviation of the training
part). Prints each run's seconds and the median. With `--torch-epoch`, then times one epoch
of PyTorch on the training part with the network `neurite train --csv` builds by default
(Linear 50, ReLU, Linear; Adam 0.001; batch 32, shuffled; two threads), the epoch that
reading is weighed against.

    python3 scripts/read_csv_vs_pandas.py /tmp/big.csv label [RUNS] [--torch-epoch]
"""
import statistics
import sys
import time

import numpy as np
import pandas as pd

args = [a for a in sys.argv[1:] if a != "--torch-epoch"]
path, target = args[0], args[1]
runs = int(args[2]) if len(args) > 2 else 5
read_times, total_times = [], []
for _ in range(runs):
    start = time.perf_counter()
    frame = pd.read_csv(path)
    read = time.perf_counter() - start
    y = frame.pop(target).to_numpy()
    x = frame.to_numpy(dtype=np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    test = np.sort(order[: int(len(x) * 0.2)])
    train = np.ones(len(x), dtype=bool)
    train[test] = False
    mean = x[train].mean(axis=0, dtype=np.float64)
    scale = x[train].std(axis=0, dtype=np.float64)
    scale[scale < 1e-12] = 1.0
    x_train = ((x[train] - mean) / scale).astype(np.float32)
    x_test = ((x[test] - mean) / scale).astype(np.float32)
    total = time.perf_counter() - start
    read_times.append(read)
    total_times.append(total)
    print(f"read_csv {read:.3f} s, with split and standardisation {total:.3f} s ({len(x_train)} + {len(x_test)} rows, y {y.dtype})")
print(f"median: read_csv {statistics.median(read_times):.3f} s, with split and standardisation {statistics.median(total_times):.3f} s")

if "--torch-epoch" in sys.argv:
    import torch_mlp

    classes, labels = np.unique(y, return_inverse=True)
    torch_mlp.train(
        x_train,
        labels[train],
        len(classes),
        hidden=50,
        epochs=2,
        lr=0.001,
        batch=32,
        seed=0,
        threads=2,
        on_epoch=lambda epoch, seconds, loss: print(
            f"PyTorch epoch {epoch + 1}: {seconds:.2f} s ({len(x_train)} rows, loss {loss:.4f})"
        ),
    )
