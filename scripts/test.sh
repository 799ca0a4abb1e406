#!/usr/bin/env bash
# Installs, builds and runs the whole test suite; prints ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)"
