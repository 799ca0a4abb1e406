#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "greedyhash/data/image_dataset.h"

namespace greedyhash {

// The ten CIFAR-10 class names in label order (airplane ... truck).
const std::vector<std::string>& cifar10_class_names();

// Reads the official CIFAR-10 binary release from `batches_dir` (the folder
// cifar-10-batches-bin): data_batch_1.bin ... data_batch_5.bin, then test_batch.bin,
// pooled in that order (test_offset = number of training records, 50000 for the real
// files). Each record is 3073 bytes: a label byte (0-9), then 1024 red, 1024 green and
// 1024 blue bytes, row-major 32x32. Class names come from batches.meta.txt when present.
// A missing file, a size that is not a whole number of records, or a label outside 0-9
// throws greedyhash::Error naming the file.
ImageDataset read_cifar10_binary(const std::filesystem::path& batches_dir);

}  // namespace greedyhash
