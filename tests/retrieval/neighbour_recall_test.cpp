// Neighbour recall and exact cosine neighbours against brute force: every order of the
// ties enumerated, and a double loop over the products.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "greedyhash/error.h"
#include "greedyhash/retrieval/hamming.h"
#include "greedyhash/retrieval/neighbour_recall.h"

namespace greedyhash {
namespace {

// The mean over all orders of the tied items of |neighbours within the first R| / k: the
// distances sort the items, and every permutation within a group of equal distances is
// one equally likely order.
double recall_over_all_tie_orders(const std::vector<int32_t>& distances,
                                  const std::vector<int64_t>& neighbours, int64_t cutoff) {
  std::vector<int64_t> order(distances.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return distances[a] != distances[b] ? distances[a] < distances[b] : a < b;
  });
  double total = 0;
  int64_t orders = 0;
  // Enumerate permutations of `order` that keep distances sorted.
  do {
    bool sorted = true;
    for (size_t i = 1; i < order.size(); ++i)
      sorted &= distances[order[i - 1]] <= distances[order[i]];
    if (!sorted) continue;
    int64_t found = 0;
    for (int64_t i = 0; i < std::min<int64_t>(cutoff, order.size()); ++i) {
      found += std::count(neighbours.begin(), neighbours.end(), order[i]);
    }
    total += static_cast<double>(found) / static_cast<double>(neighbours.size());
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  return total / static_cast<double>(orders);
}

TEST(NeighbourRecall, WorkedByHand) {
  // One 2-bit query 00; database codes 00, 01, 10, 11: distances 0, 1, 1, 2. True
  // neighbours: items 2 and 3. R = 1: item 0 only, none found. R = 2: one of the two
  // distance-1 items, item 2 with chance 1/2: 0.5 / 2 = 0.25. R = 3: item 2 surely: 0.5.
  // R = 4: both: 1.
  const auto queries = BinaryCodes::from_tensor(torch::tensor({-1.f, -1.f}).view({1, 2}));
  const auto database = BinaryCodes::from_tensor(
      torch::tensor({-1.f, -1.f, 1.f, -1.f, -1.f, 1.f, 1.f, 1.f}).view({4, 2}));
  const auto neighbours = torch::tensor({2, 3}, torch::kLong).view({1, 2});
  const auto recall = neighbour_recall(queries, database, neighbours, {1, 2, 3, 4, 10});
  EXPECT_EQ(recall.k, 2);
  EXPECT_DOUBLE_EQ(recall.recall[0], 0.0);
  EXPECT_DOUBLE_EQ(recall.recall[1], 0.25);
  EXPECT_DOUBLE_EQ(recall.recall[2], 0.5);
  EXPECT_DOUBLE_EQ(recall.recall[3], 1.0);
  EXPECT_DOUBLE_EQ(recall.recall[4], 1.0);
}

TEST(NeighbourRecall, EqualsTheMeanOverEveryOrderOfTheTies) {
  torch::manual_seed(3);
  const int64_t n = 8, q = 5, k = 3;
  const auto database_codes = BinaryCodes::from_tensor(torch::randn({n, 3}));
  const auto query_codes = BinaryCodes::from_tensor(torch::randn({q, 3}));
  const auto neighbours = torch::randperm(n, torch::kLong).narrow(0, 0, k).repeat({q, 1});
  const std::vector<int64_t> cutoffs = {1, 2, 4, 7};
  const auto recall = neighbour_recall(query_codes, database_codes, neighbours, cutoffs);
  for (size_t c = 0; c < cutoffs.size(); ++c) {
    double expected = 0;
    for (int64_t i = 0; i < q; ++i) {
      const auto row = neighbours[i];
      const std::vector<int64_t> nn(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + k);
      expected += recall_over_all_tie_orders(hamming_distances(query_codes, i, database_codes), nn,
                                             cutoffs[c]);
    }
    EXPECT_NEAR(recall.recall[c], expected / q, 1e-12) << "R = " << cutoffs[c];
  }
}

TEST(NeighbourRecall, RefusesBadInput) {
  const auto codes = BinaryCodes::from_tensor(torch::randn({4, 8}));
  const auto neighbours = torch::zeros({4, 2}, torch::kLong);
  EXPECT_THROW(neighbour_recall(codes, codes, neighbours, {}), Error);
  EXPECT_THROW(neighbour_recall(codes, codes, neighbours, {0}), Error);
  EXPECT_THROW(neighbour_recall(codes, codes, neighbours + 4, {1}), Error);
  EXPECT_THROW(neighbour_recall(codes, codes, torch::zeros({3, 2}, torch::kLong), {1}), Error);
}

TEST(CosineNearestNeighbours, EqualsADoubleLoop) {
  torch::manual_seed(4);
  // More queries than one block of products (256), to cross a block boundary.
  const auto queries = torch::randn({300, 7});
  auto database = torch::randn({40, 7});
  database[5].zero_();  // similarity 0 to every query, not NaN
  const int64_t k = 6;
  const auto got = cosine_nearest_neighbours(queries, database, k);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{300, k}));
  for (int64_t i = 0; i < queries.size(0); ++i) {
    std::vector<std::pair<double, int64_t>> similarity;
    for (int64_t j = 0; j < database.size(0); ++j) {
      const auto a = queries[i].to(torch::kDouble);
      const auto b = database[j].to(torch::kDouble);
      const double norms = a.norm().item<double>() * b.norm().item<double>();
      similarity.push_back({norms == 0 ? 0.0 : (a * b).sum().item<double>() / norms, j});
    }
    std::sort(similarity.begin(), similarity.end(), std::greater<>());
    for (int64_t r = 0; r < k; ++r) {
      ASSERT_EQ(got[i][r].item<int64_t>(), similarity[r].second) << "query " << i << " rank " << r;
    }
  }
  EXPECT_THROW(cosine_nearest_neighbours(queries, database, 41), Error);
  EXPECT_THROW(cosine_nearest_neighbours(queries, database, 0), Error);
}

}  // namespace
}  // namespace greedyhash
