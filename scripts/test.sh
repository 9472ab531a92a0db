#!/usr/bin/env bash
# Sets up the machine, builds Kiln and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure
# The runtime under ASan and UBSan (clang): its unit tests, and 20 s of each
# fuzz target from the checked-in corpora.
scripts/sanitize.sh 20
# Kiln as a whole (runtime, compiler, tools, the executables kilnc links)
# under ASan and UBSan in build-asan/: the unit, lit and reference suites.
scripts/sanitize-suite.sh
