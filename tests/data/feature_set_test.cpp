// Embedding folders: what loads, and the one-line errors for what does not.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "greedyhash/data/feature_set.h"
#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

fs::path feature_folder(const std::string& name, int64_t train_rows = 6, int64_t dim = 4) {
  const fs::path dir = fresh_test_folder(name);
  torch::manual_seed(5);
  save_npy(dir / "train.npy", torch::randn({train_rows, dim}));
  save_npy(dir / "query.npy", torch::randn({3, dim}).to(torch::kHalf));
  save_npy(dir / "database.npy", torch::randn({5, dim}));
  return dir;
}

TEST(FeatureFolder, LoadsFloat16AndClassIdsAsMultiHot) {
  const fs::path dir = feature_folder("features-ok");
  save_npy(dir / "query_labels.npy", torch::tensor({0, 2, 1}, torch::kLong));
  save_npy(dir / "database_labels.npy", torch::tensor({3, 0, 0, 1, 2}, torch::kInt));
  const FeatureFolder folder = load_feature_folder(dir);
  EXPECT_EQ(folder.dim(), 4);
  EXPECT_EQ(folder.query.features.scalar_type(), torch::kFloat);
  ASSERT_TRUE(folder.labelled());
  // Query ids reach 2, database ids 3: both get 4 columns.
  EXPECT_TRUE(torch::equal(
      folder.query.labels,
      torch::tensor({1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0}, torch::kUInt8).view({3, 4})));
  EXPECT_EQ(folder.database.labels.sizes(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(folder.database.labels[0][3].item<int>(), 1);
}

TEST(FeatureFolder, LoadsWithoutLabels) {
  const FeatureFolder folder = load_feature_folder(feature_folder("features-unlabelled"));
  EXPECT_FALSE(folder.labelled());
  EXPECT_FALSE(folder.database.labels.defined());
}

TEST(FeatureFolder, BadInputIsAOneLineErrorNamingTheFile) {
  {
    const fs::path dir = feature_folder("features-dtype");
    save_npy(dir / "train.npy", torch::ones({6, 4}, torch::kLong));
    expect_error([&] { load_feature_folder(dir); }, {"train.npy", "float32", "astype"});
  }
  {
    const fs::path dir = feature_folder("features-rank");
    save_npy(dir / "query.npy", torch::ones({3, 4, 1}));
    expect_error([&] { load_feature_folder(dir); }, {"query.npy", "3 x 4 x 1"});
  }
  {
    const fs::path dir = feature_folder("features-dim");
    save_npy(dir / "database.npy", torch::ones({5, 7}));
    expect_error([&] { load_feature_folder(dir); },
                 {"database.npy", "7 columns", "train.npy has 4"});
  }
  {
    const fs::path dir = feature_folder("features-nan");
    auto values = torch::ones({6, 4});
    values[4][2] = std::nanf("");
    save_npy(dir / "train.npy", values);
    expect_error([&] { load_feature_folder(dir); }, {"train.npy", "row 4", "NaN"});
  }
  {
    const fs::path dir = feature_folder("features-inf");
    auto values = torch::ones({3, 4}).to(torch::kHalf);
    values[1][0] = std::numeric_limits<float>::infinity();
    save_npy(dir / "query.npy", values);
    expect_error([&] { load_feature_folder(dir); }, {"query.npy", "row 1"});
  }
  {
    const fs::path dir = feature_folder("features-one-row", 1);
    expect_error([&] { load_feature_folder(dir); }, {"train.npy", "1 rows", "at least 2"});
  }
  {
    const fs::path dir = feature_folder("features-missing");
    fs::remove(dir / "database.npy");
    expect_error([&] { load_feature_folder(dir); }, {"database.npy", "numpy.save"});
  }
  expect_error([] { load_feature_folder("/nonexistent/features"); }, {"/nonexistent/features"});
}

TEST(FeatureFolder, BadLabelsAreAOneLineErrorNamingTheFile) {
  const fs::path dir = feature_folder("features-labels");
  save_npy(dir / "query_labels.npy", torch::tensor({0, 1, 1}, torch::kLong));
  expect_error([&] { load_feature_folder(dir); }, {"database_labels.npy", "both"});
  save_npy(dir / "database_labels.npy", torch::tensor({0, 1}, torch::kLong));
  expect_error([&] { load_feature_folder(dir); }, {"database_labels.npy", "expected 5"});
  save_npy(dir / "database_labels.npy", torch::ones({5}, torch::kFloat));
  expect_error([&] { load_feature_folder(dir); }, {"database_labels.npy", "int64"});
  save_npy(dir / "database_labels.npy", torch::tensor({0, 1, -1, 0, 0}, torch::kLong));
  expect_error([&] { load_feature_folder(dir); }, {"database_labels.npy", "-1"});
  save_npy(dir / "database_labels.npy", torch::full({5, 3}, 2, torch::kUInt8));
  expect_error([&] { load_feature_folder(dir); }, {"database_labels.npy", "0 and 1"});
  // Multi-hot matrices of different widths cannot be reconciled.
  save_npy(dir / "query_labels.npy", torch::ones({3, 2}, torch::kUInt8));
  save_npy(dir / "database_labels.npy", torch::ones({5, 3}, torch::kBool));
  expect_error([&] { load_feature_folder(dir); }, {"query_labels.npy", "2 label columns"});
}

}  // namespace
}  // namespace greedyhash
