// The unsupervised loss and SGD steps of the hash layer against PyTorch
// (tests/fixtures/pytorch_unsupervised.json, made by make_unsupervised_fixtures.py from the
// official code's formulation), and the epoch loop's bookkeeping.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "fixtures/pytorch_fixtures.h"
#include "greedyhash/error.h"
#include "greedyhash/model/greedy_sign.h"
#include "greedyhash/model/unsupervised_loss.h"
#include "greedyhash/train/unsupervised_trainer.h"
#include "greedyhash/train/unsupervised_training.h"

namespace greedyhash {
namespace {

// Max absolute difference: every value here is O(0.1..1).
double max_abs_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor floats(const nlohmann::json& value) {
  return json_tensor(value).to(at::kFloat);
}

torch::nn::Linear layer_from(const nlohmann::json& weight, const nlohmann::json& bias) {
  const auto w = floats(weight);
  torch::nn::Linear layer(w.size(1), w.size(0));
  torch::NoGradGuard no_grad;
  layer->weight.copy_(w);
  layer->bias.copy_(floats(bias));
  return layer;
}

void expect_loss_case(const nlohmann::json& fixture, const std::string& name) {
  SCOPED_TRACE(name);
  const auto& c = fixture[name];
  auto layer = layer_from(c["weight"], c["bias"]);
  const auto x = floats(c["x"]);
  const auto h = layer->forward(x);
  const auto terms = unsupervised_hash_loss(x, h, greedy_sign(h), fixture["alpha"].get<double>());
  EXPECT_NEAR(terms.similarity.item<double>(), c["similarity"].get<double>(), 1e-6);
  EXPECT_NEAR(terms.quantization.item<double>(), c["quantization"].get<double>(), 1e-6);
  EXPECT_NEAR(terms.total.item<double>(), c["total"].get<double>(), 1e-6);
  terms.total.backward();
  EXPECT_LT(max_abs_difference(layer->weight.grad(), json_tensor(c["grad_weight"])), 1e-6);
  EXPECT_LT(max_abs_difference(layer->bias.grad(), json_tensor(c["grad_bias"])), 1e-6);
}

TEST(UnsupervisedLoss, MatchesPytorchWithItsGradients) {
  const auto fixture = read_fixture_json("pytorch_unsupervised.json");
  expect_loss_case(fixture, "even");
  // 9 rows: rows 0..3 pair with 4..7, row 8 takes no part.
  expect_loss_case(fixture, "odd");
}

TEST(UnsupervisedLoss, WorkedByHand) {
  // x rows: a = (1, 0), b = (0, 1), c = (1, 1), d = (1, 0); pairs (a, c) and (b, d):
  // cos = 1/sqrt(2) and 0. Codes: (+1, +1), (+1, -1), (+1, +1), (-1, -1): cos = 1 and 0.
  // similarity = ((1 - 1/sqrt(2))^2 + 0) / 2. h = 2 * codes: | |h| - 1 |^3 = 1 everywhere.
  const auto x = torch::tensor({1.f, 0.f, 0.f, 1.f, 1.f, 1.f, 1.f, 0.f}).view({4, 2});
  const auto codes = torch::tensor({1.f, 1.f, 1.f, -1.f, 1.f, 1.f, -1.f, -1.f}).view({4, 2});
  const auto terms = unsupervised_hash_loss(x, 2 * codes, codes, 0.5);
  const double expected = std::pow(1 - 1 / std::sqrt(2.0), 2) / 2;
  EXPECT_NEAR(terms.similarity.item<double>(), expected, 1e-7);
  EXPECT_NEAR(terms.quantization.item<double>(), 1.0, 1e-7);
  EXPECT_NEAR(terms.total.item<double>(), expected + 0.5, 1e-7);
}

TEST(UnsupervisedLoss, ABatchOfOneRowIsAnError) {
  const auto x = torch::ones({1, 3});
  EXPECT_THROW(unsupervised_hash_loss(x, x, x, 0.1), Error);
}

TEST(UnsupervisedStep, FiveSgdStepsMatchPytorch) {
  const auto fixture = read_fixture_json("pytorch_unsupervised.json");
  const auto& c = fixture["sgd"];
  auto layer = layer_from(c["start"]["weight"], c["start"]["bias"]);
  UnsupervisedOptions options;
  options.lr = fixture["lr"].get<double>();
  options.momentum = fixture["momentum"].get<double>();
  options.weight_decay = fixture["weight_decay"].get<double>();
  options.alpha = fixture["alpha"].get<double>();
  UnsupervisedStep step(layer, options);
  for (size_t i = 0; i < c["steps"].size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1));
    const auto& expected = c["steps"][i];
    const auto terms = step(floats(expected["x"]));
    EXPECT_NEAR(terms.total.item<double>(), expected["loss"].get<double>(), 1e-5);
    EXPECT_LT(max_abs_difference(layer->weight, json_tensor(expected["weight"])), 1e-5);
    EXPECT_LT(max_abs_difference(layer->bias, json_tensor(expected["bias"])), 1e-5);
  }
}

TEST(TrainHashLayer, SameSeedSameWeightsAndOneRecordPerEpoch) {
  torch::manual_seed(1);
  const auto features = torch::randn({50, 6});
  UnsupervisedOptions options;
  options.epochs = 3;
  options.batch_size = 8;
  options.lr = 0.05;
  options.dropout = 0.5;
  options.seed = 9;
  const auto train = [&] {
    torch::manual_seed(2);
    torch::nn::Linear layer(6, 4);
    std::vector<nlohmann::json> records;
    train_hash_layer(layer, features, options, [&](int64_t epochs_done, const nlohmann::json& r) {
      EXPECT_EQ(r["epoch"].get<int64_t>(), epochs_done);
      records.push_back(r);
    });
    EXPECT_EQ(records.size(), 3u);
    return layer->weight.detach().clone();
  };
  const auto first = train();
  EXPECT_TRUE(torch::equal(first, train()));
  options.seed = 10;  // another order and other dropout masks
  EXPECT_FALSE(torch::equal(first, train()));
}

TEST(TrainHashLayer, CentredTrainingIgnoresAShiftAndTakesRawFeatures) {
  // Centred, the loss sees x - mean whatever constant is added to x, and the layer handed
  // back folds the mean into its bias: trained on x and on x + 5, the two layers give the
  // same h on their own raw features. Not centred, the shift changes every cosine target.
  torch::manual_seed(4);
  const auto x = torch::randn({40, 6});
  UnsupervisedOptions options;
  options.epochs = 2;
  options.batch_size = 8;
  options.lr = 0.05;
  options.seed = 3;
  const auto h_after_training = [&](const at::Tensor& features, bool center) {
    options.center = center;
    torch::manual_seed(5);
    torch::nn::Linear layer(6, 4);
    train_hash_layer(layer, features, options, [](int64_t, const nlohmann::json&) {});
    torch::NoGradGuard no_grad;
    return layer->forward(features);
  };
  EXPECT_TRUE(
      torch::allclose(h_after_training(x, true), h_after_training(x + 5, true), 1e-4, 1e-4));
  EXPECT_FALSE(
      torch::allclose(h_after_training(x, false), h_after_training(x + 5, false), 1e-2, 1e-2));
}

TEST(TrainHashLayer, FewerThanTwoRowsIsAnError) {
  torch::nn::Linear layer(3, 2);
  EXPECT_THROW(
      train_hash_layer(layer, torch::ones({1, 3}), {}, [](int64_t, const nlohmann::json&) {}),
      Error);
}

TEST(UnsupervisedOptions, DropoutDefaultsToTheMethodsOwn) {
  Config config;
  EXPECT_DOUBLE_EQ(unsupervised_options(config, true).dropout, 0.5);
  EXPECT_DOUBLE_EQ(unsupervised_options(config, false).dropout, 0.0);
  config.feature_dropout = 0.2;
  EXPECT_DOUBLE_EQ(unsupervised_options(config, false).dropout, 0.2);
}

}  // namespace
}  // namespace greedyhash

namespace greedyhash {
namespace {

TEST(UnsupervisedConfig, BadValuesAndCombinationsAreOneLineErrors) {
  Config config;
  config.method = "self-supervised";
  expect_error([&] { validate_config(config, "test"); },
               {"'method'", "supervised or unsupervised"});
  config = Config{};
  config.feature_dropout = 1.0;
  expect_error([&] { validate_config(config, "test"); }, {"'feature_dropout'", "[0, 1)"});
  config = Config{};
  config.features = "emb";
  expect_error([&] { check_method(config, false); }, {"--features", "--method unsupervised"});
  config.method = "unsupervised";
  EXPECT_NO_THROW(check_method(config, false));
  expect_error([&] { check_method(config, true); }, {"do not resume"});
  config.features.clear();
  expect_error([&] { check_method(config, false); }, {"--freeze-backbone"});
  config.freeze_backbone = true;
  EXPECT_NO_THROW(check_method(config, false));
}

}  // namespace
}  // namespace greedyhash
