#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "greedyhash/data/streamed_images.h"

namespace greedyhash {

// A one-time packed copy of a streamed collection: every image decoded and resized as
// read_streamed_rows would (shorter side to the resize size, whole image), stored as raw
// pixels in one file that is read through mmap, so that later epochs and evaluations
// skip JPEG decoding. The page cache holds what fits in memory; the process itself holds
// a batch at a time, as the streamed path does.
//
// File layout (little-endian), written once by write_packed_images through
// write_file_atomically (a temporary file renamed into place, so a killed write leaves
// nothing under the file's name):
//   header   64 bytes: "GHPACK\0\1", image count, resize size, content key (64 bits),
//            40 bytes of zeros;
//   pixels   per image, H x W x 3 bytes, BGR (OpenCV's order), in image order;
//   index    per image, 16 bytes: offset of its pixels (from the file's start), H, W (32 bits
//   each); trailer  16 bytes: offset of the index, "GHPKEND\0".
class PackedImages {
 public:
  // Maps `file` for `images` (the same files, in the same order, at the same resize size:
  // its content key must equal file_catalog_hash(images), dataset_fingerprint.h). A file that is
  // not a complete pack, or a stale one (other files, changed files, another resize size), throws
  // greedyhash::Error naming it and saying how to rebuild it.
  static std::shared_ptr<const PackedImages> open(const std::filesystem::path& file,
                                                  const StreamedImages& images);
  ~PackedImages();
  PackedImages(const PackedImages&) = delete;
  PackedImages& operator=(const PackedImages&) = delete;

  int64_t size() const { return count_; }
  // Image i: its pixels (H x W x 3, BGR, rows contiguous) and size.
  const uint8_t* pixels(int64_t i, int& height, int& width) const;
  const std::filesystem::path& file() const { return file_; }

 private:
  PackedImages() = default;
  std::filesystem::path file_;
  const uint8_t* data_ = nullptr;
  size_t length_ = 0;
  int64_t count_ = 0;
  const uint8_t* index_ = nullptr;
};

// Decodes every image of `images` with `threads` threads (0 = one per hardware thread)
// and writes the pack to `file`. `progress(done, total)` is called as images are packed.
// Errors (an unreadable image, a full disk) name the file; `file` is then untouched.
void write_packed_images(const StreamedImages& images, const std::filesystem::path& file,
                         int threads = 0,
                         const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace greedyhash
