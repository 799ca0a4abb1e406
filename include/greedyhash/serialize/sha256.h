#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace greedyhash {

// SHA-256 (FIPS 180-4), for content fingerprints of files: torchvision names its weight
// files after the digest's first hex digits, and caches keyed by content need one.
class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  // The digest of everything given to update(); the object is spent afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Lower-case hex of a digest.
std::string to_hex(const std::array<uint8_t, 32>& digest);

// Hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// Hex SHA-256 of a file's content, read in blocks. greedyhash::Error naming the file when
// it cannot be read.
std::string file_sha256_hex(const std::filesystem::path& file);

}  // namespace greedyhash
