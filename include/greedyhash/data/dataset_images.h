#pragma once

#include <filesystem>
#include <vector>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/data/image_decoding.h"

namespace greedyhash {

// Gives `dataset` its images from `files` (image i from files[i]) as `options` says:
// decoded now into dataset.images (decode_image_files), or with options.stream kept as
// files in dataset.streamed, each decoded when a batch needs it.
void attach_images(ImageDataset& dataset, std::vector<std::filesystem::path> files,
                   const ImageLoadOptions& options);

}  // namespace greedyhash
