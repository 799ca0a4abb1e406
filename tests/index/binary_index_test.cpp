#include "greedyhash/index/binary_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "index/index_test_support.h"
#include "test_support.h"

namespace greedyhash {
namespace {

// Bit by bit, through the public bit() accessor: no packing, no popcount.
int reference_distance(const BinaryCodes& a, int64_t i, const BinaryCodes& b, int64_t j) {
  int d = 0;
  for (int bit = 0; bit < a.bits(); ++bit) d += a.bit(i, bit) != b.bit(j, bit);
  return d;
}

// The k nearest database codes of query q: ascending distance, ties by ascending index.
std::vector<int64_t> reference_top(const BinaryCodes& queries, int64_t q,
                                   const BinaryCodes& database, int64_t k) {
  std::vector<int64_t> order(static_cast<size_t>(database.size()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return reference_distance(queries, q, database, a) <
           reference_distance(queries, q, database, b);
  });
  order.resize(static_cast<size_t>(std::min(k, database.size())));
  return order;
}

void expect_exact(const BinaryIndex& index, const BinaryCodes& queries, const BinaryCodes& database,
                  int64_t k, bool check_ids) {
  const SearchHits hits = index.search(queries, k);
  ASSERT_EQ(hits.k, std::min(k, database.size()));
  for (int64_t q = 0; q < queries.size(); ++q) {
    const auto expected = reference_top(queries, q, database, k);
    for (int64_t j = 0; j < hits.k; ++j) {
      const auto cell = static_cast<size_t>(q * hits.k + j);
      const int64_t id = hits.ids[cell];
      ASSERT_GE(id, 0) << "query " << q << " rank " << j;
      EXPECT_EQ(hits.distances[cell],
                reference_distance(queries, q, database, expected[static_cast<size_t>(j)]))
          << "query " << q << " rank " << j;
      EXPECT_EQ(hits.distances[cell], reference_distance(queries, q, database, id))
          << "query " << q << " rank " << j << ": the distance reported is not the id's";
      if (check_ids) {
        EXPECT_EQ(id, expected[static_cast<size_t>(j)]) << "query " << q;
      }
    }
  }
}

TEST(FaissSupport, UnavailableMessageSaysHowToEnableIt) {
  const std::string message = faiss_unavailable_message();
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_NE(message.find("libfaiss-dev"), std::string::npos) << message;
  EXPECT_NE(message.find("-DGREEDYHASH_WITH_FAISS=ON"), std::string::npos) << message;
  if (faiss_available()) {
    EXPECT_NO_THROW(require_faiss());
  } else {
    // The path a build without FAISS takes: every use is that one-line error.
    expect_error([] { require_faiss(); }, {"libfaiss-dev"});
    expect_error([] { BinaryIndex::build(random_codes(4, 8, 1), {}); }, {"libfaiss-dev"});
    expect_error([] { BinaryIndex::from_bytes("x", "f.faiss"); }, {"GREEDYHASH_WITH_FAISS"});
  }
}

TEST(IndexParams, DefaultsAndNames) {
  EXPECT_EQ(padded_bits(12), 16);
  EXPECT_EQ(padded_bits(16), 16);
  EXPECT_EQ(padded_bits(48), 48);
  EXPECT_EQ(padded_bits(70), 72);
  EXPECT_EQ(default_nlist(1'000'000), 1000);  // sqrt
  EXPECT_EQ(default_nlist(10'000), 100);      // sqrt
  EXPECT_EQ(default_nlist(1'000), 25);        // 1000 / 39, below sqrt = 32
  EXPECT_EQ(default_nlist(36), 1);
  EXPECT_EQ(default_nprobe(1000), 62);
  EXPECT_EQ(default_nprobe(8), 1);
  EXPECT_EQ(parse_index_type("ivf"), IndexType::Ivf);
  EXPECT_EQ(index_type_name(IndexType::Flat), "flat");
  expect_error([] { parse_index_type("hnsw"); }, {"--index-type", "flat or ivf", "hnsw"});
}

TEST(BinaryIndex, FlatIsExactWithTiesByPosition) {
  GREEDYHASH_REQUIRE_FAISS();
  // 12 and 70 bits are padded to 16 and 72; 48 and 128 are whole bytes.
  for (const int bits : {12, 48, 70, 128}) {
    SCOPED_TRACE(std::to_string(bits) + " bits");
    const auto database = random_codes(400, bits, 11 + bits);
    const auto queries = random_codes(12, bits, 99 + bits);
    const auto index = BinaryIndex::build(database, {IndexType::Flat, 0, 0});
    EXPECT_EQ(index.size(), 400);
    EXPECT_EQ(index.padded_bits(), padded_bits(bits));
    EXPECT_EQ(index.type(), IndexType::Flat);
    expect_exact(index, queries, database, 10, /*check_ids=*/true);
  }
}

TEST(BinaryIndex, TwelveBitCodesAreZeroPadded) {
  GREEDYHASH_REQUIRE_FAISS();
  // 12 bits: only 4,096 codes exist, so many ties; the padding bits must not count.
  BinaryCodes database(3, 12);
  database.set_bit(1, 0, true);                               // distance 1 from all-zero
  for (int j = 0; j < 12; ++j) database.set_bit(2, j, true);  // distance 12
  BinaryCodes query(1, 12);
  const auto index = BinaryIndex::build(database, {});
  EXPECT_EQ(index.padded_bits(), 16);
  const auto hits = index.search(query, 3);
  EXPECT_EQ(hits.distances, (std::vector<int32_t>{0, 1, 12}));
  EXPECT_EQ(hits.ids, (std::vector<int64_t>{0, 1, 2}));
  // The stored bytes are BinaryCodes' layout with the high nibble of byte 1 zero.
  const std::string bytes = index.to_bytes();
  const std::string expected_row2("\xff\x0f", 2);
  EXPECT_NE(bytes.find(expected_row2), std::string::npos);
}

TEST(BinaryIndex, IvfProbingEveryCellIsExact) {
  GREEDYHASH_REQUIRE_FAISS();
  const auto database = random_codes(600, 48, 5);
  const auto queries = random_codes(10, 48, 6);
  auto index = BinaryIndex::build(database, {IndexType::Ivf, 8, 8});
  EXPECT_EQ(index.type(), IndexType::Ivf);
  EXPECT_EQ(index.nlist(), 8);
  EXPECT_EQ(index.nprobe(), 8);
  expect_exact(index, queries, database, 10, /*check_ids=*/false);

  // Fewer cells: approximate, but every reported distance is the true one and ascending.
  index.set_nprobe(1);
  const auto hits = index.search(queries, 10);
  for (int64_t q = 0; q < queries.size(); ++q) {
    for (int64_t j = 0; j < hits.k; ++j) {
      const auto cell = static_cast<size_t>(q * hits.k + j);
      if (hits.ids[cell] < 0) break;
      EXPECT_EQ(hits.distances[cell], reference_distance(queries, q, database, hits.ids[cell]));
      if (j > 0) {
        EXPECT_LE(hits.distances[cell - 1], hits.distances[cell]);
      }
    }
  }
}

TEST(BinaryIndex, DefaultIvfParameters) {
  GREEDYHASH_REQUIRE_FAISS();
  const auto index = BinaryIndex::build(random_codes(2000, 24, 3), {IndexType::Ivf, 0, 0});
  EXPECT_EQ(index.nlist(), default_nlist(2000));
  EXPECT_EQ(index.nprobe(), default_nprobe(default_nlist(2000)));
}

TEST(BinaryIndex, SerialisedBytesRoundTrip) {
  GREEDYHASH_REQUIRE_FAISS();
  const auto database = random_codes(300, 12, 21);
  const auto queries = random_codes(5, 12, 22);
  for (const IndexParams& params :
       {IndexParams{IndexType::Flat, 0, 0}, IndexParams{IndexType::Ivf, 4, 3}}) {
    const auto index = BinaryIndex::build(database, params);
    const auto back = BinaryIndex::from_bytes(index.to_bytes(), "test.faiss");
    EXPECT_EQ(back.type(), params.type);
    EXPECT_EQ(back.size(), 300);
    EXPECT_EQ(back.padded_bits(), 16);
    EXPECT_EQ(back.nlist(), params.nlist);
    EXPECT_EQ(back.nprobe(), params.nprobe);
    const auto a = index.search(queries, 7);
    const auto b = back.search(queries, 7);
    EXPECT_EQ(a.distances, b.distances);
    EXPECT_EQ(a.ids, b.ids);
  }
}

TEST(BinaryIndex, AskingForMoreThanTheIndexHoldsReturnsAll) {
  GREEDYHASH_REQUIRE_FAISS();
  const auto database = random_codes(5, 48, 8);
  const auto queries = random_codes(2, 48, 9);
  const auto hits = BinaryIndex::build(database, {}).search(queries, 50);
  EXPECT_EQ(hits.k, 5);
  EXPECT_EQ(hits.ids.size(), 10u);
  expect_exact(BinaryIndex::build(database, {}), queries, database, 50, true);
}

TEST(BinaryIndex, BadInputIsANamedError) {
  GREEDYHASH_REQUIRE_FAISS();
  const auto database = random_codes(50, 12, 1);
  expect_error([] { BinaryIndex::build(BinaryCodes(0, 12), {}); }, {"no images"});
  expect_error(
      [&] {
        BinaryIndex::build(database, {IndexType::Ivf, 51, 1});
      },
      {"--nlist 51", "50 codes"});
  expect_error(
      [&] {
        BinaryIndex::build(database, {IndexType::Ivf, 4, 5});
      },
      {"--nprobe 5", "--nlist 4"});
  auto flat = BinaryIndex::build(database, {});
  expect_error([&] { flat.search(random_codes(1, 24, 2), 3); }, {"24 bits", "16-bit"});
  expect_error([&] { flat.search(random_codes(1, 12, 2), 0); }, {"at least 1"});
  expect_error([&] { flat.set_nprobe(2); }, {"IVF indexes only"});
  auto ivf = BinaryIndex::build(database, {IndexType::Ivf, 2, 1});
  expect_error([&] { ivf.set_nprobe(3); }, {"1..2"});
  expect_error([] { BinaryIndex::from_bytes("not an index", "bad.faiss"); },
               {"bad.faiss", "not a FAISS binary index"});
  std::string truncated = flat.to_bytes();
  truncated.resize(truncated.size() / 2);
  expect_error([&] { BinaryIndex::from_bytes(truncated, "half.faiss"); }, {"half.faiss"});
}

}  // namespace
}  // namespace greedyhash
