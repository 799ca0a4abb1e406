#include "greedyhash/serialize/state_dict.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <filesystem>

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

TEST(CopyNamedTensors, CopiesByNameAndRejectsMissingOrMisshapenEntries) {
  const fs::path file = "weights.pt";
  StateDict targets("Tensor");
  targets.insert("l.weight", torch::zeros({2, 3}));
  targets.insert("l.bias", torch::zeros({2}));

  StateDict source("Tensor");
  source.insert("l.weight", torch::ones({2, 3}, torch::kFloat64));
  source.insert("extra", torch::ones({1}));
  EXPECT_EQ(error_of([&] { copy_named_tensors(source, targets, file); }),
            "weights.pt: no entry l.bias (expected shape [2])");

  source.insert("l.bias", torch::ones({3}));
  EXPECT_EQ(error_of([&] { copy_named_tensors(source, targets, file); }),
            "weights.pt: entry l.bias has shape [3] but the model expects [2]");
  // Nothing was copied: the check comes before any change.
  EXPECT_EQ(targets["l.weight"].sum().item<float>(), 0.0f);

  source["l.bias"] = torch::full({2}, 2.0);
  copy_named_tensors(source, targets, file);
  EXPECT_TRUE(torch::equal(targets["l.weight"], torch::ones({2, 3})));
  EXPECT_TRUE(torch::equal(targets["l.bias"], torch::full({2}, 2.0)));
}

}  // namespace
}  // namespace greedyhash
