#include "greedyhash/inference/collection_index.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

TEST(CollectionIndex, DefaultFileNames) {
  IndexManifest m;
  m.collection = "run_database";
  EXPECT_EQ(default_index_file("/r/bit_12", m), fs::path("/r/bit_12/database.faiss"));
  m.collection = "images";
  m.source = "/photos/holiday/";
  EXPECT_EQ(default_index_file("/r/bit_12", m), fs::path("/r/bit_12/holiday.faiss"));
  m.collection = "list";
  m.source = "/data/nus/database.txt";
  EXPECT_EQ(default_index_file("/r/bit_12", m), fs::path("/r/bit_12/database.faiss"));
}

TEST(CollectionIndex, QueryClassNames) {
  const std::vector<std::string> names = {"cat", "dog", "ship"};
  const auto label = torch::tensor({1, 0, 1}, torch::kUInt8);
  EXPECT_EQ(query_class_names(label, 1, names), (std::vector<std::string>{"cat", "ship"}));
  EXPECT_EQ(query_class_names(at::Tensor(), 1, names), (std::vector<std::string>{"dog"}));
}

// A run-database index of 4 items over a data set of 6 images (pixel value = row).
TEST(CollectionIndex, HitsOfARunDatabaseIndex) {
  RunData data;
  data.dataset.images = torch::arange(6, torch::kUInt8).reshape({6, 1, 1, 1}).expand({6, 3, 2, 2});
  IndexManifest m;
  m.collection = "run_database";
  m.items = {"a", "b", "c", "d"};
  m.dataset_indices = {1, 2, 4, 5};
  m.class_names = {"cat", "dog", "ship"};
  m.labels = {{0}, {1}, {1, 2}, {2}};
  SearchHits hits;
  hits.k = 3;
  hits.ids = {2, 0, -1};  // an IVF probe that found two
  hits.distances = {1, 4, 0};
  const auto out = index_hits(m, hits, 0, &data, {}, {"ship"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].item, "c");
  EXPECT_EQ(out[0].distance, 1);
  EXPECT_EQ(out[0].relevant, std::optional<bool>(true));
  EXPECT_EQ(out[0].image[0][0][0].item<int>(), 4);  // dataset row 4
  EXPECT_EQ(out[1].item, "a");
  EXPECT_EQ(out[1].relevant, std::optional<bool>(false));
  EXPECT_EQ(out[1].image[2][1][1].item<int>(), 1);

  // Without the query's classes (an outside image with no run data), relevance is unknown.
  EXPECT_FALSE(index_hits(m, hits, 0, &data, {}, {})[0].relevant.has_value());
  m.dataset_indices = {1, 2, 40, 5};
  expect_error([&] { index_hits(m, hits, 0, &data, {}, {"ship"}); }, {"image 40", "--data-dir"});
}

}  // namespace
}  // namespace greedyhash
