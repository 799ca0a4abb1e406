#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

class PackedImages;

// A data set's images kept as files and decoded when a batch needs them, so that memory
// does not grow with the collection (ImageNet-100, NUS-WIDE, MS-COCO: 22-30 GB decoded
// at 256 px). Image i is files[i].
struct StreamedImages {
  std::vector<std::filesystem::path> files;
  // 0: each image as decoded. > 0: the whole image with its shorter side scaled to this
  // (area interpolation when shrinking, bilinear when enlarging), as torchvision's
  // Resize(n) does; unlike the in-memory path no square is cut, so that a random crop
  // can fall anywhere in the image.
  int64_t resize_size = 0;
  // When set, the images are taken from this pack of the same files (packed_images.h)
  // instead of being decoded: the same pixels, without the JPEG decoding.
  std::shared_ptr<const PackedImages> packed;
};

// The cut each image gets on the CPU, so that images of different shapes make one batch.
struct ImageCrop {
  int64_t size = 0;     // a size x size window; 0: none (the images must share one size)
  bool random = false;  // at a random position; else centred, (extent - size) / 2
  bool flip = false;    // mirrored left-right with probability 1/2
};

// Images `rows` of `images` as one B x 3 x S x S uint8 RGB CPU tensor, decoded on the
// calling thread. Random choices follow transform_batch's rule (device_transform.h): one
// std::mt19937_64(random_seed), per image in order: row offset, column offset (when
// random), flip (when flip), each by draw_below. So on images that are already squares of
// the stored size, a crop here equals the one transform_batch cuts from the in-memory
// images. A missing or corrupt file, a window larger than an image, or (without a window)
// images of different sizes throw greedyhash::Error naming the file.
at::Tensor read_streamed_rows(const StreamedImages& images, const std::vector<int64_t>& rows,
                              const ImageCrop& crop, uint64_t random_seed = 0);

// Image `row` whole, 3 x H x W uint8 (for display and single-image queries).
at::Tensor read_streamed_image(const StreamedImages& images, int64_t row);

}  // namespace greedyhash
