#pragma once

#include <filesystem>
#include <string>

#include <ATen/core/Tensor.h>

#include "greedyhash/data/device_transform.h"
#include "greedyhash/data/run_data.h"
#include "greedyhash/inference/encoder.h"

namespace greedyhash {

// The image a retrieval starts from (greedyhash_predict, greedyhash_search).
struct QueryImage {
  at::Tensor image;  // 1 x 3 x H x W uint8
  at::Tensor label;  // C multi-hot in the run's classes; undefined for an outside image
  std::string name;  // for display: "test 5 (<source>)" or the file
  // What default output files are named after: "test_5", or the file's stem.
  std::string tag;
  TransformOptions transform;  // what the model's input needs
};

// Test image `pic_id`, counted from 0 in the order of the data set's test part (CIFAR-10:
// the official test batch or test/ folder; list files: test.txt). Out of range: a
// greedyhash::Error naming --pic_id and the valid range.
QueryImage test_image_query(const RunData& data, int64_t pic_id);

// An image file, read as outside_image_options says.
QueryImage image_file_query(const std::filesystem::path& file, const OutsideImageOptions& outside);

// The query's code and logits (one row), computed as the collection's were: through
// encode_images with `options` (device, precision), the query's own transform.
EncodedImages encode_query(GreedyHash& model, const QueryImage& query, EncodeOptions options);

}  // namespace greedyhash
