#!/usr/bin/env python3
"""neurite, scikit-learn's MLPClassifier and a PyTorch loop on the same CSV and the same split.

For each seed the table is split once (stratified, scikit-learn's train_test_split) into a
training and a test CSV; `neurite train --csv TRAIN --test-csv TEST` trains on them, and
scikit-learn (StandardScaler + MLPClassifier) and PyTorch (the same standardisation, a
Linear-ReLU-Linear network, Adam, cross-entropy) train the same architecture with the same
optimiser, learning rate, batch size and number of epochs. Prints each one's test accuracy
per seed and their means.

    pip install scikit-learn torch   # torch is optional: left out when missing
    cargo build --release
    python3 scripts/csv_vs_sklearn.py assets/tables/iris.csv species
    python3 scripts/csv_vs_sklearn.py assets/tables/wine.csv cultivar

`--write-tables` writes assets/tables/iris.csv and wine.csv from scikit-learn's copies.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def write_tables(root):
    from sklearn.datasets import load_iris, load_wine

    for name, loader, target in [("iris", load_iris, "species"), ("wine", load_wine, "cultivar")]:
        d = loader()
        cols = [c.replace(" (cm)", "_cm").replace(" ", "_").replace("/", "_") for c in d.feature_names]
        with open(os.path.join(root, "assets", "tables", f"{name}.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols + [target])
            for x, y in zip(d.data, d.target):
                w.writerow(["%g" % v for v in x] + [d.target_names[y]])


def read(path, target):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    t = header.index(target)
    x = np.array([[float(v) for i, v in enumerate(r) if i != t] for r in rows], dtype=np.float64)
    y = np.array([r[t] for r in rows])
    return header, rows, x, y


def torch_accuracy(xtr, ytr, xte, yte, hidden, epochs, lr, batch, seed):
    try:
        import torch  # noqa: F401 (optional: the comparison leaves PyTorch out without it)
    except ImportError:
        return None
    import torch_mlp

    mean, std = xtr.mean(0), xtr.std(0)
    std[std == 0] = 1
    classes = sorted(set(ytr))
    net = torch_mlp.train(
        (xtr - mean) / std, [classes.index(v) for v in ytr], len(classes), hidden, epochs, lr, batch, seed
    )
    return torch_mlp.accuracy(net, (xte - mean) / std, [classes.index(v) if v in classes else -1 for v in yte])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="?")
    p.add_argument("target", nargs="?")
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--neurite", default=os.path.join(root, "target", "release", "neurite"))
    p.add_argument("--write-tables", action="store_true")
    a = p.parse_args()
    if a.write_tables:
        write_tables(root)
        return
    if not a.csv or not a.target:
        p.error("give CSV and TARGET")
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import warnings
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    header, rows, x, y = read(a.csv, a.target)
    results = {"neurite": [], "scikit-learn": [], "pytorch": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.seeds):
            idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=a.test_size, random_state=seed, stratify=y)
            train, test = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
            for path, idx in [(train, idx_tr), (test, idx_te)]:
                with open(path, "w", newline="") as f:
                    w = csv.writer(f, lineterminator="\n")
                    w.writerow(header)
                    w.writerows(rows[i] for i in idx)
            cmd = [a.neurite, "train", "--csv", train, "--test-csv", test, "--target", a.target,
                   "--hidden", str(a.hidden), "--activation", "relu", "--epochs", str(a.epochs),
                   "--batch-size", str(a.batch_size), "--lr", str(a.lr), "--seed", str(seed), "--json"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results["neurite"].append(json.loads(out)["test_accuracy"])
            mlp = MLPClassifier(hidden_layer_sizes=(a.hidden,), activation="relu", solver="adam",
                                learning_rate_init=a.lr, batch_size=a.batch_size, max_iter=a.epochs,
                                n_iter_no_change=a.epochs + 1, tol=0.0, random_state=seed)
            model = make_pipeline(StandardScaler(), mlp).fit(x[idx_tr], y[idx_tr])
            results["scikit-learn"].append(model.score(x[idx_te], y[idx_te]))
            t = torch_accuracy(x[idx_tr], y[idx_tr], x[idx_te], y[idx_te], a.hidden, a.epochs, a.lr, a.batch_size, seed)
            if t is not None:
                results["pytorch"].append(t)
    print(f"{a.csv}: {len(y)} rows, test part {a.test_size} (stratified), {a.hidden} relu hidden units, "
          f"Adam lr {a.lr}, batch {a.batch_size}, {a.epochs} epochs, seeds 0..{a.seeds - 1}")
    print("example command: " + " ".join(["neurite"] + cmd[1:]).replace(tmp, "$SPLIT"))
    for name, accs in results.items():
        if accs:
            per = " ".join(f"{v:.4f}" for v in accs)
            print(f"{name:>13}: mean test accuracy {np.mean(accs):.4f}  (per seed: {per})")


if __name__ == "__main__":
    sys.exit(main())
