#include "opencv_image.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "greedyhash/error.h"

namespace greedyhash::opencv_image {

namespace {

[[noreturn]] void fail_to_read(const std::filesystem::path& path, const std::string& reason) {
  throw Error("cannot read image " + path.string() + ": " + reason);
}

}  // namespace

FileReader::~FileReader() {
  if (folder_fd_ >= 0) ::close(folder_fd_);
}

size_t FileReader::read(const std::filesystem::path& path) {
  const std::string folder = path.parent_path().string();
  if (folder != folder_ || folder_fd_ < 0) {
    if (folder_fd_ >= 0) ::close(folder_fd_);
    folder_ = folder;
    folder_fd_ = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (folder_fd_ < 0) fail_to_read(path, std::strerror(errno));
  }
  const int fd = ::openat(folder_fd_, path.filename().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_to_read(path, std::strerror(errno));
  // Fill the buffer until read() reports the end, growing it for larger files.
  size_t size = 0;
  if (buffer_.size() < 65536) buffer_.resize(65536);
  for (;;) {
    const ssize_t n = ::read(fd, buffer_.data() + size, buffer_.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      fail_to_read(path, reason);
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

cv::Mat decode_file(const std::filesystem::path& path, FileReader& reader) {
  const size_t size = reader.read(path);
  return decode_bytes(reader.data(), size, path.string());
}

cv::Mat scale_shorter_side(const cv::Mat& image, int side) {
  const int shorter = std::min(image.cols, image.rows);
  if (shorter == side) return image;
  // The longer side truncated, as torchvision's Resize(side) computes it.
  const int width = static_cast<int>(int64_t{image.cols} * side / shorter);
  const int height = static_cast<int>(int64_t{image.rows} * side / shorter);
  cv::Mat scaled;
  cv::resize(image, scaled, cv::Size(width, height), 0, 0,
             shorter > side ? cv::INTER_AREA : cv::INTER_LINEAR);
  return scaled;
}

cv::Mat centre_square(const cv::Mat& image, int side) {
  const cv::Mat scaled = scale_shorter_side(image, side);
  const int left = (scaled.cols - side) / 2;
  const int top = (scaled.rows - side) / 2;
  return scaled(cv::Rect(left, top, side, side));
}

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

}  // namespace greedyhash::opencv_image
