#!/usr/bin/env bash
# Runs greedyhash_bench_pipeline (ours) and bench/reference/greedyhash_reference.py
# (Python/PyTorch) one after the other on the same machine, data, sizes and thread count,
# and prints three JSON lines: ours, python, and the ratios ours / python.
#
#   bench/run_benchmark.sh [--quick] [--threads N] [--data PATH] [--build DIR]
#                          [--ours "FLAGS"] [--python "FLAGS"]
#
#   --data    CIFAR-10 JPEG folder (train/, test/) or the .tar.gz holding it
#             (default ../shared/data/cifar10-jpg.tar.gz, unpacked once into $CACHE_DIR)
#   --ours    extra flags for ours (default: "--precision bf16 --channels-last", the
#             fastest settings measured on AVX512-BF16 CPUs; "--precision fp32" for the
#             plain float run)
#   --python  extra flags for the reference (default: "--precision bf16 --channels-last", the
#             same settings; channels-last made its encoding 10% faster in fp32 and bf16
#             and its fp32 training 4%, docs/PERFORMANCE.md). Give both the same --precision.
# Environment: CACHE_DIR (default /tmp/greedyhash-data-cache), PYTHON (default
# /usr/bin/python3, which has PyTorch 1.13: the same kernels as Debian's LibTorch).
# The reference runs under tuned jemalloc where it is installed (bench/reference/allocator.sh).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=reference/allocator.sh
source "$repo/bench/reference/allocator.sh"
# shellcheck source=cifar_folder.sh
source "$repo/bench/cifar_folder.sh"
data="$repo/../shared/data/cifar10-jpg.tar.gz"
# A worktree under wt/ sits one level deeper than the main checkout.
[[ -f "$data" ]] || data="$repo/../../shared/data/cifar10-jpg.tar.gz"
build="$repo/build"
threads=2
quick=()
ours_flags="--precision bf16 --channels-last"
python_flags="--precision bf16 --channels-last"
cache="${CACHE_DIR:-/tmp/greedyhash-data-cache}"
python="${PYTHON:-/usr/bin/python3}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick); shift ;;
    --threads) threads="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --ours) ours_flags="$2"; shift 2 ;;
    --python) python_flags="$2"; shift 2 ;;
    *) echo "run_benchmark.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

bench="$build/bench/greedyhash_bench_pipeline"
if [[ ! -x "$bench" ]]; then
  echo "run_benchmark.sh: $bench not found; build it with" \
       "cmake --build $build --target greedyhash_bench_pipeline" >&2
  exit 1
fi

# Both programs read the same unpacked folder.
data="$(cifar_folder "$data" "$cache")" || exit 1

echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg), threads $threads;" \
     "reference allocator: $reference_allocator" >&2

# shellcheck disable=SC2086  # the flag strings are meant to split into words
ours="$("$bench" --data-dir "$data" --threads "$threads" "${quick[@]}" $ours_flags)"
echo "# load average after ours: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# shellcheck disable=SC2086
py="$(env "${reference_env[@]}" "$python" "$repo/bench/reference/greedyhash_reference.py" --data-dir "$data" \
      --threads "$threads" "${quick[@]}" $python_flags)"
echo "# load average after python: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

echo "$ours"
echo "$py"
"$python" - "$ours" "$py" <<'EOF'
import json
import sys

ours, py = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ratio = {"impl": "ours/python"}
for key in ("train_img_per_s", "encode_img_per_s", "eval_seconds", "data_load_seconds",
            "peak_rss_mb", "map"):
    if ours.get(key) is not None and py.get(key):
        ratio[key] = ours[key] / py[key]
# For times, smaller is better: the speed-up is python / ours.
for key in ("eval_seconds", "data_load_seconds"):
    if ours.get(key) and py.get(key) is not None:
        ratio[key.replace("_seconds", "_speedup")] = py[key] / ours[key]
print(json.dumps(ratio))
EOF
