// Writing a pack: every image decoded and resized with OpenCV (opencv_image.h).
#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "greedyhash/data/dataset_fingerprint.h"
#include "greedyhash/data/packed_images.h"
#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"
#include "opencv_image.h"
#include "packed_images_layout.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;
using namespace packed_layout;

// Images decoded per round: decoding is parallel, writing in order; this bounds what is
// held between the two (at 256 x 341 x 3 bytes, 256 images are 67 MB).
constexpr int64_t kRound = 256;

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

}  // namespace greedyhash
