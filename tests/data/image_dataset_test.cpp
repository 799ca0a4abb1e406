#include "greedyhash/data/image_dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace greedyhash {
namespace {

// Image i is filled with the value i and has class i % 3, so every selected row can be
// checked by hand.
TEST(SelectImages, KeepsTheRequestedRowsInTheRequestedOrder) {
  ImageDataset dataset;
  dataset.images =
      torch::arange(6, torch::kUInt8).view({6, 1, 1, 1}).expand({6, 3, 2, 2}).contiguous();
  dataset.labels = one_hot_labels({0, 1, 2, 0, 1, 2}, 3);
  dataset.class_names = {"a", "b", "c"};
  const ImageDataset subset = select_images(dataset, {4, 0, 5});
  ASSERT_EQ(subset.size(), 3);
  EXPECT_EQ(subset.images[0].min().item<int>(), 4);
  EXPECT_EQ(subset.images[0].max().item<int>(), 4);
  EXPECT_EQ(subset.images[1].max().item<int>(), 0);
  EXPECT_EQ(subset.images[2].min().item<int>(), 5);
  EXPECT_TRUE(torch::equal(subset.labels, one_hot_labels({1, 0, 2}, 3)));
  EXPECT_EQ(subset.class_names, dataset.class_names);
  EXPECT_NE(subset.images.data_ptr(), dataset.images.data_ptr()) << "a copy, not a view";
}

}  // namespace
}  // namespace greedyhash
