#include "greedyhash/data/streamed_images.h"

#include <random>
#include <string>

#include <torch/types.h>
#include <opencv2/core.hpp>

#include "greedyhash/data/packed_images.h"
#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/error.h"
#include "opencv_image.h"

namespace greedyhash {

namespace {

const std::filesystem::path& file_of(const StreamedImages& images, int64_t row) {
  if (row < 0 || row >= static_cast<int64_t>(images.files.size())) {
    throw Error("streamed image " + std::to_string(row) + " is outside the data set of " +
                std::to_string(images.files.size()) + " images");
  }
  return images.files[static_cast<size_t>(row)];
}

// Image `row` at the streamed size: a view of its pixels in the pack, or decoded.
cv::Mat read_scaled(const StreamedImages& images, int64_t row, opencv_image::FileReader& reader) {
  const auto& file = file_of(images, row);
  if (images.packed) {
    int height = 0;
    int width = 0;
    const uint8_t* pixels = images.packed->pixels(row, height, width);
    return cv::Mat(height, width, CV_8UC3, const_cast<uint8_t*>(pixels));
  }
  cv::Mat image = opencv_image::decode_file(file, reader);
  if (images.resize_size > 0) {
    image = opencv_image::scale_shorter_side(image, static_cast<int>(images.resize_size));
  }
  return image;
}

// The crop window of one image (the whole image when crop.size is 0), drawn as
// transform_batch draws it.
cv::Mat cut(const cv::Mat& image, const ImageCrop& crop, std::mt19937_64& rng, bool& flip,
            const std::filesystem::path& file) {
  const int height = crop.size > 0 ? static_cast<int>(crop.size) : image.rows;
  const int width = crop.size > 0 ? static_cast<int>(crop.size) : image.cols;
  if (height > image.rows || width > image.cols) {
    throw Error("image " + file.string() + " is " + opencv_image::size_text(image) +
                " after resizing, smaller than the " + std::to_string(crop.size) +
                " px crop; expected a resize size of at least the crop size");
  }
  int top = (image.rows - height) / 2;
  int left = (image.cols - width) / 2;
  if (crop.random) {
    top = static_cast<int>(draw_below(rng, static_cast<uint64_t>(image.rows - height + 1)));
    left = static_cast<int>(draw_below(rng, static_cast<uint64_t>(image.cols - width + 1)));
  }
  flip = crop.flip && draw_below(rng, 2) == 1;
  return image(cv::Rect(left, top, width, height));
}

}  // namespace

at::Tensor read_streamed_rows(const StreamedImages& images, const std::vector<int64_t>& rows,
                              const ImageCrop& crop, uint64_t random_seed) {
  if (crop.size < 0) throw Error("crop size must be >= 0, got " + std::to_string(crop.size));
  opencv_image::FileReader reader;
  std::mt19937_64 rng(random_seed);
  at::Tensor batch;
  int64_t height = 0;
  int64_t width = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& file = file_of(images, rows[i]);
    cv::Mat image = read_scaled(images, rows[i], reader);
    bool flip = false;
    if (crop.size > 0 || crop.random || crop.flip) image = cut(image, crop, rng, flip, file);
    if (i == 0) {
      height = image.rows;
      width = image.cols;
      batch = torch::empty({static_cast<int64_t>(rows.size()), 3, height, width}, torch::kUInt8);
    } else if (image.rows != height || image.cols != width) {
      throw Error("image " + file.string() + " is " + opencv_image::size_text(image) + " but " +
                  file_of(images, rows[0]).string() + " is " + std::to_string(width) + "x" +
                  std::to_string(height) +
                  ": images of one batch must share one size, or be cut to a crop size");
    }
    if (flip) {
      cv::Mat mirrored;
      cv::flip(image, mirrored, 1);
      image = mirrored;
    }
    opencv_image::write_chw_rgb(image, batch.data_ptr<uint8_t>() + i * 3 * height * width);
  }
  if (!batch.defined()) batch = torch::empty({0, 3, crop.size, crop.size}, torch::kUInt8);
  return batch;
}

at::Tensor read_streamed_image(const StreamedImages& images, int64_t row) {
  opencv_image::FileReader reader;
  const cv::Mat image = read_scaled(images, row, reader);
  auto out = torch::empty({3, image.rows, image.cols}, torch::kUInt8);
  opencv_image::write_chw_rgb(image, out.data_ptr<uint8_t>());
  return out;
}

}  // namespace greedyhash
