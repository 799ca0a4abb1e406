#pragma once

// The packed-images file layout (packed_images.h), shared by its writer
// (packed_images_writer.cpp, which needs OpenCV to decode) and its reader
// (packed_images.cpp, which does not). Private to src/data/.

#include <array>
#include <cstddef>
#include <cstdint>

namespace greedyhash::packed_layout {

constexpr std::array<char, 8> kMagic = {'G', 'H', 'P', 'A', 'C', 'K', '\0', '\1'};
constexpr std::array<char, 8> kEndMagic = {'G', 'H', 'P', 'K', 'E', 'N', 'D', '\0'};
constexpr size_t kHeaderBytes = 64;
constexpr size_t kIndexEntryBytes = 16;
constexpr size_t kTrailerBytes = 16;

inline void put_le64(uint8_t* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

inline void put_le32(uint8_t* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

inline uint64_t get_le64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

inline uint32_t get_le32(const uint8_t* in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

}  // namespace greedyhash::packed_layout
