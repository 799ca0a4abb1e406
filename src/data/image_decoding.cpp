#include "greedyhash/data/image_decoding.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

#include <torch/types.h>
#include <opencv2/core.hpp>

#include "greedyhash/error.h"
#include "opencv_image.h"

namespace greedyhash {

using opencv_image::centre_square;
using opencv_image::decode_bytes;
using opencv_image::decode_file;
using opencv_image::FileReader;
using opencv_image::size_text;
using opencv_image::write_chw_rgb;

at::Tensor decode_image_files(const std::vector<std::filesystem::path>& files,
                              const ImageLoadOptions& options) {
  if (options.resize_size < 0) {
    throw Error("image resize size must be >= 0 (0 = keep), got " +
                std::to_string(options.resize_size));
  }
  const auto count = static_cast<int64_t>(files.size());
  const int side = static_cast<int>(options.resize_size);
  if (count == 0) return torch::empty({0, 3, side, side}, torch::kUInt8);

  // The first image fixes the size when images are kept as they are.
  FileReader first_reader;
  const cv::Mat first = decode_file(files[0], first_reader);
  const int height = side > 0 ? side : first.rows;
  const int width = side > 0 ? side : first.cols;
  auto images = torch::empty({count, 3, height, width}, torch::kUInt8);
  uint8_t* base = images.data_ptr<uint8_t>();
  const size_t stride = 3 * static_cast<size_t>(height) * width;

  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto work = [&] {
    FileReader reader;
    constexpr int64_t kChunk = 32;
    try {
      while (!failed.load(std::memory_order_relaxed)) {
        const int64_t begin = next.fetch_add(kChunk);
        if (begin >= count) return;
        const int64_t end = std::min(count, begin + kChunk);
        for (int64_t i = begin; i < end; ++i) {
          const auto& path = files[static_cast<size_t>(i)];
          cv::Mat image = decode_file(path, reader);
          if (side > 0) {
            image = centre_square(image, side);
          } else if (image.rows != height || image.cols != width) {
            throw Error("image " + path.string() + " is " + size_text(image) + " but " +
                        files[0].string() + " is " + size_text(first) +
                        ": images must share one size, or be loaded with a resize size");
          }
          write_chw_rgb(image, base + static_cast<size_t>(i) * stride);
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };

  int threads = options.num_threads > 0 ? options.num_threads
                                        : static_cast<int>(std::thread::hardware_concurrency());
  threads = static_cast<int>(std::clamp<int64_t>(threads, 1, (count + 63) / 64));
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (auto& worker : workers) worker.join();
  if (error) std::rethrow_exception(error);
  return images;
}

at::Tensor decode_image_bytes(std::string_view bytes, const ImageLoadOptions& options,
                              const std::string& name) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw Error("cannot decode image " + name + ": over 2 GB");
  }
  cv::Mat image = decode_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
  if (options.resize_size > 0) image = centre_square(image, static_cast<int>(options.resize_size));
  auto out = torch::empty({1, 3, image.rows, image.cols}, torch::kUInt8);
  write_chw_rgb(image, out.data_ptr<uint8_t>());
  return out;
}

}  // namespace greedyhash
