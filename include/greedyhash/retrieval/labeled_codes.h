#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "greedyhash/retrieval/binary_codes.h"
#include "greedyhash/retrieval/label_masks.h"

namespace greedyhash {

// A query set or a database: one hash code and one label set per item, row for row.
class LabeledCodes {
 public:
  // Throws greedyhash::Error when the row counts differ.
  LabeledCodes(BinaryCodes codes, LabelMasks labels);
  // `multi_hot_labels`: N x C tensor of 0/1 (see LabelMasks::from_multi_hot).
  LabeledCodes(BinaryCodes codes, const at::Tensor& multi_hot_labels);

  const BinaryCodes& codes() const { return codes_; }
  const LabelMasks& labels() const { return labels_; }
  int64_t size() const { return codes_.size(); }

 private:
  BinaryCodes codes_;
  LabelMasks labels_;
};

}  // namespace greedyhash
