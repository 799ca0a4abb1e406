#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cuda_test_support.h"
#include "greedyhash/runtime/autocast.h"

namespace greedyhash {
namespace {

// A bf16 scope on the device runs matrix products in bfloat16 and, when it ends, hands
// back float32 products and the state before it, nested scopes included.
TEST(AutocastScopeOnCuda, Bf16ProductsInsideFloatAfterAndTheStateRestored) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto device = device_under_test();
  const auto a = torch::randn({8, 8}, torch::TensorOptions(device));
  {
    AutocastScope outer(device, "bf16");
    {
      AutocastScope inner(device, "bf16");
      EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kBFloat16) << "the inner scope ended the outer";
    EXPECT_EQ(active_autocast_dtype(device), c10::ScalarType::BFloat16);
  }
  EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kFloat) << "autocast outlived its scope";
  EXPECT_FALSE(active_autocast_dtype(device).has_value());
  if (device.is_cuda()) {
    EXPECT_FALSE(active_autocast_dtype(torch::kCPU).has_value())
        << "a CUDA scope changed the CPU's";
  }
}

// CUDA's bf16 matrix products accumulate in float32 (cuBLAS), so the probe must say so.
TEST(AutocastScopeOnCuda, Bf16ProductsSumInFloat32) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  if (!device_under_test().is_cuda()) GTEST_SKIP() << "a CUDA fact; the CPU's depends on the CPU";
  EXPECT_TRUE(bf16_products_sum_in_float32(device_under_test()));
}

}  // namespace
}  // namespace greedyhash
