#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace greedyhash {

struct ClassificationAccuracy {
  double accuracy = 0.0;  // correct / total
  int64_t correct = 0;
  int64_t total = 0;
};

// Accuracy of the classifier's N x C logits against N x C multi-hot labels (0/1, any
// dtype, any device). The prediction is the arg-max class (the first one on equal
// logits); it counts as correct when it is one of the item's labels, which for
// single-label data is the usual top-1 accuracy. Errors (greedyhash::Error): shapes that
// differ or are not 2-D, no rows, non-floating logits, NaN logits.
ClassificationAccuracy classification_accuracy(const at::Tensor& logits,
                                               const at::Tensor& multi_hot_labels);

}  // namespace greedyhash
