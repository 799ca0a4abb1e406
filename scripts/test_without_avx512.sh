#!/usr/bin/env bash
# Runs the unit-test binary on an emulated CPU without AVX-512 (qemu-user's EPYC-Rome
# model: Zen 2, AVX2, no AVX-512, no AVX512-BF16), so that a machine with AVX-512 also
# proves the portable paths that machines without it take: the portable Hamming scan,
# LibTorch's non-oneDNN bf16 GEMM, the skips of CPU-specific tests.
# Usage: scripts/test_without_avx512.sh TEST_BINARY [SHARD_INDEX SHARD_COUNT]
# Exit 77 (ctest's "skipped") with the reason when the check cannot add anything here.
set -euo pipefail
binary=${1:?usage: scripts/test_without_avx512.sh TEST_BINARY [SHARD_INDEX SHARD_COUNT]}
if ! grep -qw avx512f /proc/cpuinfo; then
  echo "skipped: this CPU has no AVX-512, so the native test run already takes the portable paths"
  exit 77
fi
if ! command -v qemu-x86_64 >/dev/null; then
  echo "skipped: qemu-x86_64 is missing (package qemu-user; scripts/install_deps.sh installs it)"
  exit 77
fi
if [ $# -ge 3 ]; then
  export GTEST_SHARD_INDEX=$2 GTEST_TOTAL_SHARDS=$3
fi
# Only the suites whose code takes CPU-dependent paths run here (the Hamming scan kernels,
# LibTorch's GEMM and convolution kernels in fp32 and bf16, the device transform, the
# optimiser); the rest (files, configs, splits, checkpoints) computes the same on every
# x86-64 and runs natively. Emulation makes each test ~20x slower, so this keeps the
# check to a few minutes of CI. The Distributed cases are left out as well: they fork
# worker processes from a threaded process, which qemu-user does not survive reliably
# (seen: an assertion inside qemu).
suites='AccumulatingLinear GreedyHash GreedySign GreedyHashLoss MemoryFormat PytorchForward
  TorchscriptExport AutocastScope Bf16Products FusedMomentumSGD PytorchSgd DeviceTransform
  BatchLoader PilPreprocessing BinaryCodes Hamming LabelMasks LabeledCodes RetrievalMetrics
  ClassificationAccuracy BinaryIndex'
filter="$(printf '%s.*:' $suites)"
# qemu warns once per CPU feature of the model that its emulator lacks (rdseed, sha-ni,
# ...); none of them matters here.
set -o pipefail
qemu-x86_64 -cpu EPYC-Rome "$binary" --gtest_brief=1 --gtest_filter="${filter%:}" 2>&1 |
  grep -v '^qemu-x86_64: warning: TCG'
