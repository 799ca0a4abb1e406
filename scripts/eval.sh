#!/usr/bin/env bash
# Evaluates every bit length's run of a data set's presets (or those in BITS).
# Usage: [SET=cifar10-1|imagenet100|nuswide21|coco] [BITS="16 32"] scripts/eval.sh \
#          [extra greedyhash_eval flags, e.g. --output-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/preset_bits.sh
bin=${GREEDYHASH_BIN:-build/apps}
bits=$(preset_bits "${SET:-cifar10-1}")
for bit in $bits; do
  echo "=== evaluating ${SET:-cifar10-1}, ${bit} bits"
  "$bin/greedyhash_eval" --bit "$bit" "$@"
done
