#include "greedyhash/serialize/crc32.h"

#include <gtest/gtest.h>

#include <string>

namespace greedyhash {
namespace {

TEST(Crc32, MatchesZlibOnKnownInputs) {
  // The standard check value, and values from Python's zlib.crc32.
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("a"), 0xe8b7be43u);
  EXPECT_EQ(crc32("123456789"), 0xcbf43926u);
  std::string pattern;
  for (int i = 0; i < 1000; ++i) pattern += static_cast<char>((i * 7 + 3) % 256);
  EXPECT_EQ(crc32(pattern), 0x17bc2a46u);  // zlib.crc32(bytes((i*7+3)%256 for i in range(1000)))
}

TEST(Crc32, ContinuesAcrossPieces) {
  std::string pattern;
  for (int i = 0; i < 1000; ++i) pattern += static_cast<char>((i * 7 + 3) % 256);
  for (const size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    EXPECT_EQ(crc32(pattern.substr(cut), crc32(pattern.substr(0, cut))), 0x17bc2a46u) << cut;
  }
}

}  // namespace
}  // namespace greedyhash
