#include "greedyhash/data/packed_images.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "greedyhash/data/dataset_fingerprint.h"
#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"
#include "opencv_image.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

constexpr std::array<char, 8> kMagic = {'G', 'H', 'P', 'A', 'C', 'K', '\0', '\1'};
constexpr std::array<char, 8> kEndMagic = {'G', 'H', 'P', 'K', 'E', 'N', 'D', '\0'};
constexpr size_t kHeaderBytes = 64;
constexpr size_t kIndexEntryBytes = 16;
constexpr size_t kTrailerBytes = 16;
// Images decoded per round: decoding is parallel, writing in order; this bounds what is
// held between the two (at 256 x 341 x 3 bytes, 256 images are 67 MB).
constexpr int64_t kRound = 256;

void put_le64(uint8_t* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

void put_le32(uint8_t* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t get_le64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

uint32_t get_le32(const uint8_t* in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// Decodes images [begin, end) of `images` in parallel into `out` (continuous BGR).
void decode_round(const StreamedImages& images, int64_t begin, int64_t end, int threads,
                  std::vector<cv::Mat>& out) {
  out.assign(static_cast<size_t>(end - begin), cv::Mat());
  std::atomic<int64_t> next{begin};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto work = [&] {
    opencv_image::FileReader reader;
    try {
      for (int64_t i = next++; i < end; i = next++) {
        cv::Mat image = opencv_image::decode_file(images.files[static_cast<size_t>(i)], reader);
        if (images.resize_size > 0) {
          image = opencv_image::scale_shorter_side(image, static_cast<int>(images.resize_size));
        }
        out[static_cast<size_t>(i - begin)] = image.isContinuous() ? image : image.clone();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = end;
    }
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (auto& worker : workers) worker.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

void write_packed_images(const StreamedImages& images, const fs::path& file, int threads,
                         const std::function<void(int64_t, int64_t)>& progress) {
  if (images.packed) throw Error("cannot pack " + file.string() + " from an existing pack");
  const auto count = static_cast<int64_t>(images.files.size());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const uint64_t key = file_catalog_hash(images);
  write_file_atomically(file, [&](const ByteSink& sink) {
    std::array<uint8_t, kHeaderBytes> header{};
    std::copy(kMagic.begin(), kMagic.end(), header.begin());
    put_le64(header.data() + 8, static_cast<uint64_t>(count));
    put_le64(header.data() + 16, static_cast<uint64_t>(images.resize_size));
    put_le64(header.data() + 24, key);
    sink(reinterpret_cast<const char*>(header.data()), header.size());

    std::vector<uint8_t> index(static_cast<size_t>(count) * kIndexEntryBytes);
    uint64_t offset = kHeaderBytes;
    std::vector<cv::Mat> round;
    for (int64_t begin = 0; begin < count; begin += kRound) {
      const int64_t end = std::min(count, begin + kRound);
      decode_round(images, begin, end, threads, round);
      for (int64_t i = begin; i < end; ++i) {
        const cv::Mat& image = round[static_cast<size_t>(i - begin)];
        uint8_t* entry = index.data() + static_cast<size_t>(i) * kIndexEntryBytes;
        put_le64(entry, offset);
        put_le32(entry + 8, static_cast<uint32_t>(image.rows));
        put_le32(entry + 12, static_cast<uint32_t>(image.cols));
        const size_t bytes = image.total() * image.elemSize();
        sink(reinterpret_cast<const char*>(image.data), bytes);
        offset += bytes;
      }
      if (progress) progress(end, count);
    }
    sink(reinterpret_cast<const char*>(index.data()), index.size());
    std::array<uint8_t, kTrailerBytes> trailer{};
    put_le64(trailer.data(), offset);
    std::copy(kEndMagic.begin(), kEndMagic.end(), trailer.begin() + 8);
    sink(reinterpret_cast<const char*>(trailer.data()), trailer.size());
  });
}

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
  if (pack->count_ < 0 || index_offset < kHeaderBytes ||
      index_offset + static_cast<uint64_t>(pack->count_) * kIndexEntryBytes + kTrailerBytes !=
          pack->length_) {
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
  // Every image must lie inside the pixel section, so that pixels() can trust the index.
  for (int64_t i = 0; i < pack->count_; ++i) {
    const uint8_t* entry = pack->index_ + static_cast<size_t>(i) * kIndexEntryBytes;
    const uint64_t bytes = uint64_t{get_le32(entry + 8)} * get_le32(entry + 12) * 3;
    if (get_le64(entry) < kHeaderBytes || get_le64(entry) + bytes > index_offset) {
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
