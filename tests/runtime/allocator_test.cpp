// The allocator every executable is linked with: jemalloc, tuned to keep freed memory.
#include "greedyhash/runtime/allocator.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <cstdlib>

namespace greedyhash {
namespace {

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

#ifdef GREEDYHASH_WITH_JEMALLOC
constexpr bool kJemalloc = true;
#else
constexpr bool kJemalloc = false;
#endif

TEST(Allocator, DescribesTheTunedJemalloc) {
  if (!kJemalloc) GTEST_SKIP() << "built without libjemalloc-dev: " << allocator_description();
  if (std::getenv("MALLOC_CONF") != nullptr) GTEST_SKIP() << "MALLOC_CONF overrides the settings";
  const std::string description = allocator_description();
  EXPECT_EQ(description.rfind("jemalloc 5", 0), 0u) << description;
  EXPECT_NE(description.find("oversize_threshold 0, dirty_decay_ms -1, muzzy_decay_ms -1"),
            std::string::npos)
      << description;
}

// What the setting is for: a training step frees and allocates blocks far over glibc's
// 32 MB mmap limit (ResNet-50's activations at 224 px, AlexNet's 151 MB fc6 gradient).
// The second 160 MB tensor must reuse the first one's pages: 40,960 pages of 4 KiB would
// each fault again if they had gone back to the system.
TEST(Allocator, AFreed160MbTensorIsReusedWithoutPageFaults) {
  if (!kJemalloc) GTEST_SKIP() << "built without libjemalloc-dev: " << allocator_description();
  if (std::getenv("MALLOC_CONF") != nullptr) GTEST_SKIP() << "MALLOC_CONF overrides the settings";
  constexpr int64_t kFloats = int64_t{40} << 20;  // 160 MiB
  torch::empty({kFloats}).fill_(1.0f);            // allocated, touched, freed
  const long before = minor_page_faults();
  const auto again = torch::empty({kFloats}).fill_(2.0f);
  const long faults = minor_page_faults() - before;
  EXPECT_LT(faults, 2000) << "the freed pages went back to the system";
  EXPECT_EQ(again[kFloats - 1].item<float>(), 2.0f);
}

}  // namespace
}  // namespace greedyhash
