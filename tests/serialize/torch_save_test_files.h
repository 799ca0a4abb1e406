#pragma once

// Hand-made torch.save files for the reader's tests: a pickle in either container, and
// access to a zip archive's central directory for damaging it on purpose.

#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace greedyhash {

// `bytes` as the whole content of `file`.
inline void write_bytes(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

// A zip archive as torch.save writes it, holding data.pkl = `pickle` and the given
// (name, bytes) records, e.g. ("data/0", 8 bytes of storage), written by LibTorch's writer.
inline void write_zip_torch_save(
    const std::filesystem::path& file, const std::string& pickle,
    const std::vector<std::pair<std::string, std::string>>& records = {}) {
  caffe2::serialize::PyTorchStreamWriter writer(file.string());
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

// The legacy format: the magic number, protocol version 1001 and an empty system-info
// dict (each a pickle), then `root`, a pickle of the storage keys and the storages.
inline std::string legacy_torch_save(const std::string& root,
                                     const std::string& keys_and_storages = {"\x80\x02]q\x00.",
                                                                             6}) {
  return std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15) +
         std::string("\x80\x02M\xe9\x03.", 6) + std::string("\x80\x02}q\x00.", 6) + root +
         keys_and_storages;
}

// Little-endian bytes of v.
inline std::string le_bytes(uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// The little-endian number of `width` bytes at `at`.
inline uint64_t le_value(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= uint64_t(uint8_t(bytes[at + i])) << (8 * i);
  return v;
}

// Where the central directory entry of the record whose name ends in `suffix` starts.
inline size_t central_entry(const std::string& zip, const std::string& suffix) {
  for (size_t at = zip.find("PK\x01\x02"); at != std::string::npos;
       at = zip.find("PK\x01\x02", at + 1)) {
    const std::string name = zip.substr(at + 46, le_value(zip, at + 28, 2));
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return at;
    }
  }
  return std::string::npos;
}

}  // namespace greedyhash
