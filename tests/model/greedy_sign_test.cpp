#include "greedyhash/model/greedy_sign.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace greedyhash {
namespace {

TEST(GreedySign, ForwardIsSignWithZeroMappedToPlusOne) {
  const auto h = torch::tensor({-2.0, -1e-8, 0.0, -0.0, 1e-8, 0.3, 5.0});
  const auto b = greedy_sign(h);
  const std::vector<double> expected = {-1, -1, 1, 1, 1, 1, 1};
  ASSERT_EQ(b.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(b[static_cast<int64_t>(i)].item<double>(), expected[i]) << "element " << i;
  }
}

TEST(GreedySign, BackwardIsTheIdentity) {
  // L = sum(w * sign(h)): the true derivative of sign is 0 almost everywhere, the
  // straight-through one makes dL/dh = w exactly.
  const auto h = torch::tensor({-1.5, -0.2, 0.0, 0.7, 3.0}, torch::requires_grad());
  const auto w = torch::tensor({0.25, -3.0, 1.0, 2.5, -0.125});
  (w * greedy_sign(h)).sum().backward();
  ASSERT_TRUE(h.grad().defined());
  EXPECT_TRUE(torch::equal(h.grad(), w));
}

TEST(GreedySign, PreservesShapeAndDtype) {
  const auto h = torch::randn({3, 4, 5}, torch::kFloat64);
  const auto b = greedy_sign(h);
  EXPECT_EQ(b.sizes(), h.sizes());
  EXPECT_EQ(b.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(b.abs(), torch::ones_like(h)));
}

}  // namespace
}  // namespace greedyhash
