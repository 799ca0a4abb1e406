#include "greedyhash/train/learning_rate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fixtures/pytorch_fixtures.h"

namespace greedyhash {
namespace {

// The learning rate of every epoch of the paper's 50 against PyTorch's StepLR(step_size
// 30, gamma 0.1) on torch.optim.SGD (tests/fixtures/pytorch_step_lr.json): 1e-3 up to
// epoch 29, 1e-4 from epoch 30 on.
TEST(LearningRate, FollowsPytorchStepLrAcrossTheStepAtEpoch30) {
  const auto fixture = read_fixture_json("pytorch_step_lr.json");
  Config config;
  config.lr = fixture.at("lr").get<double>();
  config.lr_step = fixture.at("lr_step").get<int64_t>();
  const auto expected = fixture.at("epoch_lr").get<std::vector<double>>();
  ASSERT_EQ(expected.size(), 50u);
  EXPECT_DOUBLE_EQ(expected[29], 1e-3);
  EXPECT_DOUBLE_EQ(expected[30], 1e-4);
  for (size_t epoch = 0; epoch < expected.size(); ++epoch) {
    // StepLR multiplies by gamma, this function takes a power of 0.1: the same up to
    // rounding.
    EXPECT_NEAR(learning_rate(config, static_cast<int64_t>(epoch)), expected[epoch],
                1e-12 * expected[epoch])
        << "epoch " << epoch;
  }
}

}  // namespace
}  // namespace greedyhash
