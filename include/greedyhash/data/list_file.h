#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/data/image_decoding.h"
#include "greedyhash/data/split.h"

namespace greedyhash {

// One line of a list file: an image path (relative to the data root, or absolute) and
// its multi-hot label.
struct ListEntry {
  std::string path;
  std::vector<uint8_t> label;
  int64_t line = 0;  // in its list file, counted from 1
};

// Parses a list file of the deep-hashing community (NUS-WIDE, MS-COCO, ImageNet-100):
// one image per line, `relative/path.jpg 0 1 0 ... 1`, a 0/1 value per class. Blank
// lines are skipped. With num_classes > 0, a line may instead give one class index
// (`path.jpg 7`), which must lie in [0, num_classes). With num_classes == 0 the width
// of the first line sets it. A missing file, a line with the wrong width, a value other
// than 0/1, or an index out of range throws greedyhash::Error naming file and line.
std::vector<ListEntry> parse_list_file(const std::filesystem::path& list_file,
                                       int64_t num_classes = 0);

struct ListDataSpec {
  std::filesystem::path root;  // image paths in the lists are relative to it
  std::filesystem::path train_list;
  std::filesystem::path query_list;  // the "test" list of those data sets
  std::filesystem::path database_list;
  int64_t num_classes = 0;  // 0: taken from the first line of the train list
  // Shorter side scaled to 256; held in memory, the centre 256 x 256 square is kept, so
  // that a random (training) or centre (evaluation) 224 crop can be cut on the device;
  // streamed (load.stream), the whole image, from which the crop is cut per batch.
  ImageLoadOptions load{256, 0};
};

// A list-file data set: all images of the three lists decoded once into one dataset
// (an image listed in several lists, e.g. train images that are also in the database,
// is stored once; listing it with two different labels is an error), and the split
// they define (protocol Lists, seed 0, lists ascending). Class names are "0", "1", ...
// Every image file must exist: a missing one throws greedyhash::Error naming the list
// file and line, before anything is decoded.
struct ListDataset {
  ImageDataset dataset;
  Split split;
};

ListDataset load_list_dataset(const ListDataSpec& spec);

}  // namespace greedyhash
