// TrainingStep::record_profile: the parts of a step, as bench_roofline reports them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>

#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/train/training_step.h"

namespace greedyhash {
namespace {

Batch random_batch() {
  Batch batch;
  batch.images = torch::randn({2, 3, 64, 64});
  batch.labels = torch::zeros({2, 10}, torch::kUInt8);
  batch.labels.index_put_({0, 3}, 1);
  batch.labels.index_put_({1, 7}, 1);
  return batch;
}

TEST(StepProfile, PartsCoverEachRecordedStepAndNothingElse) {
  torch::manual_seed(3);
  GreedyHash model(16, 10, "alexnet");
  model->train();
  TrainingStep step(model, TrainingStepOptions{});
  const Batch batch = random_batch();
  step(batch);  // not recorded

  StepProfile profile;
  step.record_profile(&profile);
  const auto start = std::chrono::steady_clock::now();
  step(batch);
  step(batch);
  const double wall = seconds_since(start);
  step.record_profile(nullptr);
  step(batch);  // not recorded

  EXPECT_EQ(profile.steps, 2);
  EXPECT_GT(profile.forward, 0.0);
  EXPECT_GT(profile.backward, 0.0);
  EXPECT_GT(profile.optimizer, 0.0);
  const double parts = profile.forward + profile.backward + profile.gradient_sync +
                       profile.optimizer + profile.buffer_sync;
  // The parts follow one another from the start of a step to its end: together they are the
  // two steps' time, less only the calls' entry and return.
  EXPECT_LE(parts, wall);
  EXPECT_GE(parts, 0.9 * wall);
  // Single process: nothing to synchronise, so those parts are the clock's own cost.
  EXPECT_LT(profile.gradient_sync + profile.buffer_sync, 0.01 * wall);
}

}  // namespace
}  // namespace greedyhash
