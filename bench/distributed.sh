#!/usr/bin/env bash
# Data-parallel training on this machine: the training rate (examples/s) of
# cnn, resnet and gpt on 1 process and on 2 ranks under mpirun (one thread
# each, the per-rank batch the model's own, so 2 ranks train a global batch
# twice as large), the time per step a rank waits for the gradients'
# all-reduce after its backward pass, summing after the pass (--bucket-mb=0)
# and in 1 MiB buckets while it runs (the default), and
# MPI_Allreduce's time per buffer size (bench/allreduce.c). docs/distributed.md
# turns these into predictions for larger clusters.
# Usage: bench/distributed.sh [models...] (default: cnn resnet gpt); BUILD
# overrides the build folder, STEPS the steps timed per run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
STEPS="${STEPS:-60}"
MODELS="${*:-cnn resnet gpt}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none
        --mca btl self,vader --mca btl_vader_single_copy_mechanism none)

echo "MPI_Allreduce, 2 ranks on this machine:"
mpicc -O2 "$ROOT/bench/allreduce.c" -o "$WORK/allreduce"
"${MPIRUN[@]}" -np 2 "$WORK/allreduce"
echo
printf "%-8s %6s %9s %14s %14s %10s %14s\n" model ranks bucket "global batch" \
  "examples/s" "step ms" "waited ms"
for model in $MODELS; do
  "$BUILD/bin/kilnc" --model="$model" --emit=exe -o "$WORK/$model"
  # One process; two ranks summing after the backward pass (--bucket-mb=0);
  # two ranks summing 1 MiB buckets while it runs (the default).
  for setting in "1 -" "2 0" "2 1"; do
    read -r ranks bucket <<< "$setting"
    if [ "$ranks" = 1 ]; then
      run=("$WORK/$model")
      flags=()
    else
      run=("${MPIRUN[@]}" -np 2 "$WORK/$model")
      flags=(--bucket-mb="$bucket")
    fi
    "${run[@]}" train --epochs 1 --steps-per-epoch "$STEPS" --threads 1 \
      --seed 1 "${flags[@]}" 2> "$WORK/log" || { cat "$WORK/log"; exit 1; }
    batch=$("$BUILD/bin/kilnc" --list-models | awk -v m="$model" '$1 == m {print $3}')
    python3 - "$model" "$ranks" "$bucket" "$batch" "$WORK/log" <<'PY'
import re, sys
model, ranks, bucket, batch, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), open(sys.argv[5]).read()
rate = float(re.search(r"steps in [0-9:]+ \(([0-9.]+) examples/s\)", log).group(1))
waited = re.search(r"after the backward pass: ([0-9.]+) ms per step", log)
global_batch = batch * ranks
print("%-8s %6d %9s %14d %14.0f %10.2f %14s" % (
    model, ranks, bucket if ranks > 1 else "-", global_batch, rate,
    global_batch / rate * 1e3, "%.3f" % float(waited.group(1)) if waited else "-"))
PY
  done
done
