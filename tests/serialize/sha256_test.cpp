#include "greedyhash/serialize/sha256.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "test_support.h"

namespace greedyhash {
namespace {

// FIPS 180-4 / NIST example digests.
TEST(Sha256, MatchesThePublishedExamples) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the padding boundaries (55/56 and 119/120 bytes need one more block),
// fed in uneven pieces; digests from Python's hashlib.sha256(bytes(range(256)) * 3)[:n].
TEST(Sha256, PaddingBoundariesAndPiecewiseUpdates) {
  std::string bytes;
  for (int r = 0; r < 3; ++r) {
    for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  }
  const std::pair<size_t, const char*> expected[] = {
      {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
      {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
      {63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
      {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
      {65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"},
      {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
      {120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
      {700, "513df58dd095240caa52ac490c29836736d4ef0133b40ac7b7e249abf7ecf2f7"}};
  for (const auto& [n, digest] : expected) {
    EXPECT_EQ(sha256_hex(std::string_view(bytes).substr(0, n)), digest) << n << " bytes at once";
    Sha256 hash;
    for (size_t at = 0, piece = 1; at < n; at += piece, piece = piece * 2 + 1) {
      hash.update(std::string_view(bytes).substr(at, std::min(piece, n - at)));
    }
    EXPECT_EQ(to_hex(hash.finish()), digest) << n << " bytes in pieces";
  }
}

TEST(Sha256, FileDigestAndUnreadableFile) {
  const auto folder = fresh_test_folder("sha256");
  std::ofstream(folder / "abc.txt", std::ios::binary) << "abc";
  EXPECT_EQ(file_sha256_hex(folder / "abc.txt"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  expect_error([&] { file_sha256_hex(folder / "missing.pt"); }, {"missing.pt"});
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace greedyhash
