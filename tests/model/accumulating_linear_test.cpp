#include "greedyhash/model/accumulating_linear.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "greedyhash/runtime/autocast.h"

namespace greedyhash {
namespace {

// The reference is LibTorch's own nn::Linear with the same parameters, input and
// upstream gradient; its gradients come from autograd's built-in linear backward.
struct Pair {
  Pair(int64_t in, int64_t out) : ours(in, out), reference(in, out) {
    torch::NoGradGuard no_grad;
    reference->weight.copy_(ours->weight);
    reference->bias.copy_(ours->bias);
  }
  AccumulatingLinear ours;
  torch::nn::Linear reference;
};

// Runs forward and backward of `layer` on x with upstream gradient r; returns the input
// gradient.
template <typename Layer>
torch::Tensor backward_through(Layer& layer, const torch::Tensor& x, const torch::Tensor& r,
                               const std::string& precision = "fp32") {
  auto input = x.clone().requires_grad_(true);
  torch::Tensor out;
  {
    AutocastScope autocast(torch::kCPU, precision);
    out = layer->forward(input);
  }
  (out.to(torch::kFloat) * r).sum().backward();
  return input.grad();
}

TEST(AccumulatingLinear, GradientsMatchLinearWithoutAnExistingGradient) {
  torch::manual_seed(3);
  Pair layers(7, 4);
  const auto x = torch::randn({5, 7});
  const auto r = torch::randn({5, 4});
  EXPECT_TRUE(torch::allclose(layers.ours->forward(x), layers.reference->forward(x)));
  const auto input_grad = backward_through(layers.ours, x, r);
  const auto reference_input_grad = backward_through(layers.reference, x, r);
  EXPECT_TRUE(torch::allclose(input_grad, reference_input_grad, 1e-5, 1e-6));
  EXPECT_TRUE(
      torch::allclose(layers.ours->weight.grad(), layers.reference->weight.grad(), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(layers.ours->bias.grad(), layers.reference->bias.grad(), 1e-5, 1e-6));
}

TEST(AccumulatingLinear, AddsIntoTheExistingGradientInPlace) {
  torch::manual_seed(4);
  Pair layers(6, 3);
  const auto x = torch::randn({4, 6});
  const auto r = torch::randn({4, 3});
  const auto previous = torch::randn({3, 6});
  layers.ours->weight.mutable_grad() = previous.clone();
  const void* storage = layers.ours->weight.grad().data_ptr();
  backward_through(layers.ours, x, r);
  backward_through(layers.reference, x, r);
  EXPECT_EQ(layers.ours->weight.grad().data_ptr(), storage) << "the gradient was replaced";
  EXPECT_TRUE(torch::allclose(layers.ours->weight.grad(),
                              previous + layers.reference->weight.grad(), 1e-5, 1e-6));
}

// bf16 autocast: a weight of 600 x 8192 makes the in-place path add the bf16 gradient in
// two row chunks (8 MB each at most). Compared with nn::Linear under the same autocast.
TEST(AccumulatingLinear, FollowsAutocastAndChunksTheLowPrecisionGradient) {
  torch::manual_seed(5);
  Pair layers(8192, 600);
  const auto x = torch::randn({3, 8192});
  const auto r = torch::randn({3, 600});
  {
    AutocastScope autocast(torch::kCPU, "bf16");
    torch::NoGradGuard no_grad;
    const auto out = layers.ours->forward(x);
    EXPECT_EQ(out.scalar_type(), layers.reference->forward(x).scalar_type());
  }
  const auto previous = torch::randn({600, 8192});
  layers.ours->weight.mutable_grad() = previous.clone();
  const auto input_grad = backward_through(layers.ours, x, r, "bf16");
  const auto reference_input_grad = backward_through(layers.reference, x, r, "bf16");
  EXPECT_EQ(layers.ours->weight.grad().scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(input_grad, reference_input_grad, 1e-2, 1e-2));
  EXPECT_TRUE(torch::allclose(layers.ours->weight.grad(),
                              previous + layers.reference->weight.grad(), 1e-2, 1e-2));
  EXPECT_TRUE(torch::allclose(layers.ours->bias.grad(), layers.reference->bias.grad(), 1e-2, 1e-2));
}

}  // namespace
}  // namespace greedyhash
