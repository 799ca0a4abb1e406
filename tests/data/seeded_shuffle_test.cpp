#include "greedyhash/data/seeded_shuffle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

namespace greedyhash {
namespace {

nlohmann::json reference() {
  std::ifstream in(std::string(GREEDYHASH_TEST_DATA_DIR) + "/fixtures/seeded_reference.json");
  return nlohmann::json::parse(in);
}

TEST(SeededShuffle, MatchesTheStandardAndTheIndependentReference) {
  {
    SCOPED_TRACE("GeneratorIsTheStandardMt19937_64");
    // The C++ standard requires this value ([rand.predef]); the Python reference asserts it
    // for its own implementation too.
    std::mt19937_64 standard;
    standard.discard(9999);
    EXPECT_EQ(standard(), 9981545732273789042ULL);

    const auto expected = reference()["mt19937_64_seed2000_first5"];
    std::mt19937_64 rng(2000);
    for (const auto& value : expected) {
      EXPECT_EQ(rng(), std::stoull(value.get<std::string>()));
    }
  }
  {
    SCOPED_TRACE("DrawBelowMatchesTheIndependentReference");
    const auto expected =
        reference()["draw_below_seed99_bound7_first10"].get<std::vector<uint64_t>>();
    std::mt19937_64 rng(99);
    for (const auto value : expected) EXPECT_EQ(draw_below(rng, 7), value);
  }
  {
    SCOPED_TRACE("Mix64KnownValues");
    // splitmix64 seeded with 0: its first output is mix64(0) (the generator adds the
    // golden-ratio increment before mixing). Published value: 0xE220A8397B1DCDAF.
    EXPECT_EQ(mix64(0), 0xE220A8397B1DCDAFULL);
    EXPECT_NE(derive_seed(1, 0), derive_seed(1, 1));
    EXPECT_NE(derive_seed(1, 0), derive_seed(2, 0));
  }
}

TEST(SeededShuffle, DrawBelowAndFisherYatesProperties) {
  {
    SCOPED_TRACE("DrawBelowStaysInRangeAndCoversIt");
    std::mt19937_64 rng(1);
    std::vector<int> histogram(5, 0);
    for (int i = 0; i < 5000; ++i) {
      const auto v = draw_below(rng, 5);
      ASSERT_LT(v, 5u);
      ++histogram[v];
    }
    // 1000 expected per bin; a binomial's sd is ~28, so 850..1150 is > 5 sd wide.
    for (const int count : histogram) {
      EXPECT_GT(count, 850);
      EXPECT_LT(count, 1150);
    }
    EXPECT_EQ(draw_below(rng, 1), 0u);
    // A bound just above 2^63 rejects almost half the draws; results must still fit.
    const uint64_t big = (uint64_t{1} << 63) + 12345;
    for (int i = 0; i < 100; ++i) EXPECT_LT(draw_below(rng, big), big);
  }
  {
    SCOPED_TRACE("FisherYatesPermutes");
    std::vector<int64_t> values(100);
    for (int64_t i = 0; i < 100; ++i) values[static_cast<size_t>(i)] = i;
    std::mt19937_64 rng(3);
    fisher_yates_shuffle(values, rng);
    auto sorted = values;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
    int fixed_points = 0;
    for (int64_t i = 0; i < 100; ++i) fixed_points += values[static_cast<size_t>(i)] == i;
    EXPECT_LT(fixed_points, 10);  // a random permutation has 1 on average

    std::vector<int64_t> empty;
    fisher_yates_shuffle(empty, rng);
    std::vector<int64_t> one = {7};
    fisher_yates_shuffle(one, rng);
    EXPECT_EQ(one[0], 7);
  }
}

}  // namespace
}  // namespace greedyhash
