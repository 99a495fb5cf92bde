#!/usr/bin/env python3
"""Runs two training commands alternately (A B A B ...) and compares the medians of the
`fit_seconds=` and `test_accuracy=` each prints on its last line (neurite's and the reference
scripts' RESULT lines both do). Alternating keeps slow drifts of a shared machine from
favouring either side.

Usage: bench/compare.py RUNS 'COMMAND A' 'COMMAND B'
"""
import re, shlex, statistics, subprocess, sys, time

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
    runs, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    res = {a: [], b: []}
    for i in range(runs):
        for cmd in (a, b):
            res[cmd].append(run(cmd))
            fit, acc, wall = res[cmd][-1]
            print(f"run {i + 1} {'A' if cmd == a else 'B'}: fit {fit:.3f}s acc {acc:.4f} wall {wall:.2f}s", flush=True)
    med = {c: [statistics.median(x[k] for x in res[c]) for k in range(3)] for c in res}
    for name, c in (("A", a), ("B", b)):
        fit, acc, wall = med[c]
        print(f"{name} median: fit {fit:.3f}s  test_accuracy {acc:.4f}  wall {wall:.2f}s  ({c})")
    print(f"ratio B/A of median fit seconds: {med[b][0] / med[a][0]:.2f}  (whole process: {med[b][2] / med[a][2]:.2f})")

if __name__ == "__main__":
    main()
