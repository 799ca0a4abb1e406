// What the library does where OpenCV is missing (GREEDYHASH_WITH_OPENCV=OFF): image files
// cannot be read, so asking for them is an error; plots and mosaics are extras beside
// the results, so they are skipped with a warning and the run goes on.
#include <spdlog/spdlog.h>

#include "greedyhash/data/image_decoding.h"
#include "greedyhash/data/packed_images.h"
#include "greedyhash/data/streamed_images.h"
#include "greedyhash/error.h"
#include "greedyhash/report/image_encoding.h"
#include "greedyhash/report/line_plot.h"
#include "greedyhash/report/mosaic.h"

namespace greedyhash {

at::Tensor decode_image_files(const std::vector<std::filesystem::path>& files,
                              const ImageLoadOptions& /*options*/) {
  throw Error("cannot decode " + (files.empty() ? std::string("images") : files.front().string()) +
              ": greedyhash was built with GREEDYHASH_WITH_OPENCV=OFF; use CIFAR-10 binary "
              "batches (greedyhash_bench_pipeline --write-cifar-binary) or rebuild with OpenCV");
}

at::Tensor decode_image_bytes(std::string_view /*bytes*/, const ImageLoadOptions& /*options*/,
                              const std::string& name) {
  throw Error("cannot decode " + name +
              ": greedyhash was built with GREEDYHASH_WITH_OPENCV=OFF; rebuild with OpenCV");
}

at::Tensor read_streamed_rows(const StreamedImages& images, const std::vector<int64_t>& /*rows*/,
                              const ImageCrop& /*crop*/, uint64_t /*random_seed*/) {
  return decode_image_files(images.files);
}

at::Tensor read_streamed_image(const StreamedImages& images, int64_t /*row*/) {
  return decode_image_files(images.files);
}

void write_packed_images(const StreamedImages& images, const std::filesystem::path& /*file*/,
                         int /*threads*/,
                         const std::function<void(int64_t, int64_t)>& /*progress*/) {
  decode_image_files(images.files);
}

std::string encode_png(const at::Tensor& /*image*/) {
  throw Error("cannot encode a PNG: greedyhash was built with GREEDYHASH_WITH_OPENCV=OFF");
}

void save_line_plot(const std::filesystem::path& path, const LinePlot& /*plot*/) {
  spdlog::warn("plot {} skipped: built with GREEDYHASH_WITH_OPENCV=OFF", path.string());
}

void save_mosaic(const std::filesystem::path& path, const std::vector<MosaicTile>& /*tiles*/,
                 int /*tile_side*/, int /*columns*/) {
  spdlog::warn("mosaic {} skipped: built with GREEDYHASH_WITH_OPENCV=OFF", path.string());
}

}  // namespace greedyhash
