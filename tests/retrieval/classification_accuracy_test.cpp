#include "greedyhash/retrieval/classification_accuracy.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

namespace greedyhash {
namespace {

TEST(ClassificationAccuracy, ArgmaxHitsAnyTrueLabel) {
  // Row 0: argmax 2, labels {2} -> hit. Row 1: argmax 0, labels {1} -> miss.
  // Row 2: argmax 1, labels {0, 1} (multi-label) -> hit. Row 3: logits tie between
  // classes 0 and 2, the first (0) wins; labels {2} -> miss.
  const auto logits =
      torch::tensor({{0.1, 0.2, 3.0}, {5.0, -1.0, 0.0}, {0.0, 2.0, 1.0}, {4.0, 1.0, 4.0}});
  const auto labels = torch::tensor({{0, 0, 1}, {0, 1, 0}, {1, 1, 0}, {0, 0, 1}}, torch::kUInt8);
  const ClassificationAccuracy acc = classification_accuracy(logits, labels);
  EXPECT_EQ(acc.correct, 2);
  EXPECT_EQ(acc.total, 4);
  EXPECT_DOUBLE_EQ(acc.accuracy, 0.5);
}

TEST(ClassificationAccuracy, Errors) {
  const auto labels = torch::tensor({{0, 1}}, torch::kUInt8);
  expect_error_containing(
      [&] {
        classification_accuracy(torch::zeros({1, 3}), labels);
      },
      "both must be N x C");
  expect_error_containing(
      [&] {
        classification_accuracy(torch::tensor({{1.0, std::nan("")}}), labels);
      },
      "NaN");
  expect_error_containing(
      [&] {
        classification_accuracy(torch::zeros({1, 2}, torch::kLong), labels);
      },
      "floating-point");
  expect_error_containing(
      [] {
        classification_accuracy(torch::zeros({0, 2}), torch::zeros({0, 2}, torch::kUInt8));
      },
      "N = 0");
}

}  // namespace
}  // namespace greedyhash
