// ResNet-50 trained as greedyhash_train trains it (TrainingStep: channels-last,
// FusedMomentumSGD, the GreedyHash loss, BatchNorm in train mode) against
// torch.optim.SGD in PyTorch, from the same weights on the same three batches
// (tests/fixtures/make_backbone_fixtures.py sgd, run here from a fixed seed). Both in
// float64: in float32 a random ResNet-50 on batches of 4 has gradients accurate to ~3%
// only (PyTorch's own float32 against its float64), too little to tell a right step from
// a wrong one; the float32 kernels are what the forward fixtures check. Per parameter,
// after the last step: the displacement d from the start within 1e-6 of |d| and the
// parameter within 1e-9 of its norm; per BatchNorm buffer, the running mean and variance
// within 1e-9 of their norm, the batch counter exact.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "fixtures/pytorch_fixtures.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/imagenet_weights.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/serialize/state_dict.h"
#include "greedyhash/train/training_step.h"

namespace greedyhash {
namespace {

double relative_norm(const at::Tensor& got, const at::Tensor& want) {
  const auto g = got.to(at::kDouble);
  const auto w = want.to(at::kDouble);
  return (g - w).norm().item<double>() / w.norm().item<double>();
}

TEST(BackboneSgd, ResNet50ThreeStepsInTrainModeMatchTorchOptimSgd) {
  if (!python_has_modules("torch torchvision numpy")) {
    GTEST_SKIP() << "/usr/bin/python3 with torch, torchvision and numpy is needed to make "
                    "the fixture";
  }
  constexpr int64_t kSteps = 3;
  const ScratchFolder scratch("backbone_sgd");
  const auto folder = scratch.path() / "fixtures";
  std::string output;
  ASSERT_EQ(run_python(
                scratch.path(), read_file_bytes(fixtures_dir() / "make_backbone_fixtures.py"),
                "sgd " + folder.string() + " resnet50 64 " + std::to_string(kSteps) + " " +
                    (std::filesystem::path(GREEDYHASH_SOURCE_DIR) / "bench" / "reference").string(),
                output),
            0)
      << output;

  GreedyHash model(16, 10, "resnet50");
  load_imagenet_weights(model, folder / "weights.pth");
  StateDict head;
  for (const char* name : {"hash_layer.weight", "hash_layer.bias", "code_classifier.weight"}) {
    head.insert(name, model->named_parameters()[name]);
  }
  copy_named_tensors(read_state_dict(folder / "head.pt"), head, folder / "head.pt");
  StateDict initial;
  for (const auto& item : model->named_parameters()) {
    initial.insert(item.key(), item.value().detach().clone());
  }

  // As the trainer sets the model up, in float64.
  model->to(torch::kDouble);
  model->train();
  use_channels_last(*model);
  TrainingStepOptions options;
  options.lr = 1e-3;
  options.momentum = 0.9;
  options.weight_decay = 5e-4;
  options.alpha = 0.1;
  TrainingStep step(model, options);
  const auto images = load_npy(folder / "sgd_x.npy");
  const auto labels = load_npy(folder / "sgd_y.npy").to(torch::kLong);
  const auto losses = load_npy(folder / "losses.npy");
  for (int64_t i = 0; i < kSteps; ++i) {
    Batch batch;
    batch.images = images[i].to(torch::kDouble);
    batch.labels = torch::one_hot(labels[i], 10).to(torch::kUInt8);
    const double loss = step(batch).total.item<double>();
    EXPECT_NEAR(loss, losses[i].item<double>(), 1e-9 * losses[i].item<double>())
        << "loss of step " << i + 1;
  }

  const StateDict final = read_state_dict(folder / "final.pth");
  for (const auto& item : model->named_parameters()) {
    SCOPED_TRACE(item.key());
    const auto& want = final[item.key()];
    EXPECT_LE(relative_norm(item.value(), want), 1e-9);
    const auto start = initial[item.key()];
    EXPECT_LE(relative_norm(item.value() - start, want - start.to(at::kDouble)), 1e-6);
  }
  for (const auto& item : model->named_buffers()) {
    SCOPED_TRACE(item.key());
    if (item.value().scalar_type() == at::kLong) {
      EXPECT_EQ(item.value().item<int64_t>(), 7 + kSteps);  // the generator starts it at 7
    } else {
      EXPECT_LE(relative_norm(item.value(), final[item.key()]), 1e-9);
    }
  }
}

}  // namespace
}  // namespace greedyhash
