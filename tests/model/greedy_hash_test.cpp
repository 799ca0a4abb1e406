#include "greedyhash/model/greedy_hash.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/model/loss.h"

namespace greedyhash {
namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;

// torchvision.models.alexnet() parameter shapes (its documented layout), without
// classifier.6, plus the two GreedyHash layers for K bits and C classes.
Shapes expected_shapes(int64_t k, int64_t c) {
  return {
      {"features.0.weight", {64, 3, 11, 11}},   {"features.0.bias", {64}},
      {"features.3.weight", {192, 64, 5, 5}},   {"features.3.bias", {192}},
      {"features.6.weight", {384, 192, 3, 3}},  {"features.6.bias", {384}},
      {"features.8.weight", {256, 384, 3, 3}},  {"features.8.bias", {256}},
      {"features.10.weight", {256, 256, 3, 3}}, {"features.10.bias", {256}},
      {"classifier.1.weight", {4096, 9216}},    {"classifier.1.bias", {4096}},
      {"classifier.4.weight", {4096, 4096}},    {"classifier.4.bias", {4096}},
      {"hash_layer.weight", {k, 4096}},         {"hash_layer.bias", {k}},
      {"code_classifier.weight", {c, k}},
  };
}

TEST(GreedyHash, ParameterNamesAndShapesMatchTorchvision) {
  GreedyHash model(48, 10);
  Shapes actual;
  for (const auto& item : model->named_parameters()) {
    actual[item.key()] = item.value().sizes().vec();
  }
  EXPECT_EQ(actual, expected_shapes(48, 10));
}

TEST(GreedyHash, OutputShapesAt224And64) {
  torch::NoGradGuard no_grad;
  GreedyHash model(12, 10);
  model->eval();
  for (int64_t side : {224, 64}) {
    const auto out = model->forward(torch::randn({2, 3, side, side}));
    EXPECT_EQ(out.h.sizes(), (std::vector<int64_t>{2, 12})) << "side " << side;
    EXPECT_EQ(out.codes.sizes(), (std::vector<int64_t>{2, 12})) << "side " << side;
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 10})) << "side " << side;
    EXPECT_TRUE(torch::equal(out.codes, torch::where(out.h >= 0, 1.0, -1.0).to(out.codes.dtype())));
    // The classifier sees the binary codes, not h, and has no bias.
    const auto expected_logits = out.codes.matmul(model->code_classifier->weight.t());
    EXPECT_TRUE(torch::allclose(out.logits, expected_logits, 1e-5, 1e-6));
  }
}

TEST(GreedyHash, RejectsBitLengthsOutsideRange) {
  EXPECT_THROW(GreedyHash(0, 10), Error);
  EXPECT_THROW(GreedyHash(1025, 10), Error);
  EXPECT_THROW(GreedyHash(12, 0), Error);
}

TEST(GreedyHash, OneSgdStepLowersTheLossOnAFixedBatch) {
  torch::manual_seed(7);
  GreedyHash model(24, 10);
  model->eval();  // no dropout: the two losses are then comparable
  const auto images = torch::randn({8, 3, 64, 64});
  const auto targets = torch::tensor({0, 1, 2, 3, 4, 5, 6, 7}, torch::kLong);
  torch::optim::SGD sgd(model->parameters(),
                        torch::optim::SGDOptions(1e-3).momentum(0.9).weight_decay(5e-4));

  auto out = model->forward(images);
  const auto before = greedy_hash_loss(out.logits, out.h, targets, 0.1).total;
  sgd.zero_grad();
  before.backward();
  // Every parameter, the K -> C classifier included, must receive a gradient.
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
  }
  sgd.step();

  torch::NoGradGuard no_grad;
  out = model->forward(images);
  const auto after = greedy_hash_loss(out.logits, out.h, targets, 0.1).total;
  EXPECT_LT(after.item<double>(), before.item<double>());
}

}  // namespace
}  // namespace greedyhash
