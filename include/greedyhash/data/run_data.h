#pragma once

#include <filesystem>
#include <string>

#include "greedyhash/data/device_transform.h"
#include "greedyhash/data/image_dataset.h"
#include "greedyhash/data/image_decoding.h"
#include "greedyhash/data/split.h"
#include "greedyhash/io/config.h"

namespace greedyhash {

// The data of a run: the images, the split, and how batches are transformed.
struct RunData {
  ImageDataset dataset;
  Split split;
  std::string source;  // the data folder actually read
  TransformOptions train_transform;
  TransformOptions eval_transform;
};

enum class SplitMode {
  Create,  // draw the split from config.seed and save it as <run_dir>/split.json
  Load,    // read <run_dir>/split.json and refuse data that differs from the recorded data
  Draw,    // draw the split like Create without writing it (data-parallel ranks other than 0)
};

// Loads config.data_dir (a folder, or a .tar.gz unpacked once into the cache folder:
// $GREEDYHASH_CACHE_DIR, else $XDG_CACHE_HOME/greedyhash, else ~/.cache/greedyhash) as
// config.dataset says: the CIFAR-10 protocols (binary or image-folder layout) or "list"
// (train.txt, test.txt and database.txt in data_dir).
RunData load_run_data(const Config& config, const std::filesystem::path& run_dir, SplitMode mode);

// How images from outside the run's data set (predict/search --image, the folders and list
// files greedyhash_index encodes) are read, so that the model meets them as it meets the
// run's own evaluation images: decoded with the shorter side scaled to the stored size and
// the centred square cut (input_size; list-file runs store 256/224 of it, as they do their
// own images), then the run's evaluation transform.
struct OutsideImageOptions {
  ImageLoadOptions load;
  TransformOptions transform;
};
OutsideImageOptions outside_image_options(const Config& config);

std::filesystem::path split_file(const std::filesystem::path& run_dir);

// The training indices used: all of split.train, or with train_limit = N the first N of
// it in a seeded random order (the split's lists are sorted by index, which groups
// CIFAR's images by class, so a plain prefix would be one or two classes).
std::vector<int64_t> training_indices(const Split& split, int64_t train_limit, uint64_t seed);

}  // namespace greedyhash
