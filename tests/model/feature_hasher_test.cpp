// The feature hasher: its checkpoint, its TorchScript export and its .npy weights.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/model/feature_hasher.h"
#include "greedyhash/model/torchscript_export.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

TEST(FeatureHasher, CodesAreTheSignsOfTheAffineMap) {
  torch::manual_seed(1);
  FeatureHasher model(5, 3);
  const auto x = torch::randn({4, 5});
  const auto out = model->forward(x);
  const auto h = torch::mm(x, model->hash_layer->weight.t()) + model->hash_layer->bias;
  EXPECT_TRUE(torch::allclose(out.h, h, 1e-6, 1e-6));
  EXPECT_TRUE(
      torch::equal(out.codes, torch::where(h >= 0, torch::ones_like(h), -torch::ones_like(h))));
}

TEST(FeatureHasher, CheckpointRoundTripAndRefusals) {
  const fs::path dir = fresh_test_folder("feature-hasher");
  torch::manual_seed(2);
  FeatureHasher model(6, 4);
  save_feature_hasher(dir / "last.pt", model, {4, 6, 7, "{\"bit\": 4}"});
  FeatureHasherMeta meta;
  const FeatureHasher loaded = load_feature_hasher(dir / "last.pt", 4, &meta);
  EXPECT_EQ(meta.epoch, 7);
  EXPECT_EQ(meta.input_dim, 6);
  EXPECT_EQ(meta.config_json, "{\"bit\": 4}");
  EXPECT_TRUE(torch::equal(loaded->hash_layer->weight, model->hash_layer->weight));
  EXPECT_TRUE(torch::equal(loaded->hash_layer->bias, model->hash_layer->bias));
  expect_error([&] { load_feature_hasher(dir / "last.pt", 8); }, {"4-bit", "--bit 4"});
  expect_error([&] { load_feature_hasher(dir / "none.pt", 4); }, {"none.pt"});
  save_npy(dir / "not.pt", torch::ones({2}));
  expect_error([&] { load_feature_hasher(dir / "not.pt", 4); }, {"not.pt"});
}

TEST(FeatureHasher, TorchScriptAndNpyExportComputeTheSameCodes) {
  const fs::path dir = fresh_test_folder("feature-hasher-export");
  torch::manual_seed(3);
  FeatureHasher model(6, 5);
  save_torchscript(model, dir / "hasher.pt");
  save_hash_layer_npy(model, dir / "weight.npy", dir / "bias.npy");
  const auto x = torch::randn({10, 6});
  const auto expected = model->forward(x).codes;
  auto script = torch::jit::load((dir / "hasher.pt").string());
  EXPECT_TRUE(torch::equal(script.forward({x}).toTensor(), expected));
  EXPECT_EQ(script.attr("input_dim").toInt(), 6);
  // What a numpy user computes from the two files.
  const auto h = torch::mm(x, load_npy(dir / "weight.npy").t()) + load_npy(dir / "bias.npy");
  EXPECT_TRUE(
      torch::equal(torch::where(h >= 0, torch::ones_like(h), -torch::ones_like(h)), expected));
}

}  // namespace
}  // namespace greedyhash
