#!/usr/bin/env bash
# Trains every bit length of the paper (or those in BITS) with the preset configs.
# Usage: BITS="12 24 32 48" scripts/train.sh [extra greedyhash_train flags, e.g. --data-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GREEDYHASH_BIN:-build/apps}
for bit in ${BITS:-12 24 32 48}; do
  echo "=== training ${bit} bits"
  "$bin/greedyhash_train" --bit "$bit" "$@"
done
