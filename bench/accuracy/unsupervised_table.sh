#!/usr/bin/env bash
# Unsupervised GreedyHash against LSH, PCA-sign and ITQ (FAISS) on embedding folders:
# for every folder, bit length and seed, greedyhash_train --features + greedyhash_eval, and
# greedyhash_baselines with the same seeds; then a markdown table of the means and spreads
# (bench/accuracy/unsupervised_report.py). Seeds already done are skipped (their JSON kept).
#
#   bench/accuracy/unsupervised_table.sh --out DIR [--bits "16 32 64"] [--seeds "1 2 3"]
#                                        [--epochs-16 300] [--epochs 60] FOLDER...
#
# FOLDER: an embedding folder (train.npy, query.npy, database.npy, labels), e.g. written by
# greedyhash_features from a trained run (docs/ACCURACY.md section 4 gives the commands).
# Epochs default to the paper's: 60, and 300 at 16 bits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$repo/build/apps"
bits="16 32 64"
seeds="1 2 3"
epochs=60
epochs16=300
out=""
folders=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --bits) bits="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --epochs-16) epochs16="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) folders+=("$1"); shift ;;
  esac
done
if [ -z "$out" ] || [ ${#folders[@]} -eq 0 ]; then
  echo "usage: $0 --out DIR FOLDER... (see --help)" >&2
  exit 2
fi

for folder in "${folders[@]}"; do
  name="$(basename "$folder")"
  for bit in $bits; do
    n=$epochs
    [ "$bit" = 16 ] && n=$epochs16
    mkdir -p "$out/$name"
    for seed in $seeds; do
      result="$out/$name/greedyhash_${bit}bit_seed${seed}.json"
      [ -f "$result" ] && continue
      run="$out/$name/runs/s$seed"
      "$bin/greedyhash_train" --features "$folder" --bit "$bit" --seed "$seed" \
        --epochs "$n" --output-dir "$run" > "$out/$name/train_${bit}bit_seed${seed}.log" 2>&1
      "$bin/greedyhash_eval" --bit "$bit" --output-dir "$run" > /dev/null
      cp "$run/bit_$bit/eval.json" "$result.tmp" && mv "$result.tmp" "$result"
      rm -f "$run/bit_$bit/last.pt"
      echo "$name $bit bits seed $seed: greedyhash done"
    done
    # shellcheck disable=SC2046
    "$bin/greedyhash_baselines" --features "$folder" --bit "$bit" --output-dir "$out/$name" \
      $(for s in $seeds; do printf -- '--seed %s ' "$s"; done)
  done
done
python3 "$repo/bench/accuracy/unsupervised_report.py" "$out"
