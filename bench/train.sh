#!/usr/bin/env bash
# Training throughput of Kiln's executables beside PyTorch on the same
# models, batches and optimizer, one and two threads, in one run: PyTorch 2
# eager and torch.compile from the peers' virtual environment
# (bench/peers.sh; skipped when it is missing) and Debian's PyTorch 1.13
# eager. Kiln's rate is the trainer's own examples/s over an epoch of
# synthetic data (data batching included; gpt and bert read the fortunes
# corpus, transformer and seq2seq draw reversal problems); PyTorch's is
# timed over steps on one random batch (no data loading), after 10 warm-up
# steps (which include torch.compile's compilation). The ratio is Kiln's
# rate over the fastest PyTorch's.
# Usage: bench/train.sh [steps] [models...]; BUILD overrides the build
# folder, PEERS the peers' environment (default .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
PEERS="${PEERS:-$ROOT/.venv}"
STEPS="${1:-100}"
shift || true
MODELS="${*:-mlp cnn resnet vit gpt bert rnn lstm gru bilstm transformer seq2seq}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j1 kilnc >/dev/null

peer() { # python, threads, batch, model, extra flags -> examples/s or "-"
  local python="$1" threads="$2" batch="$3" model="$4"
  shift 4
  if [ ! -x "$python" ]; then echo "-"; return; fi
  "$python" "$ROOT/bench/torch_train.py" --model "$model" --batch "$batch" \
    --threads "$threads" --steps "$STEPS" "$@" 2>/dev/null |
    awk 'END { print (NF == 3 ? $3 : "-") }'
}

printf '%-12s %-3s %9s %9s %9s %9s %7s\n' model thr "Kiln" "pt2" \
  "pt2-comp" "pt1.13" "ratio"
for model in $MODELS; do
  batch="$("$BUILD/bin/kilnc" --list-models |
    awk -v m="$model" '$1 == m { print $3 }')"
  "$BUILD/bin/kilnc" --model="$model" --emit=exe -o "$WORK/$model"
  for threads in 1 2; do
    # The last progress line of the epoch: "... loss L R ex/s ETA ...".
    kiln="$("$WORK/$model" train --data synthetic --epochs 1 \
      --steps-per-epoch "$STEPS" --seed 1 --threads "$threads" 2>&1 |
      awk '/ ex\/s/ { for (i = 2; i <= NF; ++i) if ($i == "ex/s") rate = $(i - 1) }
           END { print rate }')"
    eager="$(peer "$PEERS/bin/python" "$threads" "$batch" "$model")"
    compiled="$(peer "$PEERS/bin/python" "$threads" "$batch" "$model" --compile)"
    old="$(peer /usr/bin/python3 "$threads" "$batch" "$model")"
    best="$(printf '%s\n' "$eager" "$compiled" "$old" |
      awk '$1 != "-" && $1 > best { best = $1 } END { print best + 0 }')"
    printf '%-12s %-3s %9s %9s %9s %9s %7.2f\n' "$model" "$threads" "$kiln" \
      "$eager" "$compiled" "$old" \
      "$(awk -v k="$kiln" -v b="$best" 'BEGIN { print (b > 0 ? k / b : 0) }')"
  done
done
