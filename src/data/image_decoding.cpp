#include "greedyhash/data/image_decoding.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

// Whole file into `buffer` (reused across files by one worker: no allocation per image).
void read_file(const std::filesystem::path& path, std::vector<uint8_t>& buffer) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error("cannot read image " + path.string() + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    throw Error("cannot read image " + path.string() + ": " + reason);
  }
  buffer.resize(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = n < 0 ? std::strerror(errno) : "file shrank while reading";
      ::close(fd);
      throw Error("cannot read image " + path.string() + ": " + reason);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

cv::Mat decode(const std::filesystem::path& path, std::vector<uint8_t>& buffer) {
  read_file(path, buffer);
  cv::Mat image;
  if (!buffer.empty()) {
    const cv::Mat encoded(1, static_cast<int>(buffer.size()), CV_8UC1, buffer.data());
    image = cv::imdecode(encoded, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  }
  if (image.empty()) {
    throw Error("cannot decode image " + path.string() +
                ": expected a JPEG or PNG file, found an unreadable or corrupt one");
  }
  return image;
}

// Shorter side -> side, then the centred side x side square.
cv::Mat square(const cv::Mat& image, int side) {
  const int shorter = std::min(image.cols, image.rows);
  cv::Mat scaled = image;
  if (shorter != side) {
    const double scale = static_cast<double>(side) / shorter;
    const int width = std::max(side, static_cast<int>(std::lround(image.cols * scale)));
    const int height = std::max(side, static_cast<int>(std::lround(image.rows * scale)));
    cv::resize(image, scaled, cv::Size(width, height), 0, 0,
               shorter > side ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  const int left = (scaled.cols - side) / 2;
  const int top = (scaled.rows - side) / 2;
  return scaled(cv::Rect(left, top, side, side));
}

// HWC BGR (possibly a strided view) -> CHW RGB.
void write_chw_rgb(const cv::Mat& image, uint8_t* out) {
  const int height = image.rows;
  const int width = image.cols;
  const size_t plane = static_cast<size_t>(height) * width;
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = image.ptr<uint8_t>(y);
    uint8_t* r = out + static_cast<size_t>(y) * width;
    uint8_t* g = r + plane;
    uint8_t* b = g + plane;
    for (int x = 0; x < width; ++x) {
      b[x] = row[3 * x];
      g[x] = row[3 * x + 1];
      r[x] = row[3 * x + 2];
    }
  }
}

std::string size_text(const cv::Mat& image) {
  return std::to_string(image.cols) + "x" + std::to_string(image.rows);
}

}  // namespace

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
  std::vector<uint8_t> first_buffer;
  const cv::Mat first = decode(files[0], first_buffer);
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
    std::vector<uint8_t> buffer;
    constexpr int64_t kChunk = 32;
    try {
      while (!failed.load(std::memory_order_relaxed)) {
        const int64_t begin = next.fetch_add(kChunk);
        if (begin >= count) return;
        const int64_t end = std::min(count, begin + kChunk);
        for (int64_t i = begin; i < end; ++i) {
          const auto& path = files[static_cast<size_t>(i)];
          cv::Mat image = decode(path, buffer);
          if (side > 0) {
            image = square(image, side);
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

}  // namespace greedyhash
