#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "byte_source.h"

namespace greedyhash::detail {

// The records of a zip archive as torch.save lays it out (PyTorch >= 1.6): every record
// stored uncompressed under one top folder ("name/data.pkl", "name/data/0"), with the
// zip64 end records miniz writes. Everything is found through the central directory,
// and every offset and size it claims is checked against the file before anything is
// allocated or read: records lie inside the file, one after another, never overlapping,
// so all of them together are never larger than the file.
class ZipArchive {
 public:
  // Reads and checks the directory. greedyhash::Error naming the file for a damaged
  // archive, a compressed or encrypted record, or a record without a top folder.
  explicit ZipArchive(const ByteSource& source);

  // `record` is a name under the top folder, e.g. "data.pkl".
  bool has(const std::string& record) const;
  // The record's size in bytes (greedyhash::Error if there is none).
  uint64_t size(const std::string& record) const;
  // Copies the whole record to `out` (size(record) bytes) and checks its CRC-32.
  void read(const std::string& record, void* out) const;
  std::string read(const std::string& record) const;

 private:
  struct Record {
    uint64_t header_offset = 0;  // its local header
    uint64_t data_offset = 0;
    uint64_t size = 0;
    uint32_t crc = 0;
  };
  [[noreturn]] void fail(const std::string& what) const;
  const Record& find(const std::string& record) const;
  void read_directory();
  void locate_data();

  const ByteSource& source_;
  std::string folder_;  // the top folder with its slash, e.g. "archive/"
  uint64_t directory_offset_ = 0;
  std::unordered_map<std::string, Record> records_;  // by full name
};

}  // namespace greedyhash::detail
