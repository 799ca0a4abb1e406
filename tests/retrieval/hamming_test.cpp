#include "greedyhash/retrieval/hamming.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <algorithm>
#include <numeric>

namespace greedyhash {
namespace {

// Reference: distance = (K - <a, b>) / 2 on +-1 vectors.
std::vector<int32_t> reference_distances(const torch::Tensor& query, const torch::Tensor& db) {
  const auto dot = torch::mv(db.to(torch::kDouble), query.to(torch::kDouble));
  std::vector<int32_t> out;
  for (int64_t i = 0; i < db.size(0); ++i) {
    out.push_back(static_cast<int32_t>((db.size(1) - dot[i].item<double>()) / 2));
  }
  return out;
}

TEST(Hamming, DistancesAndStableRankingMatchAReference) {
  for (const int bits : {1, 8, 12, 48, 64, 65, 100, 128, 300}) {
    SCOPED_TRACE("bits " + std::to_string(bits));
    torch::manual_seed(bits);
    // Few distinct codes, so that many database items tie.
    const auto pool = torch::randint(2, {5, bits}) * 2 - 1;
    const auto db = pool.index_select(0, torch::randint(5, {200}, torch::kLong));
    const auto queries = torch::randint(2, {3, bits}) * 2 - 1;
    const BinaryCodes db_codes = BinaryCodes::from_tensor(db);
    const BinaryCodes query_codes = BinaryCodes::from_tensor(queries);
    for (int64_t q = 0; q < 3; ++q) {
      const auto expected = reference_distances(queries[q], db);
      EXPECT_EQ(hamming_distances(query_codes, q, db_codes), expected);
      std::vector<int64_t> order(expected.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return expected[a] < expected[b]; });
      EXPECT_EQ(hamming_ranking(query_codes, q, db_codes), order);
      EXPECT_EQ(hamming_distance(query_codes, q, db_codes, 17), expected[17]);
    }
  }
}

TEST(Hamming, Errors) {
  const BinaryCodes a(2, 12);
  const BinaryCodes b(3, 24);
  expect_error_containing([&] { hamming_distances(a, 0, b); },
                          "12 bits but database codes have 24");
  expect_error_containing([&] { hamming_ranking(a, 2, a); }, "out of range");
  expect_error_containing([&] { hamming_distance(a, 0, a, 5); }, "out of range");
}

}  // namespace
}  // namespace greedyhash
