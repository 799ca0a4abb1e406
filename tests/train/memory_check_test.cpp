#include "greedyhash/train/memory_check.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace greedyhash {
namespace {

constexpr int64_t kGigabyte = 1000 * 1000 * 1000;

Config sized(int64_t batch_size, int64_t input_size) {
  Config config;
  config.batch_size = batch_size;
  config.input_size = input_size;
  return config;
}

TEST(MemoryCheck, ThePaperSettingsFitInTwoGigabytes) {
  // 32 x 6.6 MB + 0.69 GB of weights, gradients and momentum: about 0.9 GB.
  check_training_memory(sized(32, 224), c10::Device(c10::kCPU), 2 * kGigabyte);
}

TEST(MemoryCheck, TooLargeABatchIsOneLineNamingBothFlags) {
  // 256 images at 1024 px: about 160 MB each, 41 GB in all.
  expect_error(
      [] { check_training_memory(sized(256, 1024), c10::Device(c10::kCPU), 24 * kGigabyte); },
      {"--batch-size 256", "--input-size 1024", "24.0 GB", "lower --batch-size"});
  expect_error([] { check_training_memory(sized(200, 224), c10::Device(c10::kCPU), kGigabyte); },
               {"--batch-size 200"});
}

TEST(MemoryCheck, CudaAndUnknownMemoryAreNotChecked) {
  check_training_memory(sized(65536, 1024), c10::Device(c10::kCUDA, 0), kGigabyte);
  check_training_memory(sized(65536, 1024), c10::Device(c10::kCPU), 0);
}

TEST(MemoryCheck, PhysicalMemoryIsKnownHere) {
  EXPECT_GT(physical_memory_bytes(), 0);
}

}  // namespace
}  // namespace greedyhash
