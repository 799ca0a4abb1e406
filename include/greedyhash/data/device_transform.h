#pragma once

#include <array>
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace greedyhash {

// What happens to a uint8 batch once it is on the device, in this order:
//   1. convert to float and normalise: (x / 255 - mean[c]) / stddev[c];
//   2. resize > 0: bilinear resize to resize x resize (align_corners = false, no
//      antialiasing: for upsampling, e.g. CIFAR's 32 -> 224, PIL's bilinear weights;
//      PIL also rounds to uint8 after each of its two passes, so torchvision's result
//      differs by up to the bound tests/data/pil_preprocessing_test.cpp states);
//   3. crop > 0: cut a crop x crop window, centred, or at a random position when
//      random_crop; random_flip mirrors each image left-right with probability 1/2.
// Step 1 runs first because it is cheapest at the stored size; normalisation is affine
// per channel and bilinear weights sum to 1, so the result equals resizing first (up to
// float rounding, ~1e-6).
struct TransformOptions {
  int64_t resize = 0;
  int64_t crop = 0;
  bool random_crop = false;
  bool random_flip = false;
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};    // ImageNet, on the 0..1 scale
  std::array<float, 3> stddev = {0.229f, 0.224f, 0.225f};  // ImageNet
};

// CIFAR-10 per docs/PROTOCOL.md section 1.4: resize 32 -> size, no crop, no flip.
TransformOptions resize_transform(int64_t size = 224);

// List-file data stored at 256 x 256: a crop x crop window, random and flipped when
// training, centred otherwise.
TransformOptions crop_transform(int64_t crop = 224, bool training = false);

// Bilinear resize (align_corners = false, no antialiasing) of float images N x C x h x w
// on their device. On the CPU a separable kernel (horizontal pass, then vertical
// blending of whole rows) is used: 3-4x faster than at::upsample_bilinear2d of LibTorch
// 1.13 here (greedyhash_bench_data reports both). Other devices use
// at::upsample_bilinear2d. Both agree with cv::resize INTER_LINEAR.
at::Tensor resize_bilinear(const at::Tensor& images, int64_t height, int64_t width);

// Applies `options` to a uint8 batch N x 3 x H x W (on any device) and returns float
// N x 3 x H' x W' on the same device. Random choices come from
// std::mt19937_64(random_seed), per image in batch order: crop row offset, crop column
// offset (when random_crop), flip (when random_flip), each by draw_below. A crop larger
// than the (resized) image throws greedyhash::Error.
at::Tensor transform_batch(const at::Tensor& images, const TransformOptions& options,
                           uint64_t random_seed = 0);

// Rows `indices` (int64, CPU) of a CPU tensor, gathered on the CPU and sent to `device`;
// for CUDA through pinned memory with a non-blocking copy.
at::Tensor gather_to_device(const at::Tensor& source, const at::Tensor& indices,
                            c10::Device device);

}  // namespace greedyhash
