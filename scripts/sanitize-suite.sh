#!/usr/bin/env bash
# Kiln as a whole under AddressSanitizer and UndefinedBehaviorSanitizer:
# builds the runtime, the compiler, the tools and the executables kilnc links
# with KILN_SANITIZE=ON into build-asan/ (ccache makes a rebuild cheap), then
# runs the unit tests, the lit suite and the reference suites there. Any
# sanitizer report (memory error, leak, undefined behaviour) fails the test
# it happens in. LLVM, MLIR and oneDNN are Debian's, uninstrumented.
# Usage: scripts/sanitize-suite.sh [ctest -R regex]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build-asan
# The default selection: everything but the ONNX conformance sweep (a
# thousand small models that exercise the importer, which fuzz-onnx covers
# under the sanitizers already) and the include-rule check (no binary).
TESTS="${1:-^(unit|dialect|runtime|runtime-library|lit|reference-.*|onnx-interop)$}"

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_SANITIZE=ON \
  >/dev/null
start=$(date +%s)
cmake --build "$BUILD" >"$BUILD/build.log" 2>&1 || {
  echo "sanitized build FAILED (log: $BUILD/build.log):"
  grep -m 20 -E "error|FAILED" "$BUILD/build.log" || tail -20 "$BUILD/build.log"
  exit 1
}
echo "sanitized build: $(( $(date +%s) - start )) s"

# halt_on_error: the first report ends the process with a non-zero exit.
# Leaks are reported; the OpenMP and MPI runtimes' own allocations at exit
# are uninstrumented and not seen as leaks by LeakSanitizer.
# use_sigaltstack=0: the tools compile on a thread of their own (a 512 MiB
# stack), where LLVM's crash handler installs its own alternate signal
# stack (malloc'ed, 64 KiB plus the CPU's minimum signal stack) wherever
# AddressSanitizer's is smaller. On CPUs whose signal frame is large
# (AVX-512: a minimum of 13.5 KiB) that is every thread, and the sanitizer
# then fails unmapping it as its own when the thread exits, ending every
# kiln-opt and kilnc run with a CHECK failure. LLVM's handler still reports
# stack overflows.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1:use_sigaltstack=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$BUILD" --output-on-failure -R "$TESTS"
