#!/usr/bin/env bash
# Installs, builds (the library and the apps only), then trains and evaluates a demo
# GreedyHash run on the data given.
# Usage: scripts/quickstart.sh DATA [extra greedyhash_train flags]
#   DATA: a CIFAR-10 folder (binary release or image-folder layout) or a .tar.gz of one.
# configs/quickstart.json is a demo, not the paper's protocol: 48 bits, one epoch at 64 px
# on 50,000 training images from random initialisation (about 4 minutes of training on
# 2 cores), evaluated on CIFAR-10 (I)'s 1,000 queries against its 59,000-image database.
# For the paper's protocol use scripts/train.sh (50 epochs at 224 px, ImageNet weights).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: scripts/quickstart.sh DATA (a CIFAR-10 folder or .tar.gz of one) [flags]}
shift
scripts/build.sh --apps
config=configs/quickstart.json
out=output/quickstart
build/apps/greedyhash_train --config "$config" --data-dir "$data" --output-dir "$out" "$@"
build/apps/greedyhash_eval --config "$config" --output-dir "$out" --data-dir "$data"
build/apps/greedyhash_predict --config "$config" --output-dir "$out" --data-dir "$data" \
  --pic_id 1949
