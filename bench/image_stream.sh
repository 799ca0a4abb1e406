#!/usr/bin/env bash
# The loader on ImageNet-size JPEGs (docs/PERFORMANCE.md, "Large collections"): peak
# memory as the collection grows (streamed, and in memory at the smallest size), and
# training-batch throughput against torchvision's DataLoader (PIL, 2 workers, under the
# reference's tuned jemalloc) on the same files, and from a packed copy. One JSON object
# per line on stdout.
# Usage: bench/image_stream.sh [--scratch DIR] [--counts "10000 50000 200000"]
#   DIR (default /tmp/imagenet_size) receives the generated images (about 33 KB each;
#   6.6 GB for 200,000) and the pack (260 KB per image); never the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=/tmp/imagenet_size
counts="10000 50000 200000"
while [[ $# -gt 0 ]]; do
  case $1 in
    --scratch) scratch=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    *) echo "unknown argument $1; see the header of $0" >&2; exit 2 ;;
  esac
done
bench=build/bench/greedyhash_bench_image_stream
[[ -x $bench ]] || { echo "$bench is missing: build first (scripts/build.sh)" >&2; exit 1; }
largest=$(tr ' ' '\n' <<<"$counts" | sort -n | tail -1)
smallest=$(tr ' ' '\n' <<<"$counts" | sort -n | head -1)
/usr/bin/python3 bench/make_imagenet_size_jpegs.py --cifar ../shared/data/cifar10-jpg.tar.gz \
  --out "$scratch" --count "$largest" --lists "${counts// /,}" >&2
source bench/reference/allocator.sh
small_list=$scratch/list_$smallest.txt
# Both sides read the files from the page cache.
warm() { sed 's/ .*//' "$1" | (cd "$scratch" && xargs cat) >/dev/null; }

warm "$small_list"
"$bench" --list "$small_list"
env "${reference_env[@]}" /usr/bin/python3 bench/reference/torchvision_loader.py \
  --list "$small_list" --workers 2
"$bench" --list "$small_list" --pipeline memory
pack=$scratch/pack_$smallest.ghpack
rm -f "$pack"
"$bench" --list "$small_list" --pack "$pack"   # makes the pack, then reads it
"$bench" --list "$small_list" --pack "$pack"   # reads it again, from the page cache
rm -f "$pack"
for n in $counts; do
  [[ $n == "$smallest" ]] && continue
  "$bench" --list "$scratch/list_$n.txt"
done
