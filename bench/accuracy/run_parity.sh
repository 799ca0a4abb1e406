#!/usr/bin/env bash
# Learning-curve parity of greedyhash and the Python reference (bench/reference/): the
# same CIFAR-10 (I) split, hyperparameters and seeds, from random initialisation. Each
# seed trains ours first; the reference then reads that run's split.json, so both
# evaluate the same validation queries against the same database subset every epoch.
#
#   bench/accuracy/run_parity.sh [--seeds "1 2 3"] [--epochs 30] [--lr 0.01] [--bit 48]
#                                [--input-size 64] [--threads 2] [--data DIR] [--out DIR]
#
# --data: a CIFAR-10 JPEG folder (train/, test/); default: the unpacked
# ../shared/data/cifar10-jpg.tar.gz under /tmp/greedyhash-data-cache (as
# bench/run_benchmark.sh unpacks it). Writes OUT/ours-s<seed>/bit_<bit>/metrics.jsonl and
# OUT/reference-s<seed>.jsonl; bench/accuracy/report.py turns them into a table and a plot.
# A seed whose two files are complete is skipped, so an interrupted sweep resumes.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seeds="1 2 3"
epochs=30
lr=0.01
bit=48
size=64
threads=2
data="/tmp/greedyhash-data-cache/cifar10-jpg"
out="$repo/output/parity"
python="${PYTHON:-/usr/bin/python3}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --lr) lr="$2"; shift 2 ;;
    --bit) bit="$2"; shift 2 ;;
    --input-size) size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "run_parity.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -d "$data/train" ]] || { echo "run_parity.sh: no CIFAR-10 JPEG folder at $data; pass --data" >&2; exit 1; }
train="$repo/build/apps/greedyhash_train"
[[ -x "$train" ]] || { echo "run_parity.sh: build first (scripts/build.sh --apps)" >&2; exit 1; }

lines() { [[ -f "$1" ]] && wc -l < "$1" || echo 0; }
mkdir -p "$out"
for seed in $seeds; do
  run="$out/ours-s$seed"
  reference="$out/reference-s$seed.jsonl"
  if [[ $(lines "$run/bit_$bit/metrics.jsonl") -ge $epochs && $(lines "$reference") -ge $epochs ]]; then
    echo "seed $seed: done before, skipped"
    continue
  fi
  echo "seed $seed: greedyhash" >&2
  rm -rf "$run"
  "$train" --bit "$bit" --data-dir "$data" --output-dir "$run" --pretrained "" \
    --input-size "$size" --lr "$lr" --epochs "$epochs" --seed "$seed" --threads "$threads" \
    --eval-every 1 --val-database-size 5000 > "$out/ours-s$seed.log" 2>&1
  echo "seed $seed: reference" >&2
  "$python" "$repo/bench/reference/greedyhash_reference.py" --data-dir "$data" --bit "$bit" \
    --split "$run/bit_$bit/split.json" --input-size "$size" --lr "$lr" --epochs "$epochs" \
    --seed "$seed" --threads "$threads" --eval-every 1 --val-database-size 5000 \
    --metrics-out "$reference" > "$out/reference-s$seed.json" 2> "$out/reference-s$seed.log"
done
echo "run_parity.sh: done; bench/accuracy/report.py $out makes the table and plot" >&2
