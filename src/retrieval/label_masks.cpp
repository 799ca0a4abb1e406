#include "greedyhash/retrieval/label_masks.h"

#include <torch/types.h>
#include <string>
#include <unordered_map>
#include <utility>

#include "greedyhash/error.h"

namespace greedyhash {

LabelMasks LabelMasks::from_multi_hot(const at::Tensor& n_by_c) {
  if (!n_by_c.defined() || n_by_c.dim() != 2 || n_by_c.size(1) < 1) {
    throw Error("labels must be an N x C multi-hot tensor with C >= 1, got " +
                (n_by_c.defined()
                     ? std::to_string(n_by_c.dim()) + "-D shape " + c10::str(n_by_c.sizes())
                     : std::string("an undefined tensor")));
  }
  const auto type = n_by_c.scalar_type();
  if (!(type == at::kBool || c10::isFloatingType(type) || c10::isIntegralType(type, false))) {
    throw Error(std::string("labels must have a bool, integer or float dtype, got ") +
                c10::toString(type));
  }
  const at::Tensor cpu = n_by_c.to(at::kCPU);
  // Class indices (0..C-1) passed where multi-hot rows are expected would otherwise be
  // read as arbitrary label sets.
  if (type != at::kBool && !(cpu.eq(0) | cpu.eq(1)).all().item<bool>()) {
    throw Error(
        "labels must be multi-hot (entries 0 or 1), found other values; convert class "
        "indices with one_hot first");
  }
  const at::Tensor on = cpu.ne(0).contiguous();
  LabelMasks masks;
  masks.size_ = n_by_c.size(0);
  masks.num_classes_ = n_by_c.size(1);
  masks.words_per_row_ = static_cast<int>((masks.num_classes_ + 63) / 64);
  masks.words_.assign(static_cast<size_t>(masks.size_ * masks.words_per_row_), 0);
  const bool* in = on.data_ptr<bool>();
  for (int64_t i = 0; i < masks.size_; ++i) {
    uint64_t* out = masks.words_.data() + i * masks.words_per_row_;
    const bool* row_in = in + i * masks.num_classes_;
    for (int64_t c = 0; c < masks.num_classes_; ++c) {
      out[c >> 6] |= static_cast<uint64_t>(row_in[c]) << (c & 63);
    }
  }
  masks.index_distinct_sets();
  return masks;
}

void LabelMasks::index_distinct_sets() {
  // The mask's bytes as the key: works for any number of words.
  std::unordered_map<std::string, uint32_t> index;
  set_indices_.resize(static_cast<size_t>(size_));
  distinct_.clear();
  const size_t row_bytes = static_cast<size_t>(words_per_row_) * sizeof(uint64_t);
  for (int64_t i = 0; i < size_; ++i) {
    const uint64_t* mask = row(i);
    std::string key(reinterpret_cast<const char*>(mask), row_bytes);
    const auto [it, added] = index.emplace(std::move(key), static_cast<uint32_t>(index.size()));
    if (added) distinct_.insert(distinct_.end(), mask, mask + words_per_row_);
    set_indices_[static_cast<size_t>(i)] = it->second;
  }
}

bool LabelMasks::shares_label(int64_t i, const uint64_t* other_row) const {
  const uint64_t* mine = row(i);
  for (int w = 0; w < words_per_row_; ++w) {
    if ((mine[w] & other_row[w]) != 0) return true;
  }
  return false;
}

at::Tensor LabelMasks::to_multi_hot() const {
  at::Tensor out = at::empty({size_, num_classes_}, at::TensorOptions().dtype(at::kByte));
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < size_; ++i) {
    for (int64_t c = 0; c < num_classes_; ++c) {
      dst[i * num_classes_ + c] = static_cast<uint8_t>((row(i)[c >> 6] >> (c & 63)) & 1u);
    }
  }
  return out;
}

}  // namespace greedyhash
