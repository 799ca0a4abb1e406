#include "greedyhash/data/dataset_fingerprint.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/types.h>

#include "greedyhash/data/seeded_shuffle.h"

namespace greedyhash {

namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;
constexpr size_t kChunkBytes = size_t{1} << 20;

uint64_t rotl(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

// Words are little-endian whatever the host's byte order.
uint64_t load_le64(const uint8_t* p) {
  uint64_t w = 0;
  std::memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

uint64_t step(uint64_t h, uint64_t w) {
  return rotl(h ^ (w * kP2), 29) * kP1 + kP3;
}

uint64_t hash_chunk(const uint8_t* bytes, size_t length, uint64_t chunk_index) {
  uint64_t h = mix64(chunk_index) ^ static_cast<uint64_t>(length);
  const size_t words = length / 8;
  for (size_t i = 0; i < words; ++i) h = step(h, load_le64(bytes + 8 * i));
  const size_t tail = length % 8;
  if (tail > 0) {
    uint64_t w = 0;
    for (size_t i = tail; i > 0; --i) w = (w << 8) | bytes[8 * words + i - 1];
    h = step(h, w ^ (static_cast<uint64_t>(tail) << 56));
  }
  return mix64(h);
}

struct Chunk {
  const uint8_t* bytes;
  size_t length;
};

void add_chunks(const at::Tensor& tensor, std::vector<Chunk>& chunks) {
  const auto* bytes = static_cast<const uint8_t*>(tensor.data_ptr());
  const auto total = static_cast<size_t>(tensor.nbytes());
  for (size_t offset = 0; offset < total; offset += kChunkBytes) {
    chunks.push_back({bytes + offset, std::min(kChunkBytes, total - offset)});
  }
}

}  // namespace

DatasetFingerprint fingerprint_dataset(const ImageDataset& dataset) {
  const auto images = dataset.images.to(torch::kCPU, torch::kUInt8).contiguous();
  const auto labels = dataset.labels.to(torch::kCPU, torch::kUInt8).contiguous();
  std::vector<Chunk> chunks;
  add_chunks(images, chunks);
  add_chunks(labels, chunks);
  std::vector<uint64_t> hashes(chunks.size());
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const auto& chunk = chunks[static_cast<size_t>(k)];
      hashes[static_cast<size_t>(k)] =
          hash_chunk(chunk.bytes, chunk.length, static_cast<uint64_t>(k));
    }
  });

  const int64_t count = images.dim() > 0 ? images.size(0) : 0;
  uint64_t h = mix64(static_cast<uint64_t>(count));
  for (const int64_t v : {images.dim() == 4 ? images.size(2) : int64_t{0},
                          images.dim() == 4 ? images.size(3) : int64_t{0},
                          labels.dim() == 2 ? labels.size(1) : int64_t{0}}) {
    h = mix64(h ^ static_cast<uint64_t>(v));
  }
  for (const auto chunk_hash : hashes) h = mix64(h ^ chunk_hash);

  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return {count, hex};
}

}  // namespace greedyhash
