#pragma once

#include <filesystem>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/data/image_decoding.h"

namespace greedyhash {

// Loads all of CIFAR-10 pooled, training part first, then test part (test_offset = size
// of the training part: 50000 for the real data). `root` may be
//   - a folder holding cifar-10-batches-bin/ (official binary release),
//   - cifar-10-batches-bin itself (data_batch_1.bin ... test_batch.bin),
//   - an image-folder root with train/<class>/*.jpg and test/<class>/*.jpg (the two
//     must have the same class folders; order within each: (class id, file name)).
// `options` applies to the image-folder layout only (binary batches cannot be streamed:
// options.stream throws for them). Anything else throws
// greedyhash::Error naming `root` and the layouts expected.
ImageDataset load_cifar10(const std::filesystem::path& root, const ImageLoadOptions& options = {});

}  // namespace greedyhash
