#!/usr/bin/env bash
# Installs every Debian package Kiln's build, tests and benchmarks need. Safe to run again.
set -euo pipefail

packages=(
  # Toolchain and build.
  build-essential cmake ninja-build lld ccache git pkg-config python3
  # Compiler dependencies: LLVM/MLIR 19 (monolithic libMLIR.so), lit's FileCheck.
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools zlib1g-dev libzstd-dev
  # Runtime dependencies.
  libdnnl-dev libfmt-dev libpng-dev
  # The ONNX frontend: ONNX's protobuf schema and checker.
  libonnx-dev libprotobuf-dev protobuf-compiler
  # Data-parallel training of the executables under mpirun.
  libopenmpi-dev openmpi-bin
  # kilnc --emit=svg lays graphs out with Graphviz.
  graphviz
  # Tests and benchmarks.
  googletest libgtest-dev libgmock-dev libbenchmark-dev python3-numpy strace
  python3-torch libopenblas0-pthread
  # ONNX's backend test data (the conformance runner) and its Python reader.
  libonnx-testdata python3-onnx
  # The runtime's sanitizer build and fuzzers (scripts/sanitize.sh): clang with
  # libFuzzer and its OpenMP runtime.
  clang libclang-rt-14-dev libomp-14-dev
  # Data.
  dataset-fashion-mnist
  # The text models' default corpus (/usr/share/games/fortunes).
  fortunes
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
