#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <numeric>

#include "cuda_test_support.h"
#include "greedyhash/data/device_transform.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/model/checkpoint.h"
#include "greedyhash/train/training_state.h"
#include "test_support.h"

namespace greedyhash {
namespace {

// encode_images on the device (batches of 5, the last one partial) gives the CPU's codes,
// logits and labels, back on the CPU. Codes are compared where float rounding cannot
// flip the sign: |h| well above rounding, h taken from a CPU forward pass.
TEST(EncoderOnCuda, CodesMatchTheCpu) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto device = device_under_test();
  const ImageDataset dataset = random_cifar_like_dataset(12, 13);
  const std::vector<int64_t> rows = {11, 0, 3, 4, 5, 6, 7, 8, 9, 2, 1};
  auto [on_cpu, on_device] = cpu_and_device_models(device, 21);
  EncodeOptions options;
  options.batch_size = 5;
  options.transform = resize_transform(64);
  options.progress_label = "";
  const auto expected = encode_images(on_cpu, dataset, rows, options);
  options.device = device;
  const auto encoded = encode_images(on_device, dataset, rows, options);

  ASSERT_TRUE(encoded.codes.device().is_cpu());
  EXPECT_TRUE(torch::equal(encoded.labels, expected.labels));
  torch::Tensor h;
  {
    torch::NoGradGuard no_grad;
    const auto index = torch::tensor(rows, torch::kLong);
    h = on_cpu->forward(transform_batch(dataset.images.index_select(0, index), options.transform))
            .h;
  }
  const auto decided = h.abs() > 1e-3 * h.abs().max();
  EXPECT_GT(decided.to(torch::kFloat).mean().item<double>(), 0.95);
  EXPECT_TRUE(
      torch::equal(encoded.codes.masked_select(decided), expected.codes.masked_select(decided)));
  const double scale = expected.logits.abs().max().item<double>();
  if (torch::equal(encoded.codes, expected.codes)) {
    EXPECT_TRUE(close_to_cpu(encoded.logits, expected.logits, 0, 1e-4 * scale));
  }
}

struct Net : torch::nn::Module {
  explicit Net(c10::Device device) {
    torch::manual_seed(31);
    layer = register_module("layer", torch::nn::Linear(5, 3));
    to(device);
  }
  torch::nn::Linear layer{nullptr};
};

torch::optim::SGD make_sgd(Net& net) {
  return torch::optim::SGD(net.parameters(),
                           torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
}

void steps(Net& net, torch::optim::SGD& sgd, c10::Device device, int count) {
  for (int i = 0; i < count; ++i) {
    torch::manual_seed(40 + static_cast<uint64_t>(i));
    const auto x = torch::randn({4, 5}).to(device);
    sgd.zero_grad();
    net.layer->forward(x).pow(2).sum().backward();
    sgd.step();
  }
}

// Momentum buffers by shape (the state's key type differs between LibTorch versions).
std::map<std::vector<int64_t>, torch::Tensor> momentum_buffers(torch::optim::SGD& sgd) {
  std::map<std::vector<int64_t>, torch::Tensor> buffers;
  for (const auto& entry : sgd.state()) {
    const auto& buffer =
        static_cast<const torch::optim::SGDParamState&>(*entry.second).momentum_buffer();
    buffers[buffer.sizes().vec()] = buffer;
  }
  return buffers;
}

// --resume on a GPU: the momentum buffers come back on the parameters' device (also from
// a state saved by a CPU run), the device's generator continues where it was, and the
// resumed optimiser then takes the same steps as the uninterrupted one.
TEST(TrainingStateOnCuda, ResumesOnTheParametersDevice) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto device = device_under_test();
  const auto folder = fresh_test_folder("cuda_resume");
  Net net(device);
  auto sgd = make_sgd(net);
  steps(net, sgd, device, 2);
  torch::manual_seed(5);  // seeds every device's default generator
  save_training_state(folder / "device.state", sgd, TrainingState{2, nlohmann::json::object()});
  const auto next_draw = torch::rand({6}, torch::TensorOptions(device));

  Net resumed(device);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < net.parameters().size(); ++i) {
      resumed.parameters()[i].copy_(net.parameters()[i]);
    }
  }
  auto resumed_sgd = make_sgd(resumed);
  torch::manual_seed(99);
  EXPECT_EQ(load_training_state(folder / "device.state", resumed_sgd).epoch, 2);
  EXPECT_TRUE(torch::equal(torch::rand({6}, torch::TensorOptions(device)), next_draw))
      << "the device's generator was not restored";
  const auto original = momentum_buffers(sgd);
  const auto restored = momentum_buffers(resumed_sgd);
  ASSERT_EQ(restored.size(), 2u);
  for (const auto& [shape, buffer] : original) {
    ASSERT_EQ(restored.count(shape), 1u);
    EXPECT_EQ(restored.at(shape).device(), device);
    EXPECT_TRUE(torch::equal(restored.at(shape).cpu(), buffer.cpu()));
  }
  steps(net, sgd, device, 2);
  steps(resumed, resumed_sgd, device, 2);
  for (size_t i = 0; i < net.parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(resumed.parameters()[i].cpu(), net.parameters()[i].cpu()));
  }

  // A state written by a CPU run, resumed on the device.
  Net cpu_net(torch::kCPU);
  auto cpu_sgd = make_sgd(cpu_net);
  steps(cpu_net, cpu_sgd, torch::kCPU, 2);
  save_training_state(folder / "cpu.state", cpu_sgd, TrainingState{2, nlohmann::json::object()});
  Net moved(device);
  auto moved_sgd = make_sgd(moved);
  load_training_state(folder / "cpu.state", moved_sgd);
  for (const auto& [shape, buffer] : momentum_buffers(moved_sgd)) {
    EXPECT_EQ(buffer.device(), device);
    EXPECT_TRUE(torch::equal(buffer.cpu(), momentum_buffers(cpu_sgd).at(shape)));
  }
}

}  // namespace
}  // namespace greedyhash
