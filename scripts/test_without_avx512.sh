#!/usr/bin/env bash
# Runs the unit-test binary on an emulated CPU without AVX-512 (qemu-user's EPYC-Rome
# model: Zen 2, AVX2, no AVX-512, no AVX512-BF16), so that a machine with AVX-512 also
# proves the portable paths that machines without it take: the portable Hamming scan,
# LibTorch's non-oneDNN bf16 GEMM, the skips of CPU-specific tests.
# Usage: scripts/test_without_avx512.sh TEST_BINARY [all|training|others]
# The parts split the cases in two of similar length for a 2-core machine (measured side by
# side on 2 cores: 354 s and 302 s): `training` is PytorchSgd's five AlexNet training steps,
# `others` the rest.
# Exit 77 (ctest's "skipped") with the reason when the check cannot add anything here.
set -euo pipefail
usage="usage: scripts/test_without_avx512.sh TEST_BINARY [all|training|others]"
binary=${1:?$usage}
part=${2:-all}
case "$part" in
  all | training | others) ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
if ! grep -qw avx512f /proc/cpuinfo; then
  echo "skipped: this CPU has no AVX-512, so the native test run already takes the portable paths"
  exit 77
fi
if ! command -v qemu-x86_64 >/dev/null; then
  echo "skipped: qemu-x86_64 is missing (package qemu-user; scripts/install_deps.sh installs it)"
  exit 77
fi
# Only the suites whose code takes CPU-dependent paths run here (the Hamming scan kernels,
# LibTorch's GEMM and convolution kernels in fp32 and bf16, the device transform, the
# optimiser); the rest (files, configs, splits, checkpoints) computes the same on every
# x86-64 and runs natively. Emulation makes each test ~20x slower, so this keeps the
# check to a few minutes of CI. The Distributed cases are left out as well: they fork
# worker processes from a threaded process, which qemu-user does not survive reliably
# (seen: an assertion inside qemu).
suites=(AccumulatingLinear GreedyHash GreedySign GreedyHashLoss MemoryFormat PytorchForward
  TorchscriptExport AutocastScope Bf16Products FusedMomentumSGD DeviceTransform
  BatchLoader PilPreprocessing BinaryCodes Hamming LabelMasks LabeledCodes RetrievalMetrics
  ClassificationAccuracy BinaryIndex)
# PytorchSgd (CPU-dependent as well) is added by part: it alone is the `training` part.
# Left out as well: the slowest cases under emulation (0.5 to 3 min each), whose checks
# the cases kept here already make with the same kernels: the model's parameter names and
# output shapes (not values), a loss that falls after one step (PytorchSgd checks five
# steps against torch.optim, value by value) and channels-last against contiguous outputs
# (PytorchForward checks both layouts against PyTorch's).
slow_duplicates=(GreedyHash.ParameterNamesAndShapesMatchTorchvision
  GreedyHash.OutputShapesAt224And64 GreedyHash.OneSgdStepLowersTheLossOnAFixedBatch
  MemoryFormat.ChannelsLastKeepsParametersValuesAndOutputs)
case "$part" in
  all) suites+=(PytorchSgd) ;;
  training) suites=(PytorchSgd) ;;
esac
filter="$(printf '%s.*:' "${suites[@]}")"
filter="${filter%:}-$(printf '%s:' "${slow_duplicates[@]}")"
# Read by tests that would otherwise spend minutes on work emulation adds nothing to
# (PytorchForward then keeps to its 64 px images).
export GREEDYHASH_TEST_EMULATED_CPU=1
# qemu warns once per CPU feature of the model that its emulator lacks (rdseed, sha-ni,
# ...); none of them matters here.
set -o pipefail
qemu-x86_64 -cpu EPYC-Rome "$binary" --gtest_brief=1 --gtest_filter="${filter%:}" 2>&1 |
  grep -v '^qemu-x86_64: warning: TCG'
