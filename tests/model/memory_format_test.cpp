#include "greedyhash/model/memory_format.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {
namespace {

TEST(MemoryFormat, ChannelsLastKeepsParametersValuesAndOutputs) {
  torch::manual_seed(3);
  GreedyHash reference(12, 10);
  GreedyHash converted(12, 10);
  {
    torch::NoGradGuard no_grad;
    const auto from = reference->parameters();
    auto to = converted->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  reference->eval();
  converted->eval();
  // The optimiser is built before the conversion: it must still own the model's tensors.
  torch::optim::SGD sgd(converted->parameters(), torch::optim::SGDOptions(0.1));
  const auto* impl_before =
      converted->named_parameters()["features.0.weight"].unsafeGetTensorImpl();

  use_channels_last(*converted);

  const auto conv_weight = converted->named_parameters()["features.0.weight"];
  EXPECT_EQ(conv_weight.unsafeGetTensorImpl(), impl_before);
  for (const auto& p : converted->parameters()) {
    if (p.dim() == 4) {
      EXPECT_TRUE(p.is_contiguous(at::MemoryFormat::ChannelsLast));
      EXPECT_FALSE(p.is_contiguous());
    }
  }
  // Same values, hence (up to float reordering in the kernels) the same codes h as the
  // untouched NCHW model computes.
  const auto x = torch::randn({2, 3, 63, 63});
  const auto expected = reference->forward(x);
  const auto actual = converted->forward(x);
  EXPECT_TRUE(torch::allclose(actual.h, expected.h, 1e-4, 1e-5));

  // A step through the optimiser built earlier moves the converted weight.
  const auto before = conv_weight.clone();
  converted->train();
  sgd.zero_grad();
  converted->forward(x).h.sum().backward();
  sgd.step();
  EXPECT_FALSE(torch::equal(conv_weight, before));
}

}  // namespace
}  // namespace greedyhash
