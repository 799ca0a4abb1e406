#include "greedyhash/retrieval/labeled_codes.h"

#include <string>
#include <utility>

#include "greedyhash/error.h"

namespace greedyhash {

LabeledCodes::LabeledCodes(BinaryCodes codes, LabelMasks labels)
    : codes_(std::move(codes)), labels_(std::move(labels)) {
  if (codes_.size() != labels_.size()) {
    throw Error("codes have " + std::to_string(codes_.size()) + " rows but labels have " +
                std::to_string(labels_.size()) + "; they must describe the same items");
  }
}

LabeledCodes::LabeledCodes(BinaryCodes codes, const at::Tensor& multi_hot_labels)
    : LabeledCodes(std::move(codes), LabelMasks::from_multi_hot(multi_hot_labels)) {}

}  // namespace greedyhash
