#!/usr/bin/env bash
# Batch-1 inference latency of models embedded in a C program, beside
# PyTorch 2 (eager, torch.compile, AOTInductor) and onnxruntime, all on one
# thread, in one run. Kiln's side is what an application gets: the package
# installed (cmake --install), the model compiled with
# `kilnc --emit=lib --entries=forward --batch=1`, a C program generated from
# its header (bench/embed_harness.py) linked with pkg-config's flags. Each
# side reports the median of 2,000 calls (after 100 warm-up calls) and the
# 10th percentile; the ratio is the fastest peer's median over Kiln's
# (above 1: Kiln is faster). Peers come from bench/peers.sh's environment.
# Usage: bench/latency.sh [models...] (default: cnn resnet); BUILD overrides
# the build folder, PEERS the peers' environment (default .venv), CALLS the
# number of timed calls.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
PEERS="${PEERS:-$ROOT/.venv}"
CALLS="${CALLS:-2000}"
MODELS="${*:-cnn resnet}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j1 kilnc kiln-opt kiln-run KilnRuntime KilnArtefactMain >/dev/null
cmake --install "$BUILD" --prefix "$WORK/kiln" >/dev/null
export PKG_CONFIG_PATH="$WORK/kiln/lib/pkgconfig"

printf "%-8s %-14s %12s %12s\n" model runtime "median us" "p10 us"
for model in $MODELS; do
  dir="$WORK/$model"
  mkdir -p "$dir"
  "$WORK/kiln/bin/kilnc" --model="$model" --emit=lib --entries=forward \
    --batch=1 -o "$dir/lib$model.a"
  python3 "$ROOT/bench/embed_harness.py" "$dir/$model.h" "$model" forward \
    "$dir/harness.c"
  # shellcheck disable=SC2046
  cc -std=c99 -O2 -I"$dir" "$dir/harness.c" "$dir/lib$model.a" \
    $(pkg-config --cflags --libs kiln-runtime) -o "$dir/harness"
  read -r median p10 < <("$dir/harness" "$CALLS" 1)
  printf "%-8s %-14s %12s %12s\n" "$model" kiln "$median" "$p10"
  best=""
  if [ -x "$PEERS/bin/python" ]; then
    while read -r peer pmedian prest; do
      if [ "$pmedian" = "-" ]; then
        printf "%-8s %-14s %12s   (%s)\n" "$model" "$peer" - "$prest"
        continue
      fi
      printf "%-8s %-14s %12s %12s\n" "$model" "$peer" "$pmedian" "$prest"
      best=$(python3 -c "import sys; a, b = sys.argv[1:]; print(b if not a or float(b) < float(a) else a)" "$best" "$pmedian")
    done < <(OMP_NUM_THREADS=1 "$PEERS/bin/python" "$ROOT/bench/torch_latency.py" "$model" "$CALLS" 2>/dev/null)
  fi
  if [ -n "$best" ]; then
    python3 -c "import sys; print('%-8s %-14s %12.2fx' % (sys.argv[1], 'best peer/kiln', float(sys.argv[2]) / float(sys.argv[3])))" "$model" "$best" "$median"
  fi
done
