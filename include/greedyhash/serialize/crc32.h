#pragma once

#include <cstdint>
#include <string_view>

namespace greedyhash {

// CRC-32 as zip archives record it (ISO 3309 / ITU-T V.42, the polynomial 0xEDB88320
// reflected, zlib's crc32). `crc` continues an earlier value, so a long record can be
// checked in pieces: crc32(b, crc32(a)) == crc32(a + b).
uint32_t crc32(std::string_view bytes, uint32_t crc = 0);

}  // namespace greedyhash
