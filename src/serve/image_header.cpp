#include "greedyhash/serve/image_header.h"

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

uint32_t big_endian(std::string_view bytes, size_t at, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  }
  return value;
}

[[noreturn]] void refuse(const std::string& why) {
  throw Error("the body is not a JPEG or PNG image: " + why);
}

// PNG: the 8-byte signature, then the IHDR chunk (length 13) holding width and height.
ImageHeader png_header(std::string_view bytes) {
  if (bytes.size() < 24 || bytes.substr(12, 4) != "IHDR") refuse("PNG without an IHDR chunk");
  return {"png", big_endian(bytes, 16, 4), big_endian(bytes, 20, 4)};
}

// JPEG: segments after SOI (FF D8); the first start-of-frame marker (C0-CF but C4
// DHT, C8 JPG and CC DAC) carries height then width. Segments before it are skipped by
// their length fields; fill bytes (FF FF ...) are allowed between them.
ImageHeader jpeg_header(std::string_view bytes) {
  size_t at = 2;
  for (;;) {
    while (at < bytes.size() && static_cast<unsigned char>(bytes[at]) == 0xFF &&
           at + 1 < bytes.size() && static_cast<unsigned char>(bytes[at + 1]) == 0xFF) {
      ++at;
    }
    if (at + 4 > bytes.size()) refuse("JPEG cut short before its frame header");
    if (static_cast<unsigned char>(bytes[at]) != 0xFF) refuse("JPEG segment without a marker");
    const unsigned marker = static_cast<unsigned char>(bytes[at + 1]);
    const uint32_t length = big_endian(bytes, at + 2, 2);
    if (length < 2) refuse("JPEG segment of impossible length");
    const bool frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      if (length < 7 || at + 9 > bytes.size()) refuse("JPEG frame header cut short");
      return {"jpeg", big_endian(bytes, at + 7, 2), big_endian(bytes, at + 5, 2)};
    }
    if (marker == 0xD9 || marker == 0xDA) refuse("JPEG without a frame header");
    at += 2 + length;
  }
}

}  // namespace

ImageHeader read_image_header(std::string_view bytes) {
  if (bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return png_header(bytes);
  }
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
      static_cast<unsigned char>(bytes[1]) == 0xD8 &&
      static_cast<unsigned char>(bytes[2]) == 0xFF) {
    return jpeg_header(bytes);
  }
  refuse(bytes.empty() ? "it is empty" : "unknown signature");
}

}  // namespace greedyhash
