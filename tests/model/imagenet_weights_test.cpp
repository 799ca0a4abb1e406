#include "greedyhash/model/imagenet_weights.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "greedyhash/error.h"
#include "greedyhash/serialize/state_dict.h"
#include "greedyhash/serialize/torch_save_file.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

std::string error_of(GreedyHash& model, const fs::path& file) {
  try {
    load_imagenet_weights(model, file);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected greedyhash::Error";
  return "";
}

TEST(ImagenetWeights, LoadsATorchvisionAlexNetStateDictByName) {
  if (!python_has_modules("torch torchvision"))
    GTEST_SKIP() << "/usr/bin/python3 with torchvision missing";
  const auto folder = fresh_test_folder("imagenet_torchvision");
  // A full-size file in the published layout (torchvision's own AlexNet state dict), and
  // per entry what Python sees in it: shape, first and last element, float64 sum.
  const std::string script = R"PY(
import json, sys, torch, torchvision
torch.manual_seed(0)
sd = torchvision.models.alexnet().state_dict()
torch.save(sd, sys.argv[1])
stats = {k: {"shape": list(v.shape), "first": v.flatten()[0].item(),
             "last": v.flatten()[-1].item(), "sum": v.double().sum().item()}
         for k, v in sd.items()}
json.dump(stats, open(sys.argv[2], "w"))
)PY";
  const auto weights = folder / "alexnet.pth";
  const auto stats_file = folder / "stats.json";
  std::string output;
  ASSERT_EQ(run_python(folder, script, weights.string() + " " + stats_file.string(), output), 0)
      << output;
  const auto stats = nlohmann::json::parse(read_file_bytes(stats_file));

  torch::manual_seed(1);
  GreedyHash model(12, 10);
  const auto hash_before = model->hash_layer->weight.clone();
  load_imagenet_weights(model, weights);
  fs::remove(weights);

  const auto params = model->named_parameters();
  int loaded = 0;
  for (const auto& [key, expected] : stats.items()) {
    if (key.rfind("classifier.6.", 0) == 0) {
      EXPECT_EQ(params.find(key), nullptr) << key;  // torchvision's 1000-way layer: unused
      continue;
    }
    const at::Tensor* actual = params.find(key);
    ASSERT_NE(actual, nullptr) << key;
    EXPECT_EQ(actual->sizes().vec(), expected["shape"].get<std::vector<int64_t>>()) << key;
    const auto flat = actual->flatten();
    EXPECT_EQ(flat[0].item<double>(), expected["first"].get<double>()) << key;
    EXPECT_EQ(flat[-1].item<double>(), expected["last"].get<double>()) << key;
    const double sum = expected["sum"].get<double>();
    EXPECT_NEAR(actual->to(torch::kFloat64).sum().item<double>(), sum, 1e-9 * (1 + std::abs(sum)))
        << key;
    ++loaded;
  }
  EXPECT_EQ(loaded, 14);  // features.{0,3,6,8,10} and classifier.{1,4}, weight and bias
  EXPECT_TRUE(torch::equal(model->hash_layer->weight, hash_before));
}

TEST(ImagenetWeights, MissingEntryNamesTheKeyAndItsShape) {
  const auto folder = fresh_test_folder("imagenet_missing");
  StateDict partial("Tensor");
  partial.insert("features.0.weight", torch::zeros({64, 3, 11, 11}));
  partial.insert("features.0.bias", torch::zeros({64}));
  TorchSaveDict entries("Entry");
  for (const auto& item : partial) entries.insert(item.key(), item.value());
  const auto file = folder / "partial.pth";
  write_torch_save_dict(file, entries);

  GreedyHash model(12, 10);
  const auto before = model->named_parameters()["features.0.weight"].clone();
  EXPECT_EQ(
      error_of(model, file),
      file.string() + ": no entry features.3.weight (expected shape [192, 64, 5, 5])" +
          "; --backbone alexnet takes torchvision's alexnet weights (alexnet-owt-7be5be79.pth)");
  // The check precedes any copy: the model keeps its weights.
  EXPECT_TRUE(torch::equal(model->named_parameters()["features.0.weight"], before));
}

TEST(ImagenetWeights, ShapeMismatchNamesTheKeyAndBothShapes) {
  const auto folder = fresh_test_folder("imagenet_shape");
  TorchSaveDict entries("Entry");
  entries.insert("features.0.weight", torch::zeros({64, 3, 11, 11}));
  entries.insert("features.0.bias", torch::zeros({65}));
  const auto file = folder / "wrong.pth";
  write_torch_save_dict(file, entries);

  GreedyHash model(12, 10);
  EXPECT_EQ(
      error_of(model, file),
      file.string() + ": entry features.0.bias has shape [65] but the model expects [64]" +
          "; --backbone alexnet takes torchvision's alexnet weights (alexnet-owt-7be5be79.pth)");
}

TEST(ImagenetWeights, NotAStateDictNamesTheFile) {
  GreedyHash model(12, 10);
  const auto list = fs::path(GREEDYHASH_TEST_DATA_DIR) / "model" / "tiny_list.pt";
  EXPECT_EQ(error_of(model, list),
            list.string() + ": holds a list, expected a dict (a state dict)");
  const auto folder = fresh_test_folder("imagenet_text");
  std::ofstream(folder / "weights.txt") << "not weights";
  EXPECT_EQ(error_of(model, folder / "weights.txt"),
            (folder / "weights.txt").string() +
                ": not a torch.save file (neither a zip archive nor the legacy format)");
}

TEST(PretrainedWeights, TorchHubCacheFollowsTorchHomeThenXdgThenHome) {
  // torch.hub.get_dir(): $TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch.
  ScopedEnv home("HOME", "/h");
  {
    ScopedEnv torch_home("TORCH_HOME", "/t");
    ScopedEnv xdg("XDG_CACHE_HOME", "/x");
    EXPECT_EQ(torch_hub_checkpoint_dir(), fs::path("/t/hub/checkpoints"));
  }
  {
    ScopedEnv torch_home("TORCH_HOME", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", "/x");
    EXPECT_EQ(torch_hub_checkpoint_dir(), fs::path("/x/torch/hub/checkpoints"));
  }
  ScopedEnv torch_home("TORCH_HOME", nullptr);
  ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
  EXPECT_EQ(torch_hub_checkpoint_dir(), fs::path("/h/.cache/torch/hub/checkpoints"));
}

TEST(PretrainedWeights, AutoFindsTheCachedFileOnlyWhenItIsThere) {
  const auto folder = fresh_test_folder("pretrained_auto");
  ScopedEnv torch_home("TORCH_HOME", folder.c_str());
  EXPECT_EQ(resolve_pretrained(""), std::nullopt);
  EXPECT_EQ(resolve_pretrained("auto"), std::nullopt);
  EXPECT_EQ(resolve_pretrained("/some/weights.pth"), fs::path("/some/weights.pth"));
  const auto cached = folder / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth";
  fs::create_directories(cached.parent_path());
  std::ofstream(cached) << "x";
  EXPECT_EQ(resolve_pretrained("auto"), cached);
}

TEST(PretrainedWeights, TheDigestInTheFileNameIsChecked) {
  // The SHA-256 of "abc" (FIPS 180-2, appendix B.1) is ba7816bf8f01cfea...
  const auto folder = fresh_test_folder("pretrained_digest");
  const auto good = folder / "weights-ba7816bf.pth";
  const auto bad = folder / "alexnet-owt-7be5be79.pth";
  const auto unnamed = folder / "my-weights.pth";
  for (const auto& file : {good, bad, unnamed}) std::ofstream(file) << "abc";
  const std::string digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_EQ(checked_weights_sha256(good), digest);
  EXPECT_EQ(checked_weights_sha256(unnamed), digest);
  try {
    checked_weights_sha256(bad);
    ADD_FAILURE() << "expected greedyhash::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              bad.string() +
                  ": its SHA-256 begins ba7816bf, not 7be5be79 as its name says: the file is "
                  "damaged or not the published one; download it again");
  }
}

}  // namespace
}  // namespace greedyhash
