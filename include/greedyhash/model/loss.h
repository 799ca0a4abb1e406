#pragma once

#include <ATen/core/Tensor.h>

namespace greedyhash {

struct LossTerms {
  at::Tensor total;           // classification + alpha * quantization (scalar)
  at::Tensor classification;  // cross-entropy, or BCE-with-logits for multi-label targets
  at::Tensor quantization;    // mean(| |h| - 1 |^3)
};

// The GreedyHash objective: L = classification(logits, targets) + alpha * mean(||h|-1|^3).
// targets decide the classification term:
//  - 1-D int64 class indices (single-label data such as CIFAR-10): cross-entropy;
//  - 2-D float multi-hot rows (N x C; NUS-WIDE, COCO): binary cross-entropy with logits
//    over all C labels (taking only the first label would silently drop the others).
// mean(| |h| - 1 |^3) over all entries of h: how far the continuous codes are from +-1.
at::Tensor quantization_penalty(const at::Tensor& h);

LossTerms greedy_hash_loss(const at::Tensor& logits, const at::Tensor& h, const at::Tensor& targets,
                           double alpha);

}  // namespace greedyhash
