#!/usr/bin/env bash
# Sets up the machine, builds Kiln and runs its main job on the default model:
# the mlp of MODELS.md, built with the C++ DSL, printed as graph IR with a
# summary of its parameters, entry points and ops.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh kilnc
build/bin/kilnc --model="${1:-mlp}" --emit=graph --summary
