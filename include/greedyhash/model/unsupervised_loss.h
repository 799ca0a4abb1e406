#pragma once

#include <ATen/core/Tensor.h>

namespace greedyhash {

struct UnsupervisedLossTerms {
  at::Tensor total;         // similarity + alpha * quantization (scalar)
  at::Tensor similarity;    // mse(cos(b_i, b_j), cos(x_i, x_j)) over the batch's pairs
  at::Tensor quantization;  // mean(| |h| - 1 |^3)
};

// The unsupervised GreedyHash objective (docs/PROTOCOL.md section 7.2): the codes b of a
// batch keep the cosine similarities of its features x. With m = floor(N / 2), row i of the
// first half is paired with row m + i of the second (an odd last row takes no part):
//   L = mean_i (cos(b_i, b_{m+i}) - cos(x_i, x_{m+i}))^2 + alpha * mean(| |h| - 1 |^3).
// features: N x D, h: N x K continuous codes, codes: N x K sign(h) (carrying the greedy
// sign's identity gradient). N < 2 is a greedyhash::Error.
UnsupervisedLossTerms unsupervised_hash_loss(const at::Tensor& features, const at::Tensor& h,
                                             const at::Tensor& codes, double alpha);

}  // namespace greedyhash
