#!/usr/bin/env bash
# Installs, builds (the library and the apps only), then trains and evaluates a demo
# GreedyHash run on CIFAR-10.
# Usage: scripts/quickstart.sh [DATA] [extra greedyhash_train flags]
#   DATA: a CIFAR-10 folder (binary release or image-folder layout) or a .tar.gz of one.
#   Without it: data/ when CIFAR-10 is there, else the official release, which
#   scripts/download_cifar10.sh fetches into data/ (163 MB, MD5-checked).
# configs/quickstart.json is a demo, not the paper's protocol: 48 bits, one epoch at 64 px
# on 50,000 training images from random initialisation (about 4 minutes of training on
# 2 cores), evaluated on CIFAR-10 (I)'s 1,000 queries against its 59,000-image database.
# For the paper's protocol use scripts/train.sh (50 epochs at 224 px, ImageNet weights).
set -euo pipefail

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  sed -n '2,7s/^# \{0,1\}//p' "$0"
  exit 0
fi
# A first argument that is a flag means no DATA was given.
data=
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
  data=$1
  shift
fi

root=$(cd "$(dirname "$0")/.." && pwd)
# DATA is relative to where the user stands; it stays as given when that is the root.
if [ -n "$data" ] && [[ $data != /* ]] && [ "$PWD" != "$root" ]; then data=$PWD/$data; fi
cd "$root"
# shellcheck source=SCRIPTDIR/lib/cifar10_data.sh
source scripts/lib/cifar10_data.sh
# Data first: a missing copy or a failed download stops us before the 10-minute build.
data=$(quickstart_data_dir data "$data")

scripts/build.sh --apps
config=configs/quickstart.json
out=output/quickstart
build/apps/greedyhash_train --config "$config" --data-dir "$data" --output-dir "$out" "$@"
build/apps/greedyhash_eval --config "$config" --output-dir "$out" --data-dir "$data"
build/apps/greedyhash_predict --config "$config" --output-dir "$out" --data-dir "$data" \
  --pic_id 1949
