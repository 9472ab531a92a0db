#!/usr/bin/env bash
# What the profiler's reports cost when profiling is off: training throughput
# of one model compiled with the reports (kilnc's default; they also serve
# --check-numerics) and without them (--numerics-checks=false), the two
# trained alternately ROUNDS times on the synthetic set, one thread, and the
# median examples/s of each; then one run with --profile for comparison.
# Usage: bench/profile_overhead.sh [model] [steps] [rounds]; BUILD as for
# bench/train.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
MODEL="${1:-cnn}"
STEPS="${2:-200}"
ROUNDS="${3:-5}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BUILD/bin/kilnc" --model="$MODEL" --emit=exe -o "$WORK/with"
"$BUILD/bin/kilnc" --model="$MODEL" --emit=exe --numerics-checks=false \
  -o "$WORK/without"

rate() { # EXE [FLAGS]: the run's examples per second, from its summary
  local exe="$1"; shift
  "$exe" train --data synthetic --epochs 1 --steps-per-epoch "$STEPS" \
    --threads 1 "$@" 2>&1 | sed -n 's/.*(\([0-9]*\) examples\/s).*/\1/p'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: > "$WORK/with.txt"; : > "$WORK/without.txt"
for _ in $(seq "$ROUNDS"); do
  rate "$WORK/with" >> "$WORK/with.txt"
  rate "$WORK/without" >> "$WORK/without.txt"
done
with="$(median < "$WORK/with.txt")"
without="$(median < "$WORK/without.txt")"
profiled="$(rate "$WORK/with" --profile="$WORK/t.json" --profile-steps=20)"
echo "$MODEL, $STEPS steps, 1 thread, median of $ROUNDS (examples/s):"
echo "  reports compiled in, profiling off: $with"
echo "  no reports (--numerics-checks=false): $without"
awk -v a="$with" -v b="$without" \
  'BEGIN { printf "  cost of the reports: %+.2f%%\n", 100 * (b - a) / b }'
echo "  with --profile-steps=20 on: $profiled"
