#!/usr/bin/env bash
# Training and encoding speed of every backbone at one input size, ours beside the Python
# reference: for each backbone and precision, one bench/run_benchmark.sh run (ours, then
# the reference under tuned jemalloc, same data, sizes and threads). Appends its three JSON
# lines (ours, python, ratios) to OUT and prints a Markdown table of all of them at the end.
#
#   bench/backbone_throughput.sh [--backbones "alexnet vgg16 resnet18 resnet34 resnet50 resnet101"]
#                                [--precisions "fp32 bf16"] [--size 224] [--train-images 96]
#                                [--database-size 192] [--batch-size 16] [--threads 2]
#                                [--data PATH] [--out FILE]
#
# Both sides run each precision with the same memory format: fp32 contiguous, bf16 under
# autocast with channels-last (ours' fastest settings on AVX512-BF16 CPUs, given to the
# reference too). Training is timed after 2 warm-up batches; encoding over --database-size
# images. The sizes are small so that VGG-16 at 224 px fits in minutes on 2 cores: expect
# run-to-run noise of several percent, and compare the two sides of one line, not lines.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
backbones="alexnet vgg16 resnet18 resnet34 resnet50 resnet101"
precisions="fp32 bf16"
size=224
train_images=96
database_size=192
batch_size=16
threads=2
data=()
out="$repo/output/backbone_throughput.jsonl"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --backbones) backbones="$2"; shift 2 ;;
    --precisions) precisions="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --train-images) train_images="$2"; shift 2 ;;
    --database-size) database_size="$2"; shift 2 ;;
    --batch-size) batch_size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --data) data=(--data "$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "backbone_throughput.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$out")"

sizes="--train-images $train_images --database-size $database_size --query-size 32"
sizes+=" --batch-size $batch_size --eval-batch-size $batch_size --warmup-batches 2 --bit 48"
for backbone in $backbones; do
  for precision in $precisions; do
    layout=""
    [[ "$precision" == bf16 ]] && layout="--channels-last"
    echo "backbone_throughput.sh: $backbone $precision ($size px)" >&2
    "$repo/bench/run_benchmark.sh" --threads "$threads" "${data[@]}" \
      --ours "--backbone $backbone --precision $precision $layout --size $size $sizes" \
      --python "--backbone $backbone --precision $precision $layout --input-size $size $sizes" \
      >> "$out"
  done
done

/usr/bin/python3 - "$out" <<'EOF'
import json
import sys

lines = [json.loads(line) for line in open(sys.argv[1])]
print("| backbone | precision | train img/s ours | Python | ratio "
      "| encode img/s ours | Python | ratio | peak RSS MB ours | Python |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for ours, py, ratio in zip(lines[0::3], lines[1::3], lines[2::3]):
    print(f"| {py['backbone']} | {py['precision']} "
          f"| {ours['train_img_per_s']:.2f} | {py['train_img_per_s']:.2f} "
          f"| {ratio['train_img_per_s']:.2f}x "
          f"| {ours['encode_img_per_s']:.1f} | {py['encode_img_per_s']:.1f} "
          f"| {ratio['encode_img_per_s']:.2f}x "
          f"| {ours['peak_rss_mb']:,.0f} | {py['peak_rss_mb']:,.0f} |")
EOF
