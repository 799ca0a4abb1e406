#include "greedyhash/data/dataset_fingerprint.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/types.h>

#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/data/streamed_images.h"

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

void add_chunks(const uint8_t* bytes, size_t total, std::vector<Chunk>& chunks) {
  for (size_t offset = 0; offset < total; offset += kChunkBytes) {
    chunks.push_back({bytes + offset, std::min(kChunkBytes, total - offset)});
  }
}

void append_le64(std::vector<uint8_t>& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// What stands for the pixels of streamed images: per file its path, a zero byte, its size
// and its modification time in nanoseconds (8 bytes each, little-endian). Reading every
// file would take as long as an epoch's decoding; a file rewritten in place changes one
// of the two.
std::vector<uint8_t> file_catalog(const StreamedImages& streamed) {
  std::vector<uint8_t> catalog;
  for (const auto& file : streamed.files) {
    const std::string path = file.string();
    catalog.insert(catalog.end(), path.begin(), path.end());
    catalog.push_back(0);
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    append_le64(catalog, error ? ~uint64_t{0} : static_cast<uint64_t>(size));
    const auto mtime = std::filesystem::last_write_time(file, error);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch());
    append_le64(catalog, error ? ~uint64_t{0} : static_cast<uint64_t>(ns.count()));
  }
  return catalog;
}

uint64_t hash_chunks(uint64_t h, const std::vector<Chunk>& chunks) {
  std::vector<uint64_t> hashes(chunks.size());
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const auto& chunk = chunks[static_cast<size_t>(k)];
      hashes[static_cast<size_t>(k)] =
          hash_chunk(chunk.bytes, chunk.length, static_cast<uint64_t>(k));
    }
  });
  for (const auto chunk_hash : hashes) h = mix64(h ^ chunk_hash);
  return h;
}

}  // namespace

uint64_t file_catalog_hash(const StreamedImages& images) {
  const auto catalog = file_catalog(images);
  std::vector<Chunk> chunks;
  add_chunks(catalog.data(), catalog.size(), chunks);
  const uint64_t h = mix64(mix64(static_cast<uint64_t>(images.files.size())) ^
                           static_cast<uint64_t>(images.resize_size));
  return hash_chunks(h, chunks);
}

DatasetFingerprint fingerprint_dataset(const ImageDataset& dataset) {
  const bool streamed = dataset.streamed != nullptr;
  const auto images =
      streamed ? at::Tensor() : dataset.images.to(torch::kCPU, torch::kUInt8).contiguous();
  const auto labels = dataset.labels.to(torch::kCPU, torch::kUInt8).contiguous();
  std::vector<uint8_t> catalog;
  std::vector<Chunk> chunks;
  if (streamed) {
    catalog = file_catalog(*dataset.streamed);
    add_chunks(catalog.data(), catalog.size(), chunks);
  } else {
    add_chunks(static_cast<const uint8_t*>(images.data_ptr()), images.nbytes(), chunks);
  }
  add_chunks(labels.data_ptr<uint8_t>(), labels.nbytes(), chunks);

  const int64_t count = dataset.size();
  const bool four_d = !streamed && images.dim() == 4;
  uint64_t h = mix64(static_cast<uint64_t>(count));
  for (const int64_t v :
       {streamed ? dataset.streamed->resize_size
        : four_d ? images.size(2)
                 : 0,
        four_d ? images.size(3) : int64_t{0}, labels.dim() == 2 ? labels.size(1) : int64_t{0}}) {
    h = mix64(h ^ static_cast<uint64_t>(v));
  }
  h = hash_chunks(h, chunks);

  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return {count, hex};
}

}  // namespace greedyhash
