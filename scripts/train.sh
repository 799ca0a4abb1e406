#!/usr/bin/env bash
# Trains every bit length of a data set's presets (configs/<set>_<bit>.json), or those in BITS.
# Usage: [SET=cifar10-1|imagenet100|nuswide21|coco] [BITS="16 32"] scripts/train.sh \
#          [extra greedyhash_train flags, e.g. --data-dir DIR]
# The bit lengths the literature reports: 12/24/32/48 for cifar10-1 (the paper),
# 16/32/48/64 for the others (DeepHash-pytorch and the papers after it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/preset_bits.sh
bin=${GREEDYHASH_BIN:-build/apps}
bits=$(preset_bits "${SET:-cifar10-1}")
for bit in $bits; do
  echo "=== training ${SET:-cifar10-1}, ${bit} bits"
  "$bin/greedyhash_train" --config "configs/${SET:-cifar10-1}_${bit}.json" "$@"
done
