#!/usr/bin/env python3
"""The seed workload through the Python package, timed around `model.fit` alone (every
Python-side cost included: argument checks, reading the arrays, the thread that trains with
the GIL released, the progress lines), printed as `fit_seconds=... test_accuracy=...` like
`neurite train` prints it, for bench/compare.py.

Usage: bench/python_fit.py --data DIR [--float64] [--epochs N]
  --float64  feeds the notes' `x / 255.0` (float64, converted to float32 inside fit) instead
             of a float32 array (read in place).
"""
import argparse
import time

import numpy as np

import neurite as nt

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--float64", action="store_true")
args = p.parse_args()

(x, y), (xt, yt) = nt.datasets.mnist.load_data(path=args.data)
if args.float64:
    x, xt = x.reshape(-1, 784) / 255.0, xt.reshape(-1, 784) / 255.0
else:
    x = x.reshape(-1, 784).astype(np.float32) / np.float32(255)
    xt = xt.reshape(-1, 784).astype(np.float32) / np.float32(255)
model = nt.Sequential([nt.layers.Dense(50, activation="sigmoid", input_shape=(784,)), nt.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
start = time.perf_counter()
model.fit(x, y, epochs=args.epochs, batch_size=32, verbose=2)
fit = time.perf_counter() - start
loss, accuracy = model.evaluate(xt, yt, verbose=0)
print(f"fit_seconds={fit:.3f} threads={model.threads} test_loss={loss:.4f} test_accuracy={accuracy:.4f}")
