#pragma once

// The OpenCV steps shared by the readers of image files (image_decoding.cpp for whole data
// sets held in memory, streamed_images.cpp for batches decoded on demand,
// packed_images_writer.cpp for a packed copy). Private to src/data/: OpenCV's headers stay
// out of the public ones.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace greedyhash::opencv_image {

// Reads whole files into a buffer reused across files (no allocation per image). Files
// are opened relative to a cached descriptor of their folder: consecutive files often
// share a class folder, and this saves the kernel a full path walk per image.
class FileReader {
 public:
  FileReader() = default;
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader();

  // Returns the file's size; its bytes are at data(). Errors name the file.
  size_t read(const std::filesystem::path& path);
  uint8_t* data() { return buffer_.data(); }

 private:
  std::string folder_;
  int folder_fd_ = -1;
  std::vector<uint8_t> buffer_;
};

// Decodes JPEG/PNG bytes to HWC BGR (EXIF orientation ignored, as PIL does). `name` says
// what the bytes are in an error: a file, or "the query image".
cv::Mat decode_bytes(const uint8_t* data, size_t size, const std::string& name);

cv::Mat decode_file(const std::filesystem::path& path, FileReader& reader);

// The whole image with its shorter side scaled to `side` (area interpolation when
// shrinking, bilinear when enlarging); the longer side becomes floor(longer x side /
// shorter), as torchvision's Resize(side) makes it.
cv::Mat scale_shorter_side(const cv::Mat& image, int side);

// scale_shorter_side, then the centred side x side square.
cv::Mat centre_square(const cv::Mat& image, int side);

// HWC BGR (possibly a strided view) -> CHW RGB at `out` (3 x rows x cols bytes).
void write_chw_rgb(const cv::Mat& image, uint8_t* out);

// "500x375".
std::string size_text(const cv::Mat& image);

}  // namespace greedyhash::opencv_image
