#!/usr/bin/env bash
# The runtime under AddressSanitizer and UndefinedBehaviorSanitizer
# (tests/fuzz, built with clang into build-fuzz/): runs the runtime's unit
# tests, then each libFuzzer target for SECONDS (default 30) on a copy of its
# checked-in seed corpus, printing per target the executions and the corpus
# it reached. A failed test, crash, sanitizer report or leak fails the
# script; a fuzzer leaves the input that caused it in build-fuzz/findings/.
# With --runs=N instead of SECONDS, each target makes N executions from a
# fixed seed, so that runs mutate the same way rather than each wandering
# somewhere new (what the test suite runs; coverage feedback still varies
# a little from run to run). Timed runs with fresh seeds are for looking
# for new findings.
# The onnx target also starts from ONNX's node test models where Debian's
# libonnx-testdata is installed; graph-ir is kiln-opt's parser, verifier,
# printer and canonicalizer on Kiln's dialects.
# Usage: scripts/sanitize.sh [SECONDS | --runs=N] [targets...]
#        (default: 30 seconds each, all eight targets)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=30
RUNS=""
case "${1:-}" in
--runs=*) RUNS="${1#--runs=}"; shift ;;
"") ;;
*) SECONDS_EACH="$1"; shift ;;
esac
if [ -n "$RUNS" ]; then
  LIMIT=(-runs="$RUNS" -seed=1)
  SPAN="from seed 1"
else
  LIMIT=(-max_total_time="$SECONDS_EACH")
  SPAN="in ${SECONDS_EACH}s"
fi
TARGETS="${*:-safetensors npy idx text-dataset checkpoint manifest onnx graph-ir}"
BUILD=build-fuzz

cmake -S tests/fuzz -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$BUILD" -- kiln-runtime-tests-sanitized \
  $(for t in $TARGETS; do echo "fuzz-$t"; done) >/dev/null

if "$BUILD/kiln-runtime-tests-sanitized" >"$BUILD/unit.log" 2>&1; then
  echo "runtime unit tests under ASan+UBSan: $(grep -o '[0-9]* tests from [0-9]* test suites ran' "$BUILD/unit.log")"
else
  echo "runtime unit tests under ASan+UBSan FAIL (log: $BUILD/unit.log):"
  grep -m 20 -E "FAILED|ERROR|runtime error" "$BUILD/unit.log" || tail -20 "$BUILD/unit.log"
  exit 1
fi

mkdir -p "$BUILD/findings"
status=0
for t in $TARGETS; do
  corpus="$BUILD/corpus/$t"
  rm -rf "$corpus" && mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/
  if [ "$t" = onnx ] && [ -d /usr/share/libonnx-testdata/data/node ]; then
    for m in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
      cp "$m" "$corpus/$(basename "$(dirname "$m")")"
    done
  fi
  log="$BUILD/fuzz-$t.log"
  if TMPDIR="$BUILD" "$BUILD/fuzz-$t" "${LIMIT[@]}" \
      -rss_limit_mb=4096 -malloc_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$BUILD/findings/$t-" "$corpus" >"$log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo '?')
    printf "fuzz-%-13s %10s executions %s, corpus %s inputs, no crash\n" \
      "$t" "$runs" "$SPAN" "$(ls "$corpus" | wc -l)"
  else
    echo "fuzz-$t FOUND A CRASH (log: $log, input: $BUILD/findings/$t-*):"
    grep -m 20 -E "ERROR|SUMMARY|runtime error|==[0-9]+==" "$log" || tail -20 "$log"
    status=1
  fi
done
rm -f "$BUILD"/kiln-fuzz-*
exit $status
