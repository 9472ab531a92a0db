#!/usr/bin/env bash
# Sets up the machine, builds Kiln and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure
# The runtime under ASan and UBSan (clang): its unit tests, and 40000
# executions of each fuzz target from the checked-in corpora and a fixed
# seed (runs mutate the same way, not each somewhere new).
scripts/sanitize.sh --runs=40000
# Kiln as a whole (runtime, compiler, tools, the executables kilnc links)
# under ASan and UBSan in build-asan/: the unit, lit and reference suites.
scripts/sanitize-suite.sh
