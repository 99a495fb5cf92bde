#!/usr/bin/env python3
"""Runs two or more training commands in turn (A B C A B C ...) and compares the medians of
the `fit_seconds=` and `test_accuracy=` each prints on its last line (neurite's and the
reference scripts' RESULT lines both do). Alternating keeps slow drifts of a shared machine
from favouring any side.

Usage: bench/compare.py RUNS 'COMMAND A' 'COMMAND B' ['COMMAND C' ...]
Prints each run, each command's medians, and each command's median fit seconds over A's.
"""
import re, shlex, statistics, string, subprocess, sys, time

def run(cmd):
    t = time.time()
    out = subprocess.run(shlex.split(cmd), capture_output=True, text=True)
    wall = time.time() - t
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {cmd}\n{out.stderr[-2000:]}")
    text = out.stdout + out.stderr
    fit = float(re.findall(r"fit_seconds=([0-9.]+)", text)[-1])
    acc = re.findall(r"test_accuracy=([0-9.]+)", text)
    return fit, (float(acc[-1]) if acc else float("nan")), wall

def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runs, cmds = int(sys.argv[1]), sys.argv[2:]
    names = string.ascii_uppercase[:len(cmds)]
    res = {c: [] for c in cmds}
    for i in range(runs):
        for name, cmd in zip(names, cmds):
            res[cmd].append(run(cmd))
            fit, acc, wall = res[cmd][-1]
            print(f"run {i + 1} {name}: fit {fit:.3f}s acc {acc:.4f} wall {wall:.2f}s", flush=True)
    med = {c: [statistics.median(x[k] for x in res[c]) for k in range(3)] for c in cmds}
    for name, c in zip(names, cmds):
        fit, acc, wall = med[c]
        print(f"{name} median: fit {fit:.3f}s  test_accuracy {acc:.4f}  wall {wall:.2f}s  ({c})")
    a = med[cmds[0]]
    for name, c in zip(names[1:], cmds[1:]):
        print(
            f"ratio {name}/A of median fit seconds: {med[c][0] / a[0]:.2f}, A/{name}: {a[0] / med[c][0]:.2f}"
            f"  (whole process: {med[c][2] / a[2]:.2f}, {a[2] / med[c][2]:.2f})"
        )

if __name__ == "__main__":
    main()
