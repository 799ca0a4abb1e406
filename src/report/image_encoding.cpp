#include "greedyhash/report/image_encoding.h"

#include <vector>

#include <torch/types.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "greedyhash/error.h"

namespace greedyhash {

std::string encode_png(const at::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3 || image.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument("encode_png: expected a 3 x H x W uint8 image");
  }
  // CHW RGB -> HWC BGR, OpenCV's layout.
  const at::Tensor hwc = image.flip(0).permute({1, 2, 0}).contiguous().cpu();
  const cv::Mat bgr(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                    hwc.data_ptr<uint8_t>());
  std::vector<uchar> png;
  if (!cv::imencode(".png", bgr, png)) throw Error("cannot encode an image as PNG");
  return {png.begin(), png.end()};
}

}  // namespace greedyhash
