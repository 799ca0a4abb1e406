#!/usr/bin/env bash
# Installs the dependencies (if missing), configures and builds greedyhash into build/.
# Usage: scripts/build.sh [--apps] [extra cmake -D options]
#   --apps: only the library and the executables (no tests, no benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."

target=()
if [ "${1:-}" = "--apps" ]; then
  target=(--target greedyhash_apps)
  shift
fi
scripts/install_deps.sh
generator=()
command -v ninja >/dev/null && [ ! -f build/Makefile ] && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build --parallel "$(nproc)" "${target[@]}"
