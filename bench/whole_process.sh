#!/usr/bin/env bash
# Training as a user runs it, whole process against whole process: greedyhash_train, then
# the Python reference (under tuned jemalloc, bench/reference/allocator.sh), each training
# one epoch of the same number of CIFAR-10 images from random weights, with no evaluation,
# on the same folder and threads. Start-up, data loading and the exit count. Prints three
# JSON lines: ours, python, and python / ours for the wall time (the speed-up) with
# ours / python for the peak RSS.
#
#   bench/whole_process.sh [--images N] [--size S] [--precision fp32|bf16] [--threads N]
#                          [--data PATH] [--build DIR] [--python "FLAGS"]
#
#   --images     training images (default 1000), --size the input side (default 224),
#                batch 32 and 48 bits on both sides
#   --precision  both sides' precision (default fp32); ours is channels-last in both, as
#                greedyhash_train always is
#   --python     extra flags for the reference (e.g. "--channels-last")
#   --data       CIFAR-10 JPEG folder or its .tar.gz (default ../shared/data/cifar10-jpg.tar.gz)
# Environment: CACHE_DIR (default /tmp/greedyhash-data-cache), PYTHON (default /usr/bin/python3).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=reference/allocator.sh
source "$repo/bench/reference/allocator.sh"
# shellcheck source=cifar_folder.sh
source "$repo/bench/cifar_folder.sh"
data="$repo/../shared/data/cifar10-jpg.tar.gz"
build="$repo/build"
images=1000
size=224
precision=fp32
threads=2
python_flags=""
cache="${CACHE_DIR:-/tmp/greedyhash-data-cache}"
python="${PYTHON:-/usr/bin/python3}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --python) python_flags="$2"; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "whole_process.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

train="$build/apps/greedyhash_train"
if [[ ! -x "$train" ]]; then
  echo "whole_process.sh: $train not found; build it with" \
       "cmake --build $build --target greedyhash_train" >&2
  exit 1
fi
data="$(cifar_folder "$data" "$cache")" || exit 1
runs="$(mktemp -d)"
trap 'rm -rf "$runs"' EXIT

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg), threads $threads, $images images" \
     "at $size px, $precision; reference allocator: $reference_allocator" >&2

# Runs a command under /usr/bin/time; prints {"wall_seconds", "peak_rss_mb", "minor_faults"}.
timed() {
  local log="$runs/time.$RANDOM"
  /usr/bin/time -o "$log" -f '%e %M %R' "$@" >"$runs/stdout" 2>"$runs/stderr" || {
    echo "whole_process.sh: '$*' failed:" >&2; tail -5 "$runs/stderr" >&2; exit 1; }
  read -r wall rss faults <"$log"
  echo "{\"wall_seconds\": $wall, \"peak_rss_mb\": $((rss / 1024)), \"minor_faults\": $faults}"
}

# Random weights on both sides (--pretrained ""); no evaluation (--eval-every 0).
ours="$(timed "$train" --data-dir "$data" --output-dir "$runs/ours" --train-limit "$images" \
  --epochs 1 --eval-every 0 --val-per-class 0 --input-size "$size" --batch-size 32 --bit 48 \
  --threads "$threads" --precision "$precision" --device cpu --pretrained "")"
echo "# load average after ours: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# shellcheck disable=SC2086  # the flag string is meant to split into words
py="$(timed env "${reference_env[@]}" "$python" "$repo/bench/reference/greedyhash_reference.py" \
  --data-dir "$data" --train-images "$images" --epochs 1 --train-only --input-size "$size" \
  --batch-size 32 --bit 48 --threads "$threads" --precision "$precision" $python_flags)"
echo "# load average after python: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$python" - "$ours" "$py" "$precision" "$images" "$size" "$python_flags" <<'EOF'
import json
import sys

ours, py = json.loads(sys.argv[1]), json.loads(sys.argv[2])
common = {"precision": sys.argv[3], "images": int(sys.argv[4]), "size": int(sys.argv[5])}
print(json.dumps({"impl": "greedyhash_train", **common, **ours}))
print(json.dumps({"impl": "python", **common, "flags": sys.argv[6], **py}))
print(json.dumps({"impl": "python/ours", "speedup": py["wall_seconds"] / ours["wall_seconds"],
                  "peak_rss_ratio": ours["peak_rss_mb"] / py["peak_rss_mb"]}))
EOF
