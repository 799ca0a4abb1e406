#include "zip_archive.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serialize/crc32.h"

namespace greedyhash::detail {

namespace {

// Signatures and fixed sizes of the zip structures (PKWARE APPNOTE 6.3, sections 4.3.7-16).
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEnd = 0x06054b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kMaxComment = 0xFFFF;
constexpr uint16_t kZip64Extra = 0x0001;

uint64_t le(std::string_view bytes, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t(uint8_t(bytes[at + i])) << (8 * i);
  return v;
}

// The end-of-central-directory facts: where the directory is and how many records it has.
struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t count = 0;
  uint64_t end = 0;  // where the directory must end (the first end record)
};

}  // namespace

ZipArchive::ZipArchive(const ByteSource& source) : source_(source) {
  read_directory();
  locate_data();
}

void ZipArchive::fail(const std::string& what) const {
  throw Error(source_.name() + ": corrupt zip archive (" + what + ")");
}

void ZipArchive::read_directory() {
  // The end record is the last 22 bytes, or up to 64 KiB earlier when the archive has a
  // comment; its comment length must reach exactly to the end of the file.
  const uint64_t file_size = source_.size();
  if (file_size < kEndSize) fail("too short");
  const uint64_t tail_size = std::min<uint64_t>(file_size, kEndSize + kMaxComment);
  const std::string tail = source_.read(file_size - tail_size, tail_size);
  size_t at = tail.size() - kEndSize;
  while (!(le(tail, at, 4) == kEnd && at + kEndSize + le(tail, at + 20, 2) == tail.size())) {
    if (at == 0) fail("no end of central directory");
    --at;
  }
  const uint64_t end_offset = file_size - tail_size + at;
  Directory dir;
  dir.count = le(tail, at + 10, 2);
  dir.size = le(tail, at + 12, 4);
  dir.offset = le(tail, at + 16, 4);
  dir.end = end_offset;
  if (le(tail, at + 4, 2) != 0 || le(tail, at + 6, 2) != 0 || le(tail, at + 8, 2) != dir.count) {
    fail("multi-part archives are not supported");
  }
  // miniz writes zip64 end records into every archive; their values replace the 16- and
  // 32-bit ones, which are only capped copies.
  if (end_offset >= kZip64LocatorSize) {
    const std::string locator = source_.read(end_offset - kZip64LocatorSize, kZip64LocatorSize);
    if (le(locator, 0, 4) == kZip64Locator) {
      const uint64_t zip64_offset = le(locator, 8, 8);
      if (zip64_offset > end_offset - kZip64LocatorSize ||
          end_offset - kZip64LocatorSize - zip64_offset < kZip64EndSize) {
        fail("zip64 end record outside the file");
      }
      const std::string zip64 = source_.read(zip64_offset, kZip64EndSize);
      if (le(zip64, 0, 4) != kZip64End) fail("bad zip64 end record");
      if (le(zip64, 16, 4) != 0 || le(zip64, 20, 4) != 0 || le(zip64, 24, 8) != le(zip64, 32, 8)) {
        fail("multi-part archives are not supported");
      }
      dir.count = le(zip64, 32, 8);
      dir.size = le(zip64, 40, 8);
      dir.offset = le(zip64, 48, 8);
      dir.end = zip64_offset;
    }
  }
  if (dir.offset > dir.end || dir.size > dir.end - dir.offset) {
    fail("central directory outside the file");
  }
  if (dir.count > dir.size / kCentralHeaderSize) fail("more records than the directory holds");
  directory_offset_ = dir.offset;

  const std::string table = source_.read(dir.offset, dir.size);
  size_t pos = 0;
  for (uint64_t i = 0; i < dir.count; ++i) {
    if (table.size() - pos < kCentralHeaderSize || le(table, pos, 4) != kCentralHeader) {
      fail("bad central directory entry");
    }
    const uint64_t flags = le(table, pos + 8, 2);
    const uint64_t method = le(table, pos + 10, 2);
    Record record;
    record.crc = static_cast<uint32_t>(le(table, pos + 16, 4));
    uint64_t stored_size = le(table, pos + 20, 4);
    record.size = le(table, pos + 24, 4);
    const size_t name_size = le(table, pos + 28, 2);
    const size_t extra_size = le(table, pos + 30, 2);
    const size_t comment_size = le(table, pos + 32, 2);
    record.header_offset = le(table, pos + 42, 4);
    const size_t variable = name_size + extra_size + comment_size;
    if (table.size() - pos - kCentralHeaderSize < variable) fail("bad central directory entry");
    const std::string name = table.substr(pos + kCentralHeaderSize, name_size);
    // Sizes and offset that do not fit in 32 bits are 0xFFFFFFFF here and follow in the
    // zip64 extra field, in this order.
    std::string_view extra(table.data() + pos + kCentralHeaderSize + name_size, extra_size);
    bool zip64_extra = false;
    while (extra.size() >= 4) {
      const uint64_t id = le(extra, 0, 2);
      const size_t length = le(extra, 2, 2);
      if (extra.size() - 4 < length) fail("bad extra field");
      if (id == kZip64Extra) {
        zip64_extra = true;
        std::string_view field = extra.substr(4, length);
        for (uint64_t* value : {&record.size, &stored_size, &record.header_offset}) {
          if (*value != 0xFFFFFFFF) continue;
          if (field.size() < 8) fail("bad zip64 extra field");
          *value = le(field, 0, 8);
          field.remove_prefix(8);
        }
      }
      extra.remove_prefix(4 + length);
    }
    if (!zip64_extra && (record.size == 0xFFFFFFFF || stored_size == 0xFFFFFFFF ||
                         record.header_offset == 0xFFFFFFFF)) {
      fail("no zip64 extra field for a size or offset that needs one");
    }
    if ((flags & 1) != 0) fail("record " + std::to_string(i) + " is encrypted");
    if (method != 0) {
      throw Error(source_.name() +
                  ": has a compressed record; torch.save stores records uncompressed");
    }
    if (stored_size != record.size) fail("record sizes disagree");
    if (i == 0) {
      const size_t slash = name.find('/');
      if (slash == std::string::npos || slash == 0) fail("first record is not in a folder");
      folder_ = name.substr(0, slash + 1);
    }
    if (!records_.emplace(name, record).second) fail("a record name appears twice");
    pos += kCentralHeaderSize + variable;
  }
  if (records_.empty()) fail("no records");
}

void ZipArchive::locate_data() {
  // Each record's data follows its local header; the records must lie one after another
  // before the central directory.
  std::vector<Record*> order;
  for (auto& [name, record] : records_) {
    if (record.header_offset > directory_offset_ ||
        directory_offset_ - record.header_offset < kLocalHeaderSize) {
      fail("record outside the file");
    }
    const std::string header = source_.read(record.header_offset, kLocalHeaderSize);
    if (le(header, 0, 4) != kLocalHeader) fail("bad local header");
    record.data_offset =
        record.header_offset + kLocalHeaderSize + le(header, 26, 2) + le(header, 28, 2);
    if (record.data_offset > directory_offset_ ||
        record.size > directory_offset_ - record.data_offset) {
      fail("a record claims more bytes than the file has");
    }
    order.push_back(&record);
  }
  std::sort(order.begin(), order.end(),
            [](const Record* a, const Record* b) { return a->header_offset < b->header_offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i - 1]->data_offset + order[i - 1]->size > order[i]->header_offset) {
      fail("records overlap");
    }
  }
}

const ZipArchive::Record& ZipArchive::find(const std::string& record) const {
  const auto found = records_.find(folder_ + record);
  if (found == records_.end()) throw Error(source_.name() + ": missing record " + record);
  return found->second;
}

bool ZipArchive::has(const std::string& record) const {
  return records_.count(folder_ + record) > 0;
}

uint64_t ZipArchive::size(const std::string& record) const {
  return find(record).size;
}

void ZipArchive::read(const std::string& record, void* out) const {
  const Record& r = find(record);
  source_.read(r.data_offset, r.size, out);
  // A CRC of 0 means none was computed: torch.serialization.set_crc32_options(False)
  // (PyTorch >= 2.3) saves without, and torch.load never checks.
  const bool intact =
      r.crc == 0 || crc32(std::string_view(static_cast<const char*>(out), r.size)) == r.crc;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // A fuzzer's mutations of a record (data.pkl) would hardly ever get past its CRC.
  static_cast<void>(intact);
#else
  if (!intact) fail("record " + record + " fails its CRC-32 check");
#endif
}

std::string ZipArchive::read(const std::string& record) const {
  std::string bytes(find(record).size, '\0');
  read(record, bytes.data());
  return bytes;
}

}  // namespace greedyhash::detail
