#!/usr/bin/env bash
# Installs, builds, then trains and evaluates a short GreedyHash run on the data given.
# Usage: scripts/quickstart.sh DATA [extra greedyhash_train flags]
#   DATA: a CIFAR-10 folder (binary release or image-folder layout) or a .tar.gz of one.
# The defaults keep it to a few minutes on a 2-core CPU: 48 bits, 1 epoch on 1,000
# training images at 64 px, evaluation on the full CIFAR-10 (I) split. For the paper's
# protocol use scripts/train.sh (50 epochs at 224 px, ImageNet weights via --pretrained).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: scripts/quickstart.sh DATA (a CIFAR-10 folder or .tar.gz of one) [flags]}
shift
scripts/build.sh --apps
out=output/quickstart
build/apps/greedyhash_train --bit 48 --data-dir "$data" --output-dir "$out" \
  --epochs 1 --train-limit 1000 --input-size 64 --eval-every 0 "$@"
build/apps/greedyhash_eval --bit 48 --output-dir "$out" --data-dir "$data"
build/apps/greedyhash_predict --bit 48 --output-dir "$out" --data-dir "$data" --pic_id 1949
