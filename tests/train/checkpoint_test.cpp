#include "greedyhash/model/checkpoint.h"
#include "greedyhash/serialize/torch_save_file.h"
#include "greedyhash/train/training_state.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// One full-size checkpoint (AlexNet makes it ~230 MB) shared by the tests of this suite.
class Checkpoint : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new fs::path(fresh_test_folder("checkpoint_suite"));
    torch::manual_seed(11);
    model_ = new GreedyHash(32, 10);
    meta_ = new CheckpointMeta{32, 10, 224, 7, 0.8125, R"({"bit": 32, "lr": 0.001})", "validation"};
    save_checkpoint(file(), *model_, *meta_);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*folder_);
    delete model_;
    delete meta_;
    delete folder_;
  }
  static fs::path file() { return *folder_ / "best.pt"; }

  static fs::path* folder_;
  static GreedyHash* model_;
  static CheckpointMeta* meta_;
};
fs::path* Checkpoint::folder_ = nullptr;
GreedyHash* Checkpoint::model_ = nullptr;
CheckpointMeta* Checkpoint::meta_ = nullptr;

TEST_F(Checkpoint, PythonTorchLoadGetsAPlainDictWithTorchvisionNames) {
  if (!python_has_modules("torch torchvision"))
    GTEST_SKIP() << "/usr/bin/python3 with torchvision missing";
  const std::string script = R"PY(
import json, sys, torch, torchvision
ck = torch.load(sys.argv[1])
assert type(ck) is dict, type(ck)
net = torchvision.models.alexnet()
result = net.load_state_dict({k: v for k, v in ck.items() if torch.is_tensor(v)}, strict=False)
out = {"keys": list(ck),
       "meta": {k: v for k, v in ck.items() if not torch.is_tensor(v)},
       "missing": sorted(result.missing_keys), "unexpected": sorted(result.unexpected_keys),
       "tensors": {k: {"dtype": str(v.dtype), "device": str(v.device), "shape": list(v.shape),
                       "first": v.flatten()[0].item(), "sum": v.double().sum().item()}
                   for k, v in ck.items() if torch.is_tensor(v)}}
json.dump(out, open(sys.argv[2], "w"))
)PY";
  const auto report = *folder_ / "python.json";
  std::string output;
  ASSERT_EQ(run_python(*folder_, script, file().string() + " " + report.string(), output), 0)
      << output;
  const auto seen = nlohmann::json::parse(read_file_bytes(report));

  std::vector<std::string> keys = (*model_)->named_parameters().keys();
  for (const char* meta_key : {"bit", "num_classes", "input_size", "epoch", "map", "config",
                               "selection", "backbone", "format_version"}) {
    keys.push_back(meta_key);
  }
  EXPECT_EQ(seen["keys"].get<std::vector<std::string>>(), keys);
  const nlohmann::json expected_meta = {{"bit", 32},
                                        {"num_classes", 10},
                                        {"input_size", 224},
                                        {"epoch", 7},
                                        {"map", 0.8125},
                                        {"config", R"({"bit": 32, "lr": 0.001})"},
                                        {"selection", "validation"},
                                        {"backbone", "alexnet"},
                                        {"format_version", 3}};
  EXPECT_EQ(seen["meta"], expected_meta);
  // torchvision's AlexNet takes the backbone by name: only its 1000-way layer is missing.
  EXPECT_EQ(seen["missing"], nlohmann::json::array({"classifier.6.bias", "classifier.6.weight"}));
  EXPECT_EQ(seen["unexpected"], nlohmann::json::array({"code_classifier.weight", "hash_layer.bias",
                                                       "hash_layer.weight"}));
  for (const auto& item : (*model_)->named_parameters()) {
    const auto& t = seen["tensors"][item.key()];
    EXPECT_EQ(t["dtype"], "torch.float32") << item.key();
    EXPECT_EQ(t["device"], "cpu") << item.key();
    EXPECT_EQ(t["shape"].get<std::vector<int64_t>>(), item.value().sizes().vec()) << item.key();
    EXPECT_EQ(t["first"].get<double>(), item.value().flatten()[0].item<double>()) << item.key();
    const double sum = item.value().to(torch::kFloat64).sum().item<double>();
    EXPECT_NEAR(t["sum"].get<double>(), sum, 1e-9 * (1 + std::abs(sum))) << item.key();
  }
}

TEST_F(Checkpoint, LoadRestoresEveryParameterAndTheMetadata) {
  torch::manual_seed(12);
  GreedyHash other(32, 10);
  const CheckpointMeta meta = load_checkpoint(file(), other);
  for (const auto& item : (*model_)->named_parameters()) {
    EXPECT_TRUE(torch::equal(other->named_parameters()[item.key()], item.value())) << item.key();
  }
  EXPECT_EQ(meta.bits, 32);
  EXPECT_EQ(meta.num_classes, 10);
  EXPECT_EQ(meta.input_size, 224);
  EXPECT_EQ(meta.epoch, 7);
  EXPECT_EQ(meta.map, 0.8125);
  EXPECT_EQ(meta.config_json, meta_->config_json);
  EXPECT_EQ(meta.selection, "validation");
}

// Format 1 predates the "selection" entry; its best.pt was chosen on the test queries.
TEST_F(Checkpoint, FormatOneFilesWereChosenOnTheTestQueries) {
  TorchSaveDict entries("Entry");
  for (const auto& item : (*model_)->named_parameters()) entries.insert(item.key(), item.value());
  entries.insert("bit", int64_t{32});
  entries.insert("num_classes", int64_t{10});
  entries.insert("input_size", int64_t{224});
  entries.insert("epoch", int64_t{3});
  entries.insert("map", 0.5);
  entries.insert("config", std::string("{}"));
  entries.insert("format_version", int64_t{1});
  const auto old = *folder_ / "format1.pt";
  write_torch_save_dict(old, entries);
  EXPECT_EQ(read_checkpoint_meta(old).selection, "query");
}

TEST_F(Checkpoint, ReadsMetadataAlone) {
  const CheckpointMeta meta = read_checkpoint_meta(file());
  EXPECT_EQ(meta.bits, 32);
  EXPECT_EQ(meta.epoch, 7);
  EXPECT_EQ(meta.config_json, meta_->config_json);
}

TEST_F(Checkpoint, OtherBitLengthOrClassCountIsAClearError) {
  GreedyHash wrong_bits(48, 10);
  EXPECT_EQ(
      error_of([&] { load_checkpoint(file(), wrong_bits); }),
      "checkpoint " + file().string() +
          " has 32-bit codes but --bit 48 was requested; pass --bit 32 or another checkpoint");
  GreedyHash wrong_classes(32, 21);
  EXPECT_EQ(error_of([&] { load_checkpoint(file(), wrong_classes); }),
            "checkpoint " + file().string() +
                " was trained for 10 classes but the data set has 21; use a checkpoint trained on "
                "this data set");
}

TEST(CheckpointFiles, ForeignOrDamagedFilesAreOneLineErrorsNamingTheFile) {
  const auto folder = fresh_test_folder("checkpoint_foreign");
  const auto state_dict = fs::path(GREEDYHASH_TEST_DATA_DIR) / "model" / "tiny_state_dict.pt";
  EXPECT_EQ(error_of([&] { read_checkpoint_meta(state_dict); }),
            state_dict.string() + ": not a greedyhash checkpoint (no entry \"format_version\")");

  const std::string whole = read_file_bytes(state_dict);
  const auto truncated = folder / "truncated.pt";
  std::ofstream(truncated, std::ios::binary) << whole.substr(0, whole.size() - 100);
  EXPECT_EQ(error_of([&] { read_checkpoint_meta(truncated); }).rfind(truncated.string() + ": ", 0),
            0u);
}

TEST(CheckpointFiles, SaveRejectsMetadataThatContradictsTheModel) {
  GreedyHash model(12, 10);
  const CheckpointMeta meta{24, 10, 224, 0, 0.0, "{}"};
  EXPECT_THROW(save_checkpoint(fresh_test_folder("checkpoint_contradict") / "x.pt", model, meta),
               std::invalid_argument);
}

// A small model is enough for the optimizer state: its layout does not depend on size.
struct TinyNet {
  explicit TinyNet(uint64_t seed) {
    torch::manual_seed(seed);
    layer = torch::nn::Linear(5, 3);
  }
  torch::nn::Linear layer{nullptr};
};

std::unique_ptr<torch::optim::SGD> make_sgd(TinyNet& net, double lr) {
  return std::make_unique<torch::optim::SGD>(
      net.layer->parameters(), torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
}

void train_steps(TinyNet& net, torch::optim::SGD& sgd, int steps, uint64_t seed) {
  torch::manual_seed(seed);
  for (int i = 0; i < steps; ++i) {
    sgd.zero_grad();
    net.layer->forward(torch::randn({4, 5})).pow(2).sum().backward();
    sgd.step();
  }
}

// The optimizer's momentum buffers by shape (the two parameters of TinyNet differ in
// shape). The state's key type changed across LibTorch versions, so it is not used.
std::map<std::vector<int64_t>, at::Tensor> momentum_buffers(torch::optim::SGD& sgd) {
  std::map<std::vector<int64_t>, at::Tensor> buffers;
  for (const auto& entry : sgd.state()) {
    const auto& buffer =
        static_cast<const torch::optim::SGDParamState&>(*entry.second).momentum_buffer();
    buffers[buffer.sizes().vec()] = buffer;
  }
  return buffers;
}

TEST(TrainingState, RoundTripRestoresMomentumRngEpochAndExtra) {
  const auto file = fresh_test_folder("checkpoint_resume") / "last.state";
  TinyNet net(1);
  auto sgd = make_sgd(net, 0.01);
  train_steps(net, *sgd, 3, 5);
  const nlohmann::json extra = {{"step", 96}, {"lr_schedule", {{"gamma", 0.1}}}};
  torch::manual_seed(77);
  save_training_state(file, *sgd, TrainingState{4, extra});
  const auto next_draw = torch::rand({6});  // what the generator gives right after the save

  // A fresh process: same parameter values, new optimizer, other RNG position and lr.
  TinyNet resumed(2);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < net.layer->parameters().size(); ++i) {
      resumed.layer->parameters()[i].copy_(net.layer->parameters()[i]);
    }
  }
  auto resumed_sgd = make_sgd(resumed, 0.5);
  torch::manual_seed(123);
  const TrainingState state = load_training_state(file, *resumed_sgd);
  EXPECT_EQ(state.epoch, 4);
  EXPECT_EQ(state.extra, extra);
  EXPECT_TRUE(torch::equal(torch::rand({6}), next_draw));
  EXPECT_EQ(static_cast<torch::optim::SGDOptions&>(resumed_sgd->param_groups()[0].options()).lr(),
            0.01);
  const auto original = momentum_buffers(*sgd);
  const auto restored = momentum_buffers(*resumed_sgd);
  ASSERT_EQ(original.size(), 2u);
  ASSERT_EQ(restored.size(), 2u);
  for (const auto& [shape, buffer] : original) {
    ASSERT_EQ(restored.count(shape), 1u);
    EXPECT_TRUE(torch::equal(restored.at(shape), buffer));
    EXPECT_GT(buffer.abs().sum().item<double>(), 0.0);  // three steps made it non-zero
  }
  // Continuing gives bit-identical parameters.
  train_steps(net, *sgd, 2, 9);
  train_steps(resumed, *resumed_sgd, 2, 9);
  for (size_t i = 0; i < net.layer->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(resumed.layer->parameters()[i], net.layer->parameters()[i]));
  }
}

TEST(TrainingState, TruncatedOrForeignFilesAreOneLineErrorsNamingTheFile) {
  const auto folder = fresh_test_folder("checkpoint_bad_state");
  TinyNet net(1);
  auto sgd = make_sgd(net, 0.01);
  train_steps(net, *sgd, 1, 5);
  save_training_state(folder / "good.state", *sgd, TrainingState{1, nlohmann::json::object()});
  const std::string whole = read_file_bytes(folder / "good.state");

  const auto truncated = folder / "truncated.state";
  std::ofstream(truncated, std::ios::binary) << whole.substr(0, whole.size() / 2);
  EXPECT_EQ(error_of([&] { load_training_state(truncated, *sgd); }).rfind(truncated.string(), 0),
            0u);

  const auto garbage = folder / "garbage.state";
  std::ofstream(garbage, std::ios::binary) << "not a training state";
  EXPECT_EQ(error_of([&] { load_training_state(garbage, *sgd); }).rfind(garbage.string(), 0), 0u);

  // An optimizer over other parameters (a different model) does not fit the file.
  torch::nn::Linear other(2, 2);
  torch::optim::SGD other_sgd({other->weight}, torch::optim::SGDOptions(0.1).momentum(0.9));
  EXPECT_EQ(error_of([&] {
              load_training_state(folder / "good.state", other_sgd);
            }).rfind((folder / "good.state").string(), 0),
            0u);

  EXPECT_EQ(error_of([&] {
              load_training_state(folder / "absent.state", *sgd);
            }).rfind((folder / "absent.state").string(), 0),
            0u);
}

}  // namespace
}  // namespace greedyhash
