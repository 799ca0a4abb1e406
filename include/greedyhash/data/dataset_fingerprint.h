#pragma once

#include <cstdint>
#include <string>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/data/streamed_images.h"

namespace greedyhash {

// Identifies the exact data a split was drawn on: image count plus a 64-bit checksum of
// the image and label bytes. Not cryptographic: it catches a different or re-encoded
// data set, a re-ordered one or a changed label, not deliberate forgery.
struct DatasetFingerprint {
  int64_t count = 0;
  std::string checksum;  // 16 lowercase hex digits

  bool operator==(const DatasetFingerprint& other) const {
    return count == other.count && checksum == other.checksum;
  }
  bool operator!=(const DatasetFingerprint& other) const { return !(*this == other); }
};

// The checksum, specified so that it can be recomputed elsewhere
// (tests/data/fixtures/seeded_reference.py does):
//   words are read little-endian; rotl = rotate left; mix64 as in seeded_shuffle.h;
//   P1 = 0x9E3779B185EBCA87, P2 = 0xC2B2AE3D27D4EB4F, P3 = 0x165667B19E3779F9.
//   chunk(bytes, k): h = mix64(k) ^ len; for each whole 8-byte word w:
//     h = rotl(h ^ (w * P2), 29) * P1 + P3; a tail of t = 1..7 bytes forms the zero-padded
//     word w' and does the same step with w' ^ (t << 56); the result is mix64(h).
//   total: h = mix64(N); then h = mix64(h ^ v) for v = H, W, C (label width);
//     the image bytes then the label bytes are cut into 1 MiB chunks (the last one of
//     each may be shorter), numbered k = 0, 1, ... across both; for each chunk in order
//     h = mix64(h ^ chunk(bytes, k)).
//   Streamed images (dataset.streamed) are not read: H is the streamed resize size and
//     W is 0, and the image bytes are replaced by a catalog of the files, per file its
//     path, a zero byte, its size and its modification time in ns (8 bytes little-endian
//     each; all ones where the file cannot be stat'ed).
// Chunks are hashed in parallel (at::parallel_for): 184 MB take a few tens of ms.
DatasetFingerprint fingerprint_dataset(const ImageDataset& dataset);

// The content key of streamed images without their labels (what a packed copy of them is
// keyed by, packed_images.h): h = mix64(N); h = mix64(h ^ resize size); then the catalog
// above in 1 MiB chunks, h = mix64(h ^ chunk(bytes, k)).
uint64_t file_catalog_hash(const StreamedImages& images);

}  // namespace greedyhash
