#include "greedyhash/model/loss.h"

#include <ATen/ATen.h>

#include "greedyhash/error.h"

namespace greedyhash {

at::Tensor quantization_penalty(const at::Tensor& h) {
  return (h.abs() - 1).abs().pow(3).mean();
}

LossTerms greedy_hash_loss(const at::Tensor& logits, const at::Tensor& h, const at::Tensor& targets,
                           double alpha) {
  LossTerms terms;
  if (targets.dim() == 1 && targets.scalar_type() == at::kLong) {
    terms.classification = at::cross_entropy_loss(logits, targets);
  } else if (targets.dim() == 2 && targets.sizes() == logits.sizes()) {
    terms.classification =
        at::binary_cross_entropy_with_logits(logits, targets.to(logits.scalar_type()));
  } else {
    throw Error("loss targets must be int64 class indices (N) or multi-hot rows (N x C); got " +
                std::string(targets.toString()) + " of shape " + c10::str(targets.sizes()) +
                " for logits of shape " + c10::str(logits.sizes()));
  }
  terms.quantization = quantization_penalty(h);
  terms.total = terms.classification + alpha * terms.quantization;
  return terms;
}

}  // namespace greedyhash
