#include "greedyhash/data/image_decoding.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

#include <torch/types.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

// Reads whole files into a buffer reused across files (no allocation per image). Files
// are opened relative to a cached descriptor of their folder: consecutive files share
// a class folder, and this saves the kernel a full path walk per image.
class FileReader {
 public:
  FileReader() = default;
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader() {
    if (folder_fd_ >= 0) ::close(folder_fd_);
  }

  // Returns the file's size; its bytes are at data().
  size_t read(const std::filesystem::path& path) {
    const std::string folder = path.parent_path().string();
    if (folder != folder_ || folder_fd_ < 0) {
      if (folder_fd_ >= 0) ::close(folder_fd_);
      folder_ = folder;
      folder_fd_ =
          ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (folder_fd_ < 0) fail(path, std::strerror(errno));
    }
    const int fd = ::openat(folder_fd_, path.filename().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, std::strerror(errno));
    // Fill the buffer until read() reports the end, growing it for larger files.
    size_t size = 0;
    if (buffer_.size() < 65536) buffer_.resize(65536);
    for (;;) {
      const ssize_t n = ::read(fd, buffer_.data() + size, buffer_.size() - size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const std::string reason = std::strerror(errno);
        ::close(fd);
        fail(path, reason);
      }
      size += static_cast<size_t>(n);
      if (size < buffer_.size()) {
        if (n == 0) break;
        continue;
      }
      buffer_.resize(buffer_.size() * 2);
    }
    ::close(fd);
    return size;
  }

  uint8_t* data() { return buffer_.data(); }

 private:
  [[noreturn]] static void fail(const std::filesystem::path& path, const std::string& reason) {
    throw Error("cannot read image " + path.string() + ": " + reason);
  }

  std::string folder_;
  int folder_fd_ = -1;
  std::vector<uint8_t> buffer_;
};

// `name` says what the bytes are in an error: a file, or "the query image".
cv::Mat decode_bytes(const uint8_t* data, size_t size, const std::string& name) {
  cv::Mat image;
  if (size > 0) {
    const cv::Mat encoded(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t*>(data));
    try {
      image = cv::imdecode(encoded, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    } catch (const cv::Exception& e) {
      // OpenCV's messages span several lines; ours are one.
      throw Error("cannot decode image " + name + ": " + e.err);
    }
  }
  if (image.empty()) {
    throw Error("cannot decode image " + name +
                ": expected a JPEG or PNG file, found an unreadable or corrupt one");
  }
  return image;
}

cv::Mat decode(const std::filesystem::path& path, FileReader& reader) {
  const size_t size = reader.read(path);
  return decode_bytes(reader.data(), size, path.string());
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
  FileReader first_reader;
  const cv::Mat first = decode(files[0], first_reader);
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
          cv::Mat image = decode(path, reader);
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

at::Tensor decode_image_bytes(std::string_view bytes, const ImageLoadOptions& options,
                              const std::string& name) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw Error("cannot decode image " + name + ": over 2 GB");
  }
  cv::Mat image = decode_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
  if (options.resize_size > 0) image = square(image, static_cast<int>(options.resize_size));
  auto out = torch::empty({1, 3, image.rows, image.cols}, torch::kUInt8);
  write_chw_rgb(image, out.data_ptr<uint8_t>());
  return out;
}

}  // namespace greedyhash
