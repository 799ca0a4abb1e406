#!/usr/bin/env bash
# The GPU check of docs/PERFORMANCE.md, in one script.
#
# Here (a machine with the Debian packages), once:
#   bench/gpu_check.sh --prepare
# copies the header-only dependencies (CLI11, nlohmann_json, spdlog, fmt) and the JPEG
# data archive into build-deps/ (ignored by git, ~25 MB), to be carried along.
#
# There (CUDA + Python PyTorch 2.x + cmake + ninja; OpenCV, CLI11, spdlog, nlohmann_json
# and GTest not needed), from the repository root with build-deps/ present:
#   bench/gpu_check.sh
# builds greedyhash_bench_pipeline against the LibTorch inside Python's torch
# (GREEDYHASH_WITH_OPENCV=OFF, vendored headers), converts the JPEGs to CIFAR-10 binary
# batches, runs 1 epoch + eval on CIFAR-10 (I) (5,000 train, 1,000 queries, 59,000
# database) at 224 px for 48 bits in fp32, bf16 and bf16 + channels-last, then the Python
# reference on the same data, and writes to $OUT (default build-gpu/out): gpu.txt,
# log.txt, ours_fp32.json, ours_bf16.json, ours_bf16_cl.json, python.json, ratios.json.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$repo/build-deps"

if [[ "${1:-}" == "--prepare" ]]; then
  mkdir -p "$deps/include"
  for dir in CLI nlohmann spdlog fmt; do
    rm -rf "${deps:?}/include/$dir"
    cp -r "/usr/include/$dir" "$deps/include/$dir"
  done
  archive="${DATA_ARCHIVE:-$repo/../shared/data/cifar10-jpg.tar.gz}"
  # A worktree under wt/ sits one level deeper than the main checkout.
  [[ -f "$archive" ]] || archive="$repo/../../shared/data/cifar10-jpg.tar.gz"
  cp "$archive" "$deps/cifar10-jpg.tar.gz"
  du -sh "$deps"
  exit 0
fi

out="${OUT:-$repo/build-gpu/out}"
mkdir -p "$out"
log="$out/log.txt"
python="${PYTHON:-python3}"
threads="${THREADS:-$(nproc)}"
work="${WORK_DIR:-/tmp/greedyhash-gpu}"
exec > >(tee -a "$log") 2>&1

{ nvidia-smi -L || true; "$python" -c 'import torch; print("torch", torch.__version__,
  "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'; nproc; } > "$out/gpu.txt"
cat "$out/gpu.txt"

prefix="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
cmake -S "$repo" -B "$repo/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DGREEDYHASH_WITH_OPENCV=OFF -DGREEDYHASH_BUILD_TESTS=OFF \
  -DGREEDYHASH_VENDORED_HEADERS="$deps/include" -DGREEDYHASH_WERROR=OFF \
  -DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
cmake --build "$repo/build-gpu" --target greedyhash_bench_pipeline
bench="$repo/build-gpu/bench/greedyhash_bench_pipeline"

mkdir -p "$work"
[[ -d "$work/cifar10-jpg" ]] || tar xzf "$deps/cifar10-jpg.tar.gz" -C "$work"
[[ -d "$work/bin/cifar-10-batches-bin" ]] ||
  "$python" "$repo/bench/jpeg_to_cifar_binary.py" "$work/cifar10-jpg" "$work/bin"

# Full CIFAR-10 (I): no size flags. Eval batches of 500 keep the GPU busy.
common=(--data-dir "$work/bin/cifar-10-batches-bin" --device cuda --threads "$threads"
        --eval-batch-size 500)
"$bench" "${common[@]}" --precision fp32 > "$out/ours_fp32.json"
"$bench" "${common[@]}" --precision bf16 > "$out/ours_bf16.json"
"$bench" "${common[@]}" --precision bf16 --channels-last > "$out/ours_bf16_cl.json"
"$python" "$repo/bench/reference/greedyhash_reference.py" --data-dir "$work/cifar10-jpg" \
  --device cuda --threads "$threads" --workers "$(( threads > 12 ? 12 : threads ))" \
  --eval-batch-size 500 > "$out/python.json"

"$python" - "$out" <<'EOF'
import json
import os
import sys

out = sys.argv[1]
py = json.load(open(os.path.join(out, "python.json")))
ratios = {}
for name in ("ours_fp32", "ours_bf16", "ours_bf16_cl"):
    ours = json.load(open(os.path.join(out, name + ".json")))
    ratios[name] = {
        "train_epoch_seconds": ours["train_seconds"],
        "eval_seconds": ours["eval_seconds"],
        "train_img_per_s_ratio": ours["train_img_per_s"] / py["train_img_per_s"],
        "encode_img_per_s_ratio": ours["encode_img_per_s"] / py["encode_img_per_s"],
        "eval_speedup": py["eval_seconds"] / ours["eval_seconds"],
        "map": ours["map"], "python_map": py["map"],
    }
json.dump(ratios, open(os.path.join(out, "ratios.json"), "w"), indent=1)
print(json.dumps(ratios, indent=1))
EOF
