#!/usr/bin/env bash
# Installs, builds and runs the whole test suite (ctest, then a short run of each fuzz
# target).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
(cd build && ctest --output-on-failure --parallel "$(nproc)")
# The readers of untrusted files under AddressSanitizer and UBSan: each libFuzzer target
# for 10,000 inputs from its seeds (docs/FUZZING.md; builds into build-fuzz/). Compiling
# the targets is almost all of this stage (under 4 min cold on 2 cores); the runs take a
# few seconds, so there is no need to cut them.
scripts/fuzz.sh --runs 10000
