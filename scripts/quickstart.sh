#!/usr/bin/env bash
# Installs, builds and runs the main job on the data set given as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: scripts/quickstart.sh DATA (a CIFAR-10 folder or .tar.gz of one)}
scripts/build.sh
echo "quickstart: built greedyhash; training on $data is not available yet"
