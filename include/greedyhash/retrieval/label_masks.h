#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// The label sets of N items over C classes as bitmasks: class c of row i is bit c % 64
// of word c / 64. Two items are relevant to each other when their masks intersect
// (they share at least one label), which covers single- and multi-label data alike.
class LabelMasks {
 public:
  LabelMasks() = default;
  // From an N x C multi-hot tensor (uint8, bool or any integer/float dtype, any device)
  // whose entries are 0 or 1; C >= 1.
  static LabelMasks from_multi_hot(const at::Tensor& n_by_c);

  int64_t size() const { return size_; }
  int64_t num_classes() const { return num_classes_; }
  int words_per_row() const { return words_per_row_; }
  const uint64_t* row(int64_t i) const { return words_.data() + i * words_per_row_; }
  const uint64_t* data() const { return words_.data(); }

  // Rows with identical label sets share a set index (0..num_distinct_sets() - 1, in order
  // of first appearance); distinct_set(u) is set u's mask. Relevance to a query then
  // needs one test per distinct set instead of one per row.
  const std::vector<uint32_t>& set_indices() const { return set_indices_; }
  int64_t num_distinct_sets() const {
    return words_per_row_ == 0 ? 0 : static_cast<int64_t>(distinct_.size()) / words_per_row_;
  }
  const uint64_t* distinct_set(int64_t u) const { return distinct_.data() + u * words_per_row_; }

  bool shares_label(int64_t i, const uint64_t* other_row) const;
  // N x C uint8 multi-hot tensor (the inverse of from_multi_hot).
  at::Tensor to_multi_hot() const;

 private:
  void index_distinct_sets();

  int64_t size_ = 0;
  int64_t num_classes_ = 0;
  int words_per_row_ = 0;
  std::vector<uint64_t> words_;
  std::vector<uint32_t> set_indices_;
  std::vector<uint64_t> distinct_;
};

}  // namespace greedyhash
