#!/usr/bin/env bash
# The benchmark's peers in a virtual environment of their own: PyTorch 2
# (eager, torch.compile and AOTInductor) and onnxruntime (with onnx, which
# PyTorch's ONNX export needs) from PyPI, at pinned versions. Not a build or
# test dependency: Kiln builds and its tests run without it. The wheel pulls
# about 3 GB of CUDA libraries, but imports and runs on the CPU.
# torch.compile's CPU backend compiles C++ with g++ and Python's headers.
# Usage: bench/peers.sh [DIR]   (default: .venv beside this repository's
# sources; bench/train.sh looks there)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/.venv}"
TORCH_VERSION=2.5.1
ONNXRUNTIME_VERSION=1.20.1
ONNX_VERSION=1.17.0

if ! python3 -m venv --help >/dev/null 2>&1 || ! [ -f /usr/include/python3.11/Python.h ]; then
  apt-get install -y --no-install-recommends python3-venv python3-dev g++
fi
[ -x "$DIR/bin/python" ] || python3 -m venv "$DIR"
"$DIR/bin/pip" install --quiet --disable-pip-version-check \
  "torch==$TORCH_VERSION" "numpy<2" "onnxruntime==$ONNXRUNTIME_VERSION" \
  "onnx==$ONNX_VERSION"
"$DIR/bin/python" -c 'import torch; print("PyTorch", torch.__version__, "in", torch.__file__.rsplit("/", 2)[0])'
