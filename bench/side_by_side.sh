#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one run: neurite against PyTorch, candle and Keras on the
# same machine, each comparison alternating the two programs (bench/compare.py).
#
# Usage: bench/side_by_side.sh [DATA_DIR] [RUNS]
# Environment:
#   PYTHON      a Python with torch and tensorflow/keras installed (default: python3)
#   REFERENCE   the folder with torch_seed_mnist.py and keras_seed_mnist.py
#               (default: ../shared/reference)
#   CANDLE_MLP  the built candle_mlp binary (its comparison is skipped when unset)
# Builds neurite in release mode first. Takes about 17 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/mnist}
RUNS=${2:-5}
PY=${PYTHON:-python3}
REF=${REFERENCE:-../shared/reference}
cargo build --release --quiet
N=target/release/neurite
SEED="$N train --data $DATA --seed 1"
WIDE="$N train --data $DATA --hidden 1024,1024 --activation relu --batch-size 256 --epochs 1 --seed 1"
few=$(( RUNS > 3 ? 3 : RUNS ))

echo "== date: $(date -u)"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(grep -o -w 'avx512f\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "== seed vs PyTorch, 1 thread"
python3 bench/compare.py "$RUNS" "$SEED" "env OMP_NUM_THREADS=1 $PY $REF/torch_seed_mnist.py $DATA 10"
if [ -n "${CANDLE_MLP:-}" ]; then
  echo "== seed vs candle"
  python3 bench/compare.py "$RUNS" "$SEED" "$CANDLE_MLP $DATA 10"
fi
echo "== seed vs PyTorch, 2 threads"
python3 bench/compare.py "$few" "$SEED" "$PY $REF/torch_seed_mnist.py $DATA 10"
echo "== wide vs PyTorch, 2 threads"
python3 bench/compare.py "$few" "$WIDE" "env ACT=relu $PY $REF/torch_seed_mnist.py $DATA 1 1024,1024 256"
echo "== inference over the 10,000 test images (neurite, then PyTorch model(x))"
for _ in $(seq "$few"); do
  $N bench --data "$DATA" --workloads inference | tail -1
  $PY bench/torch_inference.py "$DATA" 50 | tail -1
done
echo "== seed vs Keras"
python3 bench/compare.py "$few" "$SEED" "$PY $REF/keras_seed_mnist.py $DATA 10"
echo "== peak resident memory, seed workload (KiB)"
peers=("$SEED" "env OMP_NUM_THREADS=1 $PY $REF/torch_seed_mnist.py $DATA 10")
[ -n "${CANDLE_MLP:-}" ] && peers+=("$CANDLE_MLP $DATA 10")
for c in "${peers[@]}"; do
  /usr/bin/time -v $c 2>&1 | grep -E "Maximum resident" | sed "s|^|$c: |"
done
echo "== neurite bench"
$N bench --data "$DATA"
