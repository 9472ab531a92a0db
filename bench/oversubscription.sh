#!/usr/bin/env bash
# Two trainings at once on this machine, each with the default threads (all
# cores), against one training alone on one thread: the examples/s of each.
# With libgomp's default spinning the pair collapses; the executables bound
# it (kiln/runtime/Threads.h); KILN_OPENMP_SPIN=default shows libgomp's own.
# Usage: bench/oversubscription.sh [model] [steps]; BUILD as for bench/train.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
MODEL="${1:-cnn}"
STEPS="${2:-150}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BUILD/bin/kilnc" --model="$MODEL" --emit=exe -o "$WORK/model"
run() { # [FLAGS]: examples/s of one run, from its summary
  "$WORK/model" train --data synthetic --epochs 1 --steps-per-epoch "$STEPS" \
    "$@" 2>&1 | sed -n 's/.*(\([0-9]*\) examples\/s).*/\1/p'
}
pair() { # ENV: two runs at once with ENV
  env "$@" bash -c "$(declare -f run); WORK='$WORK' STEPS='$STEPS'; \
    run > '$WORK/a' & run > '$WORK/b'; wait"
  echo "$(cat "$WORK/a") $(cat "$WORK/b")"
}
echo "$MODEL, $STEPS steps, examples/s:"
echo "  alone, one thread:                     $(run --threads 1)"
echo "  alone, default threads:                $(run)"
echo "  two at once, default threads:          $(pair X=1)"
echo "  two at once, libgomp's own spinning:   $(pair KILN_OPENMP_SPIN=default)"
