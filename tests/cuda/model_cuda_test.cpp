#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cuda_test_support.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/loss.h"
#include "greedyhash/train/fused_momentum_sgd.h"

namespace greedyhash {
namespace {

// Normalised-looking images at 64 px (AlexNet's smallest side is 63), on the CPU.
torch::Tensor random_images(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({n, 3, 64, 64});
}

TEST(GreedyHashOnCuda, ForwardMatchesTheCpu) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto device = device_under_test();
  auto [on_cpu, on_device] = cpu_and_device_models(device, 3);
  torch::NoGradGuard no_grad;
  const auto images = random_images(6, 5);
  const auto a = on_cpu->forward(images);
  const auto b = on_device->forward(images.to(device));
  EXPECT_EQ(b.h.device(), device);

  const double scale = a.h.abs().max().item<double>();
  EXPECT_TRUE(close_to_cpu(b.h, a.h, 0, 1e-4 * scale));
  // Signs that float rounding cannot flip must agree; nearly all of them are such.
  const auto decided = a.h.abs() > 1e-3 * scale;
  EXPECT_GT(decided.to(torch::kFloat).mean().item<double>(), 0.95);
  EXPECT_TRUE(torch::equal(b.codes.cpu().masked_select(decided), a.codes.masked_select(decided)));
  // The classifier on the device's own codes, computed on the CPU.
  const auto expected_logits = on_cpu->code_classifier->forward(b.codes.cpu());
  EXPECT_TRUE(close_to_cpu(b.logits, expected_logits, 1e-4, 1e-5));
}

// Three SGD steps (FusedMomentumSGD; from the second step on, AccumulatingLinear adds
// its weight gradients into the prepared momentum buffers) move every parameter as they
// do on the CPU. Dropout is off (eval mode, see cpu_and_device_models); the step is
// otherwise the training one.
TEST(TrainingStepOnCuda, FusedSgdStepsMatchTheCpu) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto device = device_under_test();
  auto [on_cpu, on_device] = cpu_and_device_models(device, 3);
  std::vector<torch::Tensor> initial;
  for (const auto& p : on_cpu->parameters()) initial.push_back(p.detach().clone());
  const auto options = torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4);
  FusedMomentumSGD sgd_cpu(on_cpu->parameters(), options);
  FusedMomentumSGD sgd_device(on_device->parameters(), options);
  const auto targets = torch::tensor({0, 3, 7, 9, 1, 3}, torch::kLong);

  const auto take_step = [&targets](GreedyHash& model, FusedMomentumSGD& sgd, c10::Device on,
                                    const torch::Tensor& images) {
    const auto out = model->forward(images.to(on));
    const auto loss = greedy_hash_loss(out.logits, out.h, targets.to(on), 0.1).total;
    sgd.zero_grad();
    loss.backward();
    sgd.step();
  };
  for (int step = 0; step < 3; ++step) {
    const auto images = random_images(6, 10 + static_cast<uint64_t>(step));
    take_step(on_cpu, sgd_cpu, torch::kCPU, images);
    take_step(on_device, sgd_device, device, images);
  }
  // What the steps changed, compared relative to the largest change of each tensor.
  const auto a = on_cpu->named_parameters();
  const auto b = on_device->named_parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    const auto change_cpu = a[i].value().detach() - initial[i];
    const auto change_device = b[i].value().detach() - initial[i].to(device);
    const double scale = change_cpu.abs().max().item<double>();
    EXPECT_GT(scale, 0) << a[i].key() << " did not move";
    EXPECT_TRUE(close_to_cpu(change_device, change_cpu, 0, 1e-3 * scale)) << a[i].key();
  }
}

}  // namespace
}  // namespace greedyhash
