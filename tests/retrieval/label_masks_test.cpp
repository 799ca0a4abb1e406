#include "greedyhash/retrieval/label_masks.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include "greedyhash/retrieval/labeled_codes.h"

namespace greedyhash {
namespace {

TEST(LabelMasks, PacksClassesIntoWordsAndIndexesDistinctSets) {
  // 130 classes: three words. Row 0 has classes 0 and 129, row 1 class 64, row 2 none,
  // row 3 the same set as row 0.
  auto multi_hot = torch::zeros({4, 130}, torch::kUInt8);
  multi_hot[0][0] = 1;
  multi_hot[0][129] = 1;
  multi_hot[1][64] = 1;
  multi_hot[3][0] = 1;
  multi_hot[3][129] = 1;
  const LabelMasks masks = LabelMasks::from_multi_hot(multi_hot);
  ASSERT_EQ(masks.size(), 4);
  EXPECT_EQ(masks.num_classes(), 130);
  ASSERT_EQ(masks.words_per_row(), 3);
  EXPECT_EQ(masks.row(0)[0], 1u);
  EXPECT_EQ(masks.row(0)[1], 0u);
  EXPECT_EQ(masks.row(0)[2], uint64_t{1} << 1);
  EXPECT_EQ(masks.row(1)[1], 1u);
  EXPECT_TRUE(masks.shares_label(3, masks.row(0)));
  EXPECT_FALSE(masks.shares_label(1, masks.row(0)));
  EXPECT_FALSE(masks.shares_label(2, masks.row(2)));  // no labels: relevant to nothing
  EXPECT_EQ(masks.num_distinct_sets(), 3);
  EXPECT_EQ(masks.set_indices(), (std::vector<uint32_t>{0, 1, 2, 0}));
  EXPECT_EQ(masks.distinct_set(1)[1], 1u);
  EXPECT_TRUE(torch::equal(masks.to_multi_hot(), multi_hot));
}

TEST(LabelMasks, AcceptsBoolAndFloatMultiHot) {
  const auto as_bool = torch::tensor({{true, false}, {true, true}});
  const auto as_float = torch::tensor({{1.0, 0.0}, {1.0, 1.0}});
  const auto expected = torch::tensor({{1, 0}, {1, 1}}, torch::kUInt8);
  EXPECT_TRUE(torch::equal(LabelMasks::from_multi_hot(as_bool).to_multi_hot(), expected));
  EXPECT_TRUE(torch::equal(LabelMasks::from_multi_hot(as_float).to_multi_hot(), expected));
}

TEST(LabelMasks, Errors) {
  expect_error_containing([] { LabelMasks::from_multi_hot(torch::tensor({0, 3, 1})); }, "N x C");
  expect_error_containing(
      [] {
        LabelMasks::from_multi_hot(torch::tensor({{0, 3}, {1, 0}}, torch::kUInt8));
      },
      "entries 0 or 1");
  expect_error_containing([] { LabelMasks::from_multi_hot(torch::zeros({3, 0})); }, "C >= 1");
}

TEST(LabeledCodes, RowCountsMustMatch) {
  expect_error_containing(
      [] {
        LabeledCodes(BinaryCodes(3, 8), torch::ones({4, 2}, torch::kUInt8));
      },
      "codes have 3 rows but labels have 4");
}

}  // namespace
}  // namespace greedyhash
