#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

struct ImageLoadOptions {
  // 0: keep each image's decoded size; all images must then share one size.
  // > 0: scale the shorter side to resize_size (area interpolation when shrinking,
  // bilinear when enlarging), then cut the centred resize_size x resize_size square.
  // Random or centre crops to the network's input size happen later, on the device.
  int64_t resize_size = 0;
  int num_threads = 0;  // decoding threads; 0 = one per hardware thread
  // Keep the images as files, decoded batch by batch (streamed_images.h), instead of
  // decoding them all now; resize_size then scales the whole image (no square is cut).
  bool stream = false;
};

// Decodes JPEG/PNG files (OpenCV; EXIF orientation ignored, as PIL does) in parallel
// into one N x 3 x H x W uint8 RGB tensor, image i from files[i]. An unreadable or
// undecodable file, or a size mismatch when resize_size is 0, throws greedyhash::Error
// naming the file. In a build without OpenCV (GREEDYHASH_WITH_OPENCV=OFF) every call
// throws greedyhash::Error.
at::Tensor decode_image_files(const std::vector<std::filesystem::path>& files,
                              const ImageLoadOptions& options = {});

// One encoded image held in memory (an upload), decoded as decode_image_files decodes a
// file: 1 x 3 x H x W uint8 RGB. Errors name the image as `name`.
at::Tensor decode_image_bytes(std::string_view bytes, const ImageLoadOptions& options,
                              const std::string& name);

}  // namespace greedyhash
