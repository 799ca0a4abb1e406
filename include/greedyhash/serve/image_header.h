#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace greedyhash {

// What an encoded image declares about itself before any pixel is decoded.
struct ImageHeader {
  std::string format;  // "jpeg" or "png"
  int64_t width = 0;
  int64_t height = 0;
};

// Reads the size a JPEG (its first SOFn frame header) or PNG (IHDR) declares, from the
// leading bytes alone, so that an image bomb (a few kilobytes claiming 50,000 x 50,000
// pixels) is refused before a decoder allocates for it. Anything else, or a header cut
// short, is a greedyhash::Error of one line ("... is not a JPEG or PNG image ...").
// Never reads past `bytes`.
ImageHeader read_image_header(std::string_view bytes);

}  // namespace greedyhash
