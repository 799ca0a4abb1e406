#include "greedyhash/runtime/autocast.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

namespace greedyhash {
namespace {

// Autocast state read with the API of the LibTorch at hand (2.4 replaced the per-device
// functions).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cpu_enabled() {
  return at::autocast::is_autocast_enabled(at::kCPU);
}
c10::ScalarType cuda_dtype() {
  return at::autocast::get_autocast_dtype(at::kCUDA);
}
#else
bool cpu_enabled() {
  return at::autocast::is_cpu_enabled();
}
c10::ScalarType cuda_dtype() {
  return at::autocast::get_autocast_gpu_dtype();
}
#endif

TEST(AutocastScope, Fp32ChangesNothing) {
  AutocastScope scope(torch::kCPU, "fp32");
  EXPECT_FALSE(cpu_enabled());
  EXPECT_FALSE(active_autocast_dtype(torch::kCPU).has_value());
}

// Nested scopes: the inner one's end leaves the outer one active; the outer one's end
// restores the state before it.
TEST(AutocastScope, NestedScopesLeaveTheOuterOneActive) {
  {
    AutocastScope outer(torch::kCPU, "bf16");
    {
      AutocastScope inner(torch::kCPU, "bf16");
      EXPECT_TRUE(cpu_enabled());
    }
    EXPECT_TRUE(cpu_enabled()) << "the inner scope switched the outer one off";
    EXPECT_EQ(active_autocast_dtype(torch::kCPU), c10::ScalarType::BFloat16);
    const auto a = torch::randn({4, 4});
    EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kBFloat16) << "autocast is not in effect";
  }
  EXPECT_FALSE(cpu_enabled());
}

// CUDA autocast defaults to float16; a bf16 scope must hand that back. Autocast's flags
// are thread-local settings, so this runs without a GPU (LibTorch 1.13 lets the CPU
// autocast dtype be bf16 only, hence the CUDA flags).
TEST(AutocastScope, RestoresTheDtypeInForceBefore) {
  const c10::Device cuda(c10::kCUDA, 0);
  ASSERT_EQ(cuda_dtype(), at::kHalf);
  {
    AutocastScope scope(cuda, "bf16");
    EXPECT_EQ(active_autocast_dtype(cuda), c10::ScalarType::BFloat16);
  }
  EXPECT_FALSE(active_autocast_dtype(cuda).has_value());
  EXPECT_EQ(cuda_dtype(), at::kHalf) << "the float16 default was not restored";
}

// The probe's verdict must match the error of a realistic product (600 terms, as in the
// AccumulatingLinear tests): bf16 output rounding alone is at most 2^-8 relative, while
// summing in bf16 loses several percent.
TEST(Bf16Products, ProbeAgreesWithTheErrorOfARealProduct) {
  torch::manual_seed(11);
  const auto a = torch::randn({3, 600}).to(torch::kBFloat16);
  const auto b = torch::randn({600, 2048}).to(torch::kBFloat16);
  const auto exact = a.to(torch::kDouble).mm(b.to(torch::kDouble));
  const double error =
      ((a.mm(b).to(torch::kDouble) - exact).abs().max() / exact.abs().max()).item<double>();
  if (bf16_products_sum_in_float32(torch::kCPU)) {
    EXPECT_LT(error, 0.01);
  } else {
    EXPECT_GT(error, 0.01);
  }
}

}  // namespace
}  // namespace greedyhash
