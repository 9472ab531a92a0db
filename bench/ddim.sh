#!/usr/bin/env bash
# DDIM sampling rate of Kiln's ddpm beside PyTorch on the same U-Net, batch
# (64) and step count (50), one and two threads, in one run: Kiln's
# `./ddpm sample --ddim 50` (freshly initialized weights: the rate does not
# depend on them) and PyTorch 2 eager and torch.compile from the peers'
# environment (bench/peers.sh). Images per second; the ratio is Kiln's over
# the faster PyTorch.
# Usage: bench/ddim.sh [images]; BUILD, PEERS as for bench/train.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
PEERS="${PEERS:-$ROOT/.venv}"
N="${1:-256}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j1 kilnc >/dev/null
"$BUILD/bin/kilnc" --model=ddpm --emit=exe -o "$WORK/ddpm"
"$WORK/ddpm" train --data synthetic --epochs 1 --steps-per-epoch 1 \
  --save-params "$WORK/ddpm.safetensors" 2>/dev/null

printf '%-3s %9s %9s %9s %7s\n' thr Kiln pt2 pt2-comp ratio
for threads in 1 2; do
  kiln="$("$WORK/ddpm" sample --params "$WORK/ddpm.safetensors" --n "$N" \
    --ddim 50 --threads "$threads" --out "$WORK/s.safetensors" --png "" 2>&1 |
    awk '/images\/s/ { gsub(/\(/, "", $6); print $6 }')"
  eager="-"; compiled="-"
  if [ -x "$PEERS/bin/python" ]; then
    eager="$("$PEERS/bin/python" "$ROOT/bench/torch_ddim.py" --threads "$threads" --n "$N" 2>/dev/null | awk '{ print $2 }')"
    compiled="$("$PEERS/bin/python" "$ROOT/bench/torch_ddim.py" --threads "$threads" --n "$N" --compile 2>/dev/null | awk '{ print $2 }')"
  fi
  best="$(printf '%s\n' "$eager" "$compiled" |
    awk '$1 != "-" && $1 > best { best = $1 } END { print best + 0 }')"
  printf '%-3s %9s %9s %9s %7.2f\n' "$threads" "$kiln" "$eager" "$compiled" \
    "$(awk -v k="$kiln" -v b="$best" 'BEGIN { print (b > 0 ? k / b : 0) }')"
done
