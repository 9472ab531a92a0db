#!/usr/bin/env bash
# Training throughput of Kiln's executables beside PyTorch (Debian's
# python3-torch, eager) on the same models, batches and optimizer, one and
# two threads, in one run. Kiln's rate is the trainer's own examples/s over
# an epoch of synthetic data (data batching included; the text models gpt
# and bert read the fortunes corpus); PyTorch's is timed over steps on one
# random batch (no data loading).
# Usage: bench/train.sh [steps]; BUILD overrides the build folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
STEPS="${1:-100}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j1 kilnc >/dev/null

printf '%-8s %-7s %10s %10s %7s\n' model threads "Kiln ex/s" "torch ex/s" ratio
for model in mlp cnn resnet vit gpt bert; do
  batch="$("$BUILD/bin/kilnc" --list-models |
    awk -v m="$model" '$1 == m { print $3 }')"
  "$BUILD/bin/kilnc" --model="$model" --emit=exe -o "$WORK/$model"
  for threads in 1 2; do
    # The last progress line of the epoch: "... loss L R ex/s ETA ...".
    kiln="$("$WORK/$model" train --data synthetic --epochs 1 \
      --steps-per-epoch "$STEPS" --seed 1 --threads "$threads" 2>&1 |
      awk '/ ex\/s/ { for (i = 2; i <= NF; ++i) if ($i == "ex/s") rate = $(i - 1) }
           END { print rate }')"
    torch="$(/usr/bin/python3 "$ROOT/bench/torch_train.py" --model "$model" \
      --batch "$batch" --threads "$threads" --steps "$STEPS" |
      awk '{ print $3 }')"
    printf '%-8s %-7s %10s %10s %7.2f\n' "$model" "$threads" "$kiln" \
      "$torch" "$(awk -v k="$kiln" -v t="$torch" 'BEGIN { print k / t }')"
  done
done
