#!/usr/bin/env bash
# The seed workload four ways, alternating A B C D (bench/compare.py): `neurite train`,
# `model.fit` from Python (bench/python_fit.py), PyTorch on one thread and Keras, the two
# reference scripts unchanged. BENCHMARKS.md's "From Python" section quotes its output.
#
# Usage: bench/python_vs_peers.sh [DATA_DIR] [RUNS]
# Environment:
#   NEURITE      the neurite binary (default: target/release/neurite, built if missing)
#   NT_PYTHON    a Python with the neurite package installed (default: python3)
#   TORCH_PYTHON a Python with torch (default: python3)
#   KERAS_PYTHON a Python with tensorflow-cpu (default: python3; KERAS_PYTHON=none skips Keras)
#   REFERENCE    the folder with torch_seed_mnist.py and keras_seed_mnist.py
#                (default: ../shared/reference)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/mnist}
RUNS=${2:-3}
REF=${REFERENCE:-../shared/reference}
N=${NEURITE:-target/release/neurite}
[ -x "$N" ] || cargo build --release --quiet
cmds=("$N train --data $DATA"
      "${NT_PYTHON:-python3} bench/python_fit.py --data $DATA"
      "env OMP_NUM_THREADS=1 ${TORCH_PYTHON:-python3} $REF/torch_seed_mnist.py $DATA 10")
[ "${KERAS_PYTHON:-python3}" = none ] || cmds+=("${KERAS_PYTHON:-python3} $REF/keras_seed_mnist.py $DATA 10")
echo "# $(date -u) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(grep -o -w 'avx512f\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/compare.py "$RUNS" "${cmds[@]}"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
