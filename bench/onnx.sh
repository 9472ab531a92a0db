#!/usr/bin/env bash
# Imported ONNX models: Kiln's inference beside onnxruntime's on the same
# .onnx files (bench/onnx_bench.py), batch 1 and each model's benchmark
# batch, 1 and 2 threads, in one run. Kiln's side is what an application
# gets: the package installed (cmake --install) and the model compiled with
# `kilnc model.onnx --emit=lib --entries=forward`.
# Usage: bench/onnx.sh [models...] (default: every zoo model); BUILD
# overrides the build folder, PEERS the peers' environment (bench/peers.sh,
# default .venv), CALLS the timed calls per measurement, THREADS the thread
# counts (default 1,2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
PEERS="${PEERS:-$ROOT/.venv}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
[ -x "$PEERS/bin/python" ] || { echo "bench/onnx.sh: no peers at $PEERS (run bench/peers.sh)" >&2; exit 1; }

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j1 kilnc kiln-opt kiln-run KilnRuntime KilnArtefactMain >/dev/null
cmake --install "$BUILD" --prefix "$WORK/kiln" >/dev/null
if [ "$#" -eq 0 ]; then
  set -- $("$WORK/kiln/bin/kilnc" --list-models | awk '{print $1}')
fi
"$PEERS/bin/python" "$ROOT/bench/onnx_bench.py" "$WORK/kiln" "$WORK" "$@"
