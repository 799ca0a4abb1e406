#include "greedyhash/model/loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

TEST(GreedyHashLoss, SingleLabelTwoByThreeByHand) {
  const auto logits = torch::tensor({{1.0, 2.0, 3.0}, {1.0, 0.0, -1.0}}, torch::kFloat64);
  const auto targets = torch::tensor({2, 0}, torch::kLong);
  const auto h = torch::tensor({{0.5, -2.0, 1.0}, {0.0, 1.5, -1.0}}, torch::kFloat64);
  // Cross-entropy per row: row 0: log(e^1 + e^2 + e^3) - 3 = 0.40760596444438;
  // row 1: log(e^1 + e^0 + e^-1) - 1 = 0.40760596444438 (the same numbers shifted by 2).
  // Quantisation: | |h| - 1 |^3 = 0.125, 1, 0, 1, 0.125, 0 -> sum 2.25, mean 0.375.
  const auto terms = greedy_hash_loss(logits, h, targets, 0.1);
  EXPECT_NEAR(terms.classification.item<double>(), 0.40760596444438, 1e-12);
  EXPECT_NEAR(terms.quantization.item<double>(), 0.375, 1e-15);
  EXPECT_NEAR(terms.total.item<double>(), 0.40760596444438 + 0.0375, 1e-12);
}

TEST(GreedyHashLoss, MultiLabelUsesBinaryCrossEntropyOverAllLabels) {
  const auto logits = torch::tensor({{0.0, 2.0, -1.0}}, torch::kFloat64);
  const auto targets = torch::tensor({{1.0, 0.0, 1.0}}, torch::kFloat64);
  const auto h = torch::tensor({{1.0, -1.0, 1.0}}, torch::kFloat64);
  // BCE with logits: y=1: log(1+e^-x), y=0: log(1+e^x).
  // log 2 = 0.693147180560, log(1+e^2) = 2.126928011043, log(1+e^1) = 1.313261687518;
  // mean = 1.377778959707. |h| = 1 everywhere, so the quantisation term is 0.
  const auto terms = greedy_hash_loss(logits, h, targets, 0.1);
  EXPECT_NEAR(terms.classification.item<double>(), 1.377778959707, 1e-12);
  EXPECT_EQ(terms.quantization.item<double>(), 0.0);
  EXPECT_NEAR(terms.total.item<double>(), 1.377778959707, 1e-12);
}

TEST(GreedyHashLoss, RejectsTargetsOfTheWrongShape) {
  const auto logits = torch::zeros({2, 3});
  const auto h = torch::zeros({2, 4});
  EXPECT_THROW(greedy_hash_loss(logits, h, torch::zeros({2, 5}), 0.1), Error);
  EXPECT_THROW(greedy_hash_loss(logits, h, torch::zeros({2}, torch::kFloat), 0.1), Error);
}

}  // namespace
}  // namespace greedyhash
