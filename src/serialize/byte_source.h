#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace greedyhash::detail {

// The bytes of a file, read with pread where they are needed, or of a buffer in memory
// (what the fuzz targets feed in). The torch.save containers read only the parts they
// need: the metadata of a 230 MB checkpoint costs a few kilobytes of reading.
class ByteSource {
 public:
  // greedyhash::Error naming the file when it cannot be opened.
  static ByteSource open_file(const std::filesystem::path& file);
  // `bytes` must outlive the source; `name` stands for the file in messages.
  static ByteSource of_memory(std::string_view bytes, std::string name);

  // The file name that error messages start with.
  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }
  // Copies bytes [offset, offset + n) to `out`; greedyhash::Error ("<name>: truncated
  // file (...)") when the source does not hold them all.
  void read(uint64_t offset, size_t n, void* out) const;
  std::string read(uint64_t offset, size_t n) const;

 private:
  struct File;
  ByteSource(std::string name, uint64_t size) : name_(std::move(name)), size_(size) {}
  void check_range(uint64_t offset, size_t n) const;

  std::string name_;
  uint64_t size_ = 0;
  std::shared_ptr<File> file_;  // null for a buffer
  std::string_view memory_;
};

}  // namespace greedyhash::detail
