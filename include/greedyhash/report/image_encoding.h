#pragma once

#include <string>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// A 3 x H x W uint8 RGB image as the bytes of a PNG file (an image of a data set that
// has no file of its own, such as a CIFAR-10 binary record, served over HTTP).
std::string encode_png(const at::Tensor& image);

}  // namespace greedyhash
