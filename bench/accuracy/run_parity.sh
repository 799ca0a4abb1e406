#!/usr/bin/env bash
# Learning-curve parity of greedyhash and the Python reference (bench/reference/): the
# same CIFAR-10 (I) split, hyperparameters and seeds, from random initialisation. Each
# seed trains ours first; the reference then reads that run's split.json, so both
# evaluate the same validation queries against the same database subset every epoch.
#
#   bench/accuracy/run_parity.sh [--seeds "1 2 3"] [--epochs 30] [--lr 0.01] [--bit 48]
#                                [--input-size 64] [--threads 2] [--data DIR] [--out DIR]
#                                [--backbone alexnet] [--records DIR]
#
# --backbone: any of greedyhash_train's backbones; both programs build it from random weights.
# --data: a CIFAR-10 JPEG folder (train/, test/); default: the unpacked
# ../shared/data/cifar10-jpg.tar.gz under /tmp/greedyhash-data-cache (as
# bench/run_benchmark.sh unpacks it). Writes OUT/ours-s<seed>/bit_<bit>/metrics.jsonl and
# OUT/reference-s<seed>.jsonl, and OUT/machine-s<seed>.txt: the CPU and versions the seed ran
# on (float rounding, so the curves, differ with the CPU's vector kernels: a seed repeats bit
# for bit only on the same kind of CPU). bench/accuracy/report.py turns them into a table and
# a plot. A seed whose two files are complete is skipped; an interrupted one continues from
# its last finished epoch (both trainers resume bit for bit), on the same kind of CPU only.
# The reference runs under tuned jemalloc where it is installed (bench/reference/allocator.sh).
# Its closing summary (reference-s<seed>.json, not used by report.py) ranks 1,000 queries
# against 5,000 database images rather than the whole database, which at 64 px took it
# longer than its ten ResNet-18 epochs.
# --records DIR: also copies each finished seed's three records (not its checkpoints) to DIR,
# in the layout report.py reads, and skips the seeds DIR holds complete: a sweep longer than
# one sitting accumulates there seed by seed (docs/accuracy_parity/epochs30/ is one).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seeds="1 2 3"
epochs=30
lr=0.01
bit=48
size=64
threads=2
backbone=alexnet
data="/tmp/greedyhash-data-cache/cifar10-jpg"
out="$repo/output/parity"
records=""
python="${PYTHON:-/usr/bin/python3}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --lr) lr="$2"; shift 2 ;;
    --bit) bit="$2"; shift 2 ;;
    --input-size) size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --backbone) backbone="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --records) records="$2"; shift 2 ;;
    *) echo "run_parity.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -d "$data/train" ]] || { echo "run_parity.sh: no CIFAR-10 JPEG folder at $data; pass --data" >&2; exit 1; }
train="$repo/build/apps/greedyhash_train"
[[ -x "$train" ]] || { echo "run_parity.sh: build first (scripts/build.sh --apps)" >&2; exit 1; }

lines() { [[ -f "$1" ]] && wc -l < "$1" || echo 0; }
# True if folder $1 holds both records of seed $2, complete.
complete() {
  [[ $(lines "$1/ours-s$2/bit_$bit/metrics.jsonl") -ge $epochs &&
     $(lines "$1/reference-s$2.jsonl") -ge $epochs ]]
}
# shellcheck source=../reference/allocator.sh
source "$repo/bench/reference/allocator.sh"
machine() {
  echo "date: $(date -u +%F)"
  echo "greedyhash: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
  local avx512
  avx512="$(grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | xargs || true)"
  echo "avx512: ${avx512:-none}"
  echo "python torch, torchvision: $("$python" -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__)')"
  echo "threads: $threads"
  echo "backbone: $backbone"
  echo "reference allocator: $reference_allocator"
}
# A seed continued on another kind of CPU would mix two roundings in one curve.
same_machine() {
  local file="$out/machine-s$1.txt"
  if ! diff -q <(grep -E '^(cpu|avx512|threads):' "$file") \
               <(machine | grep -E '^(cpu|avx512|threads):') > /dev/null; then
    echo "run_parity.sh: seed $1 started on another machine ($file); delete $out/ours-s$1" \
         "and $out/reference-s$1.* to run it again here" >&2
    exit 1
  fi
}
# Trains greedyhash, then the reference on that run's split, for seed $1. Both save their
# state after every epoch, so an interrupted seed continues where it stopped.
run_seed() {
  local seed="$1" run="$out/ours-s$1" reference="$out/reference-s$1"
  local resume=()
  if [[ -f "$run/bit_$bit/last.pt" ]]; then
    same_machine "$seed"
    resume=(--resume)
  else
    rm -rf "$run" "$reference.pt" "$out/ours-s$seed.log" "$reference.log"
    machine > "$out/machine-s$seed.txt"
  fi
  if [[ $(lines "$run/bit_$bit/metrics.jsonl") -lt $epochs ]]; then
    echo "seed $seed: greedyhash ${resume[*]}" >&2
    "$train" --bit "$bit" --data-dir "$data" --output-dir "$run" --pretrained "" \
      --backbone "$backbone" --input-size "$size" --lr "$lr" --epochs "$epochs" --seed "$seed" --threads "$threads" \
      --eval-every 1 --val-database-size 5000 "${resume[@]}" >> "$out/ours-s$seed.log" 2>&1
  fi
  echo "seed $seed: reference" >&2
  env "${reference_env[@]}" "$python" "$repo/bench/reference/greedyhash_reference.py" \
    --data-dir "$data" --bit "$bit" --split "$run/bit_$bit/split.json" --input-size "$size" \
    --backbone "$backbone" --lr "$lr" --epochs "$epochs" --seed "$seed" --threads "$threads" \
    --eval-every 1 --val-database-size 5000 --query-size 1000 --database-size 5000 \
    --metrics-out "$reference.jsonl" --checkpoint "$reference.pt" --resume \
    > "$reference.json" 2>> "$reference.log"
  rm -f "$reference.pt"
}

mkdir -p "$out"
for seed in $seeds; do
  if [[ -n "$records" ]] && complete "$records" "$seed"; then
    echo "seed $seed: in $records, skipped" >&2
    continue
  fi
  if complete "$out" "$seed"; then
    echo "seed $seed: in $out, not run again" >&2
  else
    run_seed "$seed"
  fi
  if [[ -n "$records" ]]; then
    mkdir -p "$records/ours-s$seed/bit_$bit"
    cp "$out/ours-s$seed/bit_$bit/metrics.jsonl" "$records/ours-s$seed/bit_$bit/"
    cp "$out/reference-s$seed.jsonl" "$out/machine-s$seed.txt" "$records/"
  fi
done
echo "run_parity.sh: done; bench/accuracy/report.py ${records:-$out} makes the table and plot" >&2
