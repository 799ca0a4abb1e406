// --freeze-backbone: a training step moves the head alone.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/train/training_step.h"

namespace greedyhash {
namespace {

bool is_head(const std::string& name) {
  return name.rfind("hash_layer.", 0) == 0 || name.rfind("code_classifier.", 0) == 0;
}

TEST(FrozenBackbone, AStepMovesTheHeadAloneAndKeepsNoBackboneState) {
  for (const std::string backbone : {"resnet18", "alexnet"}) {
    SCOPED_TRACE(backbone);
    torch::manual_seed(4);
    GreedyHash model(8, 3, backbone);
    model->freeze_backbone();
    model->train();
    // Eval mode below the head: a ResNet's BatchNorm uses (and keeps) its running
    // statistics, AlexNet's dropout is off.
    for (const auto& module : model->backbone->modules(/*include_self=*/false)) {
      EXPECT_FALSE(module->is_training());
    }
    EXPECT_TRUE(model->hash_layer->is_training());

    torch::OrderedDict<std::string, at::Tensor> before;
    for (const auto& item : model->named_parameters())
      before.insert(item.key(), item.value().clone());
    for (const auto& item : model->named_buffers()) before.insert(item.key(), item.value().clone());

    TrainingStepOptions options;
    options.lr = 0.1;
    TrainingStep step(model, options);
    // Only the three head tensors are the optimiser's.
    size_t optimised = 0;
    for (const auto& group : step.optimizer().param_groups()) optimised += group.params().size();
    EXPECT_EQ(optimised, 3u);

    Batch batch;
    batch.images = torch::randn({4, 3, 64, 64});
    batch.labels = torch::one_hot(torch::tensor({0, 1, 2, 1}), 3).to(torch::kUInt8);
    step(batch);
    step(batch);
    for (const auto& item : model->named_parameters()) {
      if (is_head(item.key())) {
        EXPECT_FALSE(torch::equal(item.value(), before[item.key()])) << item.key();
      } else {
        EXPECT_TRUE(torch::equal(item.value(), before[item.key()])) << item.key();
        EXPECT_FALSE(item.value().grad().defined()) << item.key();
      }
    }
    for (const auto& item : model->named_buffers()) {
      EXPECT_TRUE(torch::equal(item.value(), before[item.key()])) << item.key();
    }
  }
}

TEST(FrozenBackbone, ForwardInTrainModeIsTheEvalModeForward) {
  torch::manual_seed(5);
  GreedyHash model(8, 3, "resnet18");
  const auto images = torch::randn({2, 3, 64, 64});
  model->eval();
  const auto expected = model->forward(images).h;
  model->freeze_backbone();
  model->train();
  const auto out = model->forward(images);
  EXPECT_TRUE(torch::equal(out.h, expected));
  EXPECT_TRUE(out.h.requires_grad());  // the head still trains
}

}  // namespace
}  // namespace greedyhash
