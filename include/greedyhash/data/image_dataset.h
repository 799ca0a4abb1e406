#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

struct StreamedImages;

// What every reader yields: labels and names in memory, and the images either decoded
// once and held in memory as uint8 (`images`), or kept as files decoded batch by batch
// (`streamed`, streamed_images.h); exactly one of the two is set.
struct ImageDataset {
  at::Tensor images;  // N x 3 x H x W uint8, RGB, CPU, contiguous; undefined when streamed
  std::shared_ptr<const StreamedImages> streamed;
  at::Tensor labels;  // N x C uint8 multi-hot (single-label data: one 1 per row)
  // Where image i came from, for display: a file path, or "data_batch_3.bin#417"
  // (record 417, counted from 0, of that CIFAR-10 binary batch).
  std::vector<std::string> sources;
  std::vector<std::string> class_names;  // C names, in label order
  // Pooled CIFAR-10: index of the first image of the official test part (50000 for the
  // real data); -1 for data sets without such a part.
  int64_t test_offset = -1;

  int64_t size() const;
  // Image i, 3 x H x W uint8: a view of `images`, or decoded from its file (whole, at the
  // streamed resize size).
  at::Tensor image(int64_t i) const;
  int64_t num_classes() const;
  // True when some image has more than one label.
  bool multi_label() const;
};

// Labels N x C (uint8 one-hot) from class ids in [0, num_classes).
at::Tensor one_hot_labels(const std::vector<int64_t>& class_ids, int64_t num_classes);

// The inverse for single-label rows: N x C one-hot -> N class ids (int64; the first
// 1 of each row).
at::Tensor class_ids_of(const at::Tensor& one_hot);

// class_names[id], or the id as text where there is no such name (list-file data sets
// name their classes by number).
std::string class_name_or_id(const std::vector<std::string>& class_names, int64_t id);

}  // namespace greedyhash
