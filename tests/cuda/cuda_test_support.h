#pragma once

#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/types.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/model/greedy_hash.h"

// What the CUDA tests share. Each test runs a path on the CPU and on the device under
// test and compares the two. The device under test is CUDA when present; without it the
// tests skip, unless GREEDYHASH_CUDA_TESTS_ON_CPU=1 makes the CPU stand in for it, which
// checks the tests' own plumbing (bench/gpu_check.sh --rehearse) but compares nothing.

namespace greedyhash {

inline bool cpu_stands_in_for_cuda() {
  const char* value = std::getenv("GREEDYHASH_CUDA_TESTS_ON_CPU");
  return value != nullptr && std::string(value) == "1";
}

inline c10::Device device_under_test() {
  return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
}

// Skips the calling test where no device under test is at hand. On CUDA, also turns off
// TF32 (on by default for cuDNN's convolutions, ~1e-3 relative error) so that float32
// results are comparable with the CPU's at float32 rounding.
#define GREEDYHASH_SKIP_WITHOUT_CUDA()                                             \
  do {                                                                             \
    if (!torch::cuda::is_available() && !::greedyhash::cpu_stands_in_for_cuda()) { \
      GTEST_SKIP() << "no CUDA device";                                            \
    }                                                                              \
    at::globalContext().setAllowTF32CuDNN(false);                                  \
    at::globalContext().setAllowTF32CuBLAS(false);                                 \
  } while (false)

// `on_device` brought to the CPU equals `on_cpu` within atol + rtol * |on_cpu|
// (torch::allclose), same shape and dtype; the message gives the largest difference.
inline ::testing::AssertionResult close_to_cpu(const torch::Tensor& on_device,
                                               const torch::Tensor& on_cpu, double rtol,
                                               double atol) {
  const auto back = on_device.cpu();
  if (back.sizes() != on_cpu.sizes() || back.scalar_type() != on_cpu.scalar_type()) {
    return ::testing::AssertionFailure()
           << "shape/dtype " << back.sizes() << " " << back.scalar_type() << " vs "
           << on_cpu.sizes() << " " << on_cpu.scalar_type();
  }
  const auto a = back.to(torch::kDouble);
  const auto b = on_cpu.to(torch::kDouble);
  if (torch::allclose(a, b, rtol, atol)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "largest difference " << (a - b).abs().max().item<double>() << " (atol " << atol
         << ", rtol " << rtol << ")";
}

// `n` random 32 x 32 RGB images with labels 0, 1, ..., 9, 0, 1, ... (CIFAR-10's shape).
inline ImageDataset random_cifar_like_dataset(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  ImageDataset dataset;
  dataset.images = torch::randint(0, 256, {n, 3, 32, 32}, torch::kByte);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(i % 10);
  dataset.labels = one_hot_labels(ids, 10);
  dataset.sources.assign(static_cast<size_t>(n), "random");
  for (int c = 0; c < 10; ++c) dataset.class_names.push_back("class" + std::to_string(c));
  return dataset;
}

// Two copies of one 48-bit, 10-class model (the same initial weights, drawn from the CPU
// generator seeded with `seed`), the first on the CPU, the second on `device`; both in eval
// mode: dropout's masks would come from each device's own generator.
inline std::pair<GreedyHash, GreedyHash> cpu_and_device_models(c10::Device device, uint64_t seed) {
  torch::manual_seed(seed);
  GreedyHash on_cpu(48, 10);
  torch::manual_seed(seed);
  GreedyHash on_device(48, 10);
  on_device->to(device);
  on_cpu->eval();
  on_device->eval();
  return {on_cpu, on_device};
}

}  // namespace greedyhash
