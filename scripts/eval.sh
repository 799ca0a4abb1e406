#!/usr/bin/env bash
# Evaluates every bit length's run (or those in BITS) and prints a summary table.
# Usage: BITS="12 24 32 48" scripts/eval.sh [extra greedyhash_eval flags, e.g. --output-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GREEDYHASH_BIN:-build/apps}
for bit in ${BITS:-12 24 32 48}; do
  echo "=== evaluating ${bit} bits"
  "$bin/greedyhash_eval" --bit "$bit" "$@"
done
