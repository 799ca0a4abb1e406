#include "greedyhash/model/backbone.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "greedyhash/error.h"
#include "greedyhash/model/checkpoint.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/training_memory.h"
#include "test_support.h"

namespace greedyhash {
namespace {

int64_t parameter_count(torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

TEST(Backbone, ParameterCountsAndWidthsAreTorchvisionsWithoutTheLastLayer) {
  // torchvision's published totals, then its last layer (width x 1000 + 1000) taken off.
  const std::map<std::string, std::pair<int64_t, int64_t>> published = {
      {"alexnet", {61100840, 4096}},  {"vgg16", {138357544, 4096}},
      {"resnet18", {11689512, 512}},  {"resnet34", {21797672, 512}},
      {"resnet50", {25557032, 2048}}, {"resnet101", {44549160, 2048}},
  };
  ASSERT_EQ(backbone_names().size(), published.size());
  for (const auto& name : backbone_names()) {
    SCOPED_TRACE(name);
    const auto [total, width] = published.at(name);
    const int64_t without_last = total - width * 1000 - 1000;
    const auto backbone = make_backbone(name);
    EXPECT_EQ(backbone->name(), name);
    EXPECT_EQ(parameter_count(*backbone), without_last);
    EXPECT_EQ(backbone->feature_dim(), width);
    // The training-memory table holds the same figures.
    EXPECT_EQ(backbone_size(name).parameters, without_last);
    EXPECT_EQ(backbone_size(name).feature_dim, width);
  }
}

TEST(Backbone, ResNetBatchNormIsPyTorchs) {
  // momentum 0.1 on the unbiased batch variance: after one training batch of a constant
  // channel pair {0, 2} the running mean is 0.9 * 0 + 0.1 * 1 and the running variance
  // 0.9 * 1 + 0.1 * 2 (unbiased: ((0-1)^2 + (2-1)^2) / (2 - 1)).
  const auto backbone = make_backbone("resnet18");
  auto bn = backbone->named_modules()["bn1"]->as<torch::nn::BatchNorm2d>();
  ASSERT_NE(bn, nullptr);
  bn->train();
  const auto x = torch::stack({torch::zeros({64, 1, 1}), torch::full({64, 1, 1}, 2.0)});
  bn->forward(x);
  EXPECT_NEAR(bn->running_mean[0].item<double>(), 0.1, 1e-7);
  EXPECT_NEAR(bn->running_var[0].item<double>(), 1.1, 1e-6);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
}

TEST(Backbone, UnknownNameListsTheKnownOnes) {
  try {
    make_backbone("resnet152");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown backbone 'resnet152'; the backbones are alexnet, vgg16, resnet18, "
              "resnet34, resnet50, resnet101");
  }
  EXPECT_THROW(check_backbone_name(""), Error);
  EXPECT_THROW(training_model_bytes("vgg19", 48), Error);
  EXPECT_NO_THROW(check_backbone_name("resnet34"));
}

TEST(Backbone, TorchvisionFileNamesCarryTheirDigestPrefix) {
  EXPECT_EQ(torchvision_weight_files("alexnet").front(), "alexnet-owt-7be5be79.pth");
  EXPECT_EQ(torchvision_weight_files("vgg16").front(), "vgg16-397923af.pth");
  EXPECT_EQ(torchvision_weight_files("resnet18").front(), "resnet18-f37072fd.pth");
  EXPECT_EQ(torchvision_weight_files("resnet50"),
            (std::vector<std::string>{"resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"}));
}

TEST(Backbone, CheckpointRecordsItAndRefusesAnotherBackbone) {
  const auto folder = fresh_test_folder("backbone_checkpoint");
  torch::manual_seed(3);
  GreedyHash model(12, 10, "resnet18");
  CheckpointMeta meta{12, 10, 64, 1, 0.5, "{}", "last epoch", "resnet18"};
  save_checkpoint(folder / "last.pt", model, meta);
  EXPECT_EQ(read_checkpoint_meta(folder / "last.pt").backbone, "resnet18");

  GreedyHash same(12, 10, "resnet18");
  load_checkpoint(folder / "last.pt", same);
  const auto saved = model->named_buffers();
  for (const auto& item : same->named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), saved[item.key()])) << item.key();
  }
  GreedyHash other(12, 10, "resnet34");
  try {
    load_checkpoint(folder / "last.pt", other);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "checkpoint " + (folder / "last.pt").string() +
                  " holds a resnet18 model but --backbone resnet34 was requested; pass "
                  "--backbone resnet18 or another checkpoint");
  }
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace greedyhash
