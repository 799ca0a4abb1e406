// The feature cache of unsupervised training: encode_backbone_features must equal the
// backbone's own forward pass in eval mode on the evaluation transform of each image.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "greedyhash/data/device_transform.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/inference/unsupervised_evaluation.h"
#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {
namespace {

ImageDataset random_dataset(int64_t n) {
  torch::manual_seed(11);
  ImageDataset dataset;
  dataset.images = torch::randint(0, 256, {n, 3, 32, 32}, torch::kUInt8);
  dataset.labels = torch::zeros({n, 3}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) dataset.labels[i][i % 3] = 1;
  return dataset;
}

// What the backbone computes from the images by hand: scale to [0, 1], ImageNet
// normalisation (32 px: no resize), eval mode, no gradients.
at::Tensor expected_features(GreedyHash& model, const ImageDataset& dataset,
                             const std::vector<int64_t>& rows) {
  torch::NoGradGuard no_grad;
  model->eval();
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const auto stddev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  const auto images = dataset.images.index_select(0, torch::tensor(rows)).to(torch::kFloat) / 255;
  return model->backbone->forward((images - mean) / stddev);
}

TEST(BackboneFeatures, EqualTheBackbonesEvalModeOutput) {
  const ImageDataset dataset = random_dataset(7);
  torch::manual_seed(12);
  GreedyHash model(8, 3, "vgg16");  // dropout in its classifier: must be off
  const std::vector<int64_t> rows = {6, 0, 3, 4, 1};
  EncodeOptions options = prepare_encoder(model, torch::kCPU, "fp32");
  options.transform = resize_transform(32);
  options.batch_size = 2;  // several batches, the last one short
  options.progress_label = "";
  model->train();  // the encoder must switch to eval mode itself
  const auto features = encode_backbone_features(model, dataset, rows, options);
  EXPECT_TRUE(model->is_training()) << "the model's mode is restored";
  const auto expected = expected_features(model, dataset, rows);
  ASSERT_EQ(features.sizes(), expected.sizes());
  EXPECT_LT((features - expected).abs().max().item<double>(),
            1e-5 * expected.abs().max().item<double>());
}

TEST(BackboneFeatures, RetrievalRowsFollowTheListsAndCarryTheirLabels) {
  const ImageDataset dataset = random_dataset(6);
  torch::manual_seed(13);
  GreedyHash model(8, 3, "resnet18");
  EncodeOptions options = prepare_encoder(model, torch::kCPU, "fp32");
  options.transform = resize_transform(32);
  options.progress_label = "";
  // Query 4 is also in the database: encoded once, found in both.
  const RetrievalLists lists{{1, 4}, {0, 2, 4, 5}};
  const RetrievalFeatures rows = backbone_retrieval_features(model, dataset, lists, options);
  const auto query = expected_features(model, dataset, lists.queries);
  const auto database = expected_features(model, dataset, lists.database);
  EXPECT_LT((rows.query.features - query).abs().max().item<double>(), 1e-4);
  EXPECT_LT((rows.database.features - database).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(torch::equal(rows.database.labels,
                           dataset.labels.index_select(0, torch::tensor(lists.database))));
}

}  // namespace
}  // namespace greedyhash
