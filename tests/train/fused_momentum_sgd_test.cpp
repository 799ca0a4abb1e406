#include "greedyhash/train/fused_momentum_sgd.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "greedyhash/error.h"
#include "greedyhash/model/accumulating_linear.h"

namespace greedyhash {
namespace {

// A small two-layer network trained side by side with torch::optim::SGD (the reference)
// and FusedMomentumSGD from the same start and batches: the weights must agree after
// every step, up to float rounding. `first` is the fused network's first layer.
template <typename FirstLayer>
void expect_fused_follows_torch_sgd(FirstLayer first, int* first_weight_hook_calls) {
  torch::manual_seed(7);
  torch::nn::Sequential reference(torch::nn::Linear(6, 5), torch::nn::ReLU(),
                                  torch::nn::Linear(5, 3));
  torch::nn::Sequential fused(first, torch::nn::ReLU(), torch::nn::Linear(5, 3));
  {
    torch::NoGradGuard no_grad;
    auto to = fused->parameters();
    const auto from = reference->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  // Counts the gradients autograd delivers; LibTorch 2.x also calls the hook, with an
  // undefined tensor, when the layer delivered none (1.13 does not call it then).
  first->weight.register_hook([first_weight_hook_calls](const torch::Tensor& grad) {
    if (grad.defined()) ++*first_weight_hook_calls;
  });
  const auto options = torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-3);
  torch::optim::SGD reference_sgd(reference->parameters(), options);
  FusedMomentumSGD fused_sgd(fused->parameters(), options);

  for (int step = 0; step < 5; ++step) {
    const auto x = torch::randn({8, 6});
    const auto y = torch::randint(0, 3, {8});
    reference_sgd.zero_grad();
    torch::nn::functional::cross_entropy(reference->forward(x), y).backward();
    reference_sgd.step();
    fused_sgd.zero_grad();
    torch::nn::functional::cross_entropy(fused->forward(x), y).backward();
    fused_sgd.step();

    const auto a = reference->parameters();
    const auto b = fused->parameters();
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-5, 1e-6)) << "step " << step << " param " << i;
      EXPECT_FALSE(b[i].grad().defined()) << "no gradient tensor is kept between steps";
    }
  }
}

TEST(FusedMomentumSGD, FollowsTorchSgdStepByStep) {
  int hook_calls = 0;
  expect_fused_follows_torch_sgd(torch::nn::Linear(6, 5), &hook_calls);
  EXPECT_EQ(hook_calls, 5) << "autograd delivers the first layer's gradient every step";
}

// From the second step on, the last layer's gradient makes the optimiser prepare every
// momentum buffer before the first layer's backward runs, which then adds its weight
// gradient to the buffer itself: autograd has nothing left to deliver to that weight.
TEST(FusedMomentumSGD, TakesGradientsAddedInPlaceByAccumulatingLinear) {
  int hook_calls = 0;
  expect_fused_follows_torch_sgd(AccumulatingLinear(6, 5), &hook_calls);
  EXPECT_EQ(hook_calls, 1) << "only the first step, before any buffer exists";
}

// Momentum and weight decay come from the parameter group, as in torch::optim::SGD, not
// from the options the optimiser was built with: changed on the group after
// construction, both optimisers must follow the change.
TEST(FusedMomentumSGD, ReadsMomentumAndWeightDecayFromTheGroup) {
  torch::manual_seed(9);
  auto reference = torch::randn({4}, torch::requires_grad());
  auto fused = reference.detach().clone().requires_grad_(true);
  const auto options = torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01);
  torch::optim::SGD reference_sgd({reference}, options);
  FusedMomentumSGD fused_sgd({fused}, options);
  for (auto* sgd : std::initializer_list<torch::optim::SGD*>{&reference_sgd, &fused_sgd}) {
    auto& group = static_cast<torch::optim::SGDOptions&>(sgd->param_groups()[0].options());
    group.momentum(0.5).weight_decay(0.2);
  }
  const auto target = torch::randn({4});
  for (int step = 0; step < 4; ++step) {
    reference_sgd.zero_grad();
    (reference - target).square().sum().backward();
    reference_sgd.step();
    fused_sgd.zero_grad();
    (fused - target).square().sum().backward();
    fused_sgd.step();
    EXPECT_TRUE(torch::allclose(reference, fused, 1e-6, 1e-7)) << "step " << step;
  }
}

TEST(FusedMomentumSGD, RefusesOptionsItCannotFuse) {
  auto p = torch::zeros({2}, torch::requires_grad());
  EXPECT_THROW(FusedMomentumSGD({p}, torch::optim::SGDOptions(0.1)), Error);
  EXPECT_THROW(FusedMomentumSGD({p}, torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true)),
               Error);
}

}  // namespace
}  // namespace greedyhash
