#include "greedyhash/retrieval/classification_accuracy.h"

#include <string>

#include "greedyhash/error.h"
#include "greedyhash/retrieval/label_masks.h"

namespace greedyhash {

ClassificationAccuracy classification_accuracy(const at::Tensor& logits,
                                               const at::Tensor& multi_hot_labels) {
  if (!logits.defined() || logits.dim() != 2 || !c10::isFloatingType(logits.scalar_type())) {
    throw Error("logits must be an N x C floating-point tensor");
  }
  const LabelMasks labels = LabelMasks::from_multi_hot(multi_hot_labels);
  if (labels.size() != logits.size(0) || labels.num_classes() != logits.size(1)) {
    throw Error("logits are " + c10::str(logits.sizes()) + " but labels are " +
                c10::str(multi_hot_labels.sizes()) + "; both must be N x C");
  }
  if (logits.size(0) == 0) throw Error("no logits to score (N = 0)");
  const at::Tensor values = logits.to(at::kCPU, at::kDouble).contiguous();
  if (values.isnan().any().item<bool>()) throw Error("logits contain NaN");
  const double* v = values.data_ptr<double>();
  const int64_t n = values.size(0);
  const int64_t c = values.size(1);
  ClassificationAccuracy result;
  result.total = n;
  for (int64_t i = 0; i < n; ++i) {
    const double* row = v + i * c;
    int64_t best = 0;
    for (int64_t k = 1; k < c; ++k) {
      if (row[k] > row[best]) best = k;
    }
    result.correct += (labels.row(i)[best >> 6] >> (best & 63)) & 1u;
  }
  result.accuracy = static_cast<double>(result.correct) / static_cast<double>(n);
  return result;
}

}  // namespace greedyhash
