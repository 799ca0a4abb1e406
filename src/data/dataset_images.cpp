#include "greedyhash/data/dataset_images.h"

#include <memory>

#include "greedyhash/data/streamed_images.h"

namespace greedyhash {

void attach_images(ImageDataset& dataset, std::vector<std::filesystem::path> files,
                   const ImageLoadOptions& options) {
  if (!options.stream) {
    dataset.images = decode_image_files(files, options);
    return;
  }
  auto streamed = std::make_shared<StreamedImages>();
  streamed->files = std::move(files);
  streamed->resize_size = options.resize_size;
  dataset.streamed = std::move(streamed);
}

}  // namespace greedyhash
