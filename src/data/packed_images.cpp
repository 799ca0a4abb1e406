// Reading a pack: mmap and index checks only, no decoding, so this builds without OpenCV.
#include "greedyhash/data/packed_images.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "greedyhash/data/dataset_fingerprint.h"
#include "greedyhash/error.h"
#include "packed_images_layout.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;
using namespace packed_layout;

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

std::shared_ptr<const PackedImages> PackedImages::open(const fs::path& file,
                                                       const StreamedImages& images) {
  const std::string rebuild = "; delete it and the next run rebuilds it";
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error("cannot open packed images " + file.string() + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    throw Error("cannot read packed images " + file.string() + ": " + reason);
  }
  std::shared_ptr<PackedImages> pack(new PackedImages());
  pack->file_ = file;
  pack->length_ = static_cast<size_t>(info.st_size);
  if (pack->length_ < kHeaderBytes + kTrailerBytes) {
    ::close(fd);
    throw Error("packed images " + file.string() + " is not a complete pack" + rebuild);
  }
  void* mapped = ::mmap(nullptr, pack->length_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapped == MAP_FAILED) {
    throw Error("cannot map packed images " + file.string() + ": " + std::strerror(errno));
  }
  pack->data_ = static_cast<const uint8_t*>(mapped);
  const uint8_t* data = pack->data_;
  const uint8_t* trailer = data + pack->length_ - kTrailerBytes;
  if (!std::equal(kMagic.begin(), kMagic.end(), data) ||
      !std::equal(kEndMagic.begin(), kEndMagic.end(), trailer + 8)) {
    throw Error("packed images " + file.string() + " is not a complete pack" + rebuild);
  }
  pack->count_ = static_cast<int64_t>(get_le64(data + 8));
  const uint64_t index_offset = get_le64(trailer);
  // The index fills the bytes between its offset and the trailer exactly; compared
  // without sums or products that could wrap around 2^64.
  const uint64_t index_end = pack->length_ - kTrailerBytes;
  if (pack->count_ < 0 || index_offset < kHeaderBytes || index_offset > index_end ||
      (index_end - index_offset) % kIndexEntryBytes != 0 ||
      (index_end - index_offset) / kIndexEntryBytes != static_cast<uint64_t>(pack->count_)) {
    throw Error("packed images " + file.string() + " has an inconsistent index" + rebuild);
  }
  pack->index_ = data + index_offset;
  const uint64_t key = get_le64(data + 24);
  const uint64_t expected = file_catalog_hash(images);
  if (key != expected || pack->count_ != static_cast<int64_t>(images.files.size()) ||
      get_le64(data + 16) != static_cast<uint64_t>(images.resize_size)) {
    throw Error("packed images " + file.string() + " is stale: it holds " +
                std::to_string(pack->count_) + " images at resize " +
                std::to_string(get_le64(data + 16)) + " (key " + hex(key) + "), the data has " +
                std::to_string(images.files.size()) + " at resize " +
                std::to_string(images.resize_size) + " (key " + hex(expected) +
                "): files were added, removed or changed" + rebuild);
  }
  // Every image must be non-empty and lie inside the pixel section, so that pixels() can
  // trust the index; compared without wrapping, as above.
  for (int64_t i = 0; i < pack->count_; ++i) {
    const uint8_t* entry = pack->index_ + static_cast<size_t>(i) * kIndexEntryBytes;
    const uint64_t offset = get_le64(entry);
    const uint64_t height = get_le32(entry + 8);
    const uint64_t width = get_le32(entry + 12);
    if (height == 0 || width == 0 || offset < kHeaderBytes || offset > index_offset ||
        height * width > (index_offset - offset) / 3) {
      throw Error("packed images " + file.string() + " has an inconsistent index" + rebuild);
    }
  }
  return pack;
}

PackedImages::~PackedImages() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), length_);
}

const uint8_t* PackedImages::pixels(int64_t i, int& height, int& width) const {
  if (i < 0 || i >= count_) {
    throw Error("packed image " + std::to_string(i) + " is outside " + file_.string() + " (" +
                std::to_string(count_) + " images)");
  }
  const uint8_t* entry = index_ + static_cast<size_t>(i) * kIndexEntryBytes;
  height = static_cast<int>(get_le32(entry + 8));
  width = static_cast<int>(get_le32(entry + 12));
  return data_ + get_le64(entry);
}

}  // namespace greedyhash
