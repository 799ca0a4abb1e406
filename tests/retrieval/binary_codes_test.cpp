#include "greedyhash/retrieval/binary_codes.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <string>

#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"

namespace greedyhash {
namespace {

const std::string kData = std::string(GREEDYHASH_TEST_DATA_DIR) + "/retrieval/";

TEST(BinaryCodes, SignOfZeroIsPlusOneAndBitsAreLeastSignificantFirst) {
  // Row 0: h = (-2, 0, 0.5, -0.0, -1e-9) -> +1 at entries 1, 2, 3 -> word 0b01110 = 14.
  // Row 1: all negative -> 0.
  const auto h = torch::tensor({{-2.0, 0.0, 0.5, -0.0, -1e-9}, {-1.0, -1.0, -3.0, -4.0, -5.0}});
  const BinaryCodes codes = BinaryCodes::from_tensor(h);
  ASSERT_EQ(codes.size(), 2);
  EXPECT_EQ(codes.bits(), 5);
  EXPECT_EQ(codes.words_per_code(), 1);
  EXPECT_EQ(codes.bytes_per_code(), 1);
  EXPECT_EQ(codes.row(0)[0], 14u);
  EXPECT_EQ(codes.row(1)[0], 0u);
  EXPECT_TRUE(codes.bit(0, 1));
  EXPECT_FALSE(codes.bit(0, 4));
}

TEST(BinaryCodes, WordLayoutAcrossLengths) {
  for (const int bits : {1, 12, 48, 63, 64, 65, 100, 128, 129, 1024}) {
    SCOPED_TRACE("bits " + std::to_string(bits));
    torch::manual_seed(bits);
    const auto pm1 = torch::randint(2, {7, bits}, torch::kInt8) * 2 - 1;
    const BinaryCodes codes = BinaryCodes::from_tensor(pm1);
    ASSERT_EQ(codes.words_per_code(), (bits + 63) / 64);
    const auto acc = pm1.accessor<int8_t, 2>();
    for (int64_t i = 0; i < 7; ++i) {
      for (int j = 0; j < bits; ++j) {
        const bool expected = acc[i][j] > 0;
        ASSERT_EQ((codes.row(i)[j / 64] >> (j % 64)) & 1u, expected ? 1u : 0u) << i << "," << j;
      }
      // Unused high bits stay 0, or Hamming distances would count them.
      if (bits % 64 != 0) {
        EXPECT_EQ(codes.row(i)[codes.words_per_code() - 1] >> (bits % 64), 0u);
      }
    }
    EXPECT_TRUE(torch::equal(codes.to_pm1(), pm1));
    EXPECT_TRUE(torch::equal(codes.to_pm1(torch::kFloat), pm1.to(torch::kFloat)));
    const BinaryCodes again = BinaryCodes::from_packed_bytes(codes.to_packed_bytes(), bits);
    EXPECT_TRUE(torch::equal(again.to_pm1(), pm1));
  }
}

TEST(BinaryCodes, AcceptsIntegerAndDoubleInput) {
  const auto as_long = torch::tensor({{-1, 1, 1}, {1, -1, 0}}, torch::kLong);
  const auto as_double = torch::tensor({{-0.3, 2.0, 1e-20}, {5.0, -7.0, 0.0}}, torch::kDouble);
  const auto expected = torch::tensor({{-1, 1, 1}, {1, -1, 1}}, torch::kInt8);
  EXPECT_TRUE(torch::equal(BinaryCodes::from_tensor(as_long).to_pm1(), expected));
  EXPECT_TRUE(torch::equal(BinaryCodes::from_tensor(as_double).to_pm1(), expected));
}

TEST(BinaryCodes, PackedBytesMatchNumpyPackbitsLittle) {
  // codesK_packed.npy = np.packbits(codesK_pm1 > 0, axis=1, bitorder="little"), the FAISS
  // layout (see tests/data/retrieval/make_fixtures.py).
  for (const int bits : {13, 70}) {
    SCOPED_TRACE("bits " + std::to_string(bits));
    const auto pm1 = load_npy(kData + "codes" + std::to_string(bits) + "_pm1.npy");
    const auto packed = load_npy(kData + "codes" + std::to_string(bits) + "_packed.npy");
    const BinaryCodes codes = BinaryCodes::from_tensor(pm1);
    EXPECT_TRUE(torch::equal(codes.to_packed_bytes(), packed));
    for (int64_t i = 0; i < codes.size(); ++i) {
      for (int64_t b = 0; b < codes.bytes_per_code(); ++b) {
        EXPECT_EQ(codes.row_bytes(i)[b], packed[i][b].item<uint8_t>());
      }
    }
    EXPECT_TRUE(torch::equal(BinaryCodes::from_packed_bytes(packed, bits).to_pm1(), pm1));
  }
}

TEST(BinaryCodes, CopiesFromNonContiguousInput) {
  const auto base = torch::tensor({{1.0, -1.0}, {-1.0, -1.0}, {1.0, 1.0}});
  const auto transposed = base.t();  // 2 x 3, not contiguous
  const auto expected = torch::tensor({{1, -1, 1}, {-1, -1, 1}}, torch::kInt8);
  EXPECT_TRUE(torch::equal(BinaryCodes::from_tensor(transposed).to_pm1(), expected));
}

TEST(BinaryCodes, SetBit) {
  BinaryCodes codes(2, 70);
  codes.set_bit(1, 69, true);
  codes.set_bit(1, 3, true);
  codes.set_bit(1, 3, false);
  EXPECT_EQ(codes.row(1)[1], uint64_t{1} << 5);
  EXPECT_EQ(codes.row(1)[0], 0u);
  EXPECT_EQ(codes.row(0)[1], 0u);
}

TEST(BinaryCodes, HexIsThePackedBytesInOrder) {
  BinaryCodes codes(2, 12);    // 2 bytes a code; padding bits stay 0
  codes.set_bit(0, 0, true);   // byte 0 = 0x01
  codes.set_bit(1, 7, true);   // byte 0 = 0x80
  codes.set_bit(1, 8, true);   // byte 1 = 0x01
  codes.set_bit(1, 11, true);  // byte 1 = 0x09
  EXPECT_EQ(codes.hex(0), "0100");
  EXPECT_EQ(codes.hex(1), "8009");
  EXPECT_EQ(BinaryCodes(1, 48).hex(0), "000000000000");
}

TEST(BinaryCodes, Errors) {
  expect_error_containing([] { BinaryCodes::from_tensor(torch::ones({4})); }, "2-D");
  expect_error_containing([] { BinaryCodes::from_tensor(torch::ones({3, 0})); }, "1..1024");
  expect_error_containing([] { BinaryCodes::from_tensor(torch::ones({3, 1025})); }, "1..1024");
  expect_error_containing([] { BinaryCodes(3, 0); }, "got 0");
  expect_error_containing(
      [] {
        BinaryCodes::from_tensor(torch::tensor({{1.0, std::nan("")}}));
      },
      "NaN");
  expect_error_containing(
      [] {
        BinaryCodes::from_tensor(torch::ones({2, 4}, torch::kUInt8));
      },
      "uint8");
  expect_error_containing(
      [] {
        BinaryCodes::from_tensor(torch::ones({2, 4}, torch::kBool));
      },
      "dtype");
  // 12 bits in 2 bytes: the top 4 bits of byte 1 must be 0.
  expect_error_containing(
      [] {
        BinaryCodes::from_packed_bytes(torch::tensor({{0, 0x10}}, torch::kUInt8), 12);
      },
      "past bit 12");
  expect_error_containing(
      [] {
        BinaryCodes::from_packed_bytes(torch::zeros({2, 3}, torch::kUInt8), 12);
      },
      "N x 2 uint8");
  expect_error_containing([] { BinaryCodes(2, 8).to_pm1(torch::kUInt8); }, "dtype");
}

}  // namespace
}  // namespace greedyhash
