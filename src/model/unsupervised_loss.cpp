#include "greedyhash/model/unsupervised_loss.h"

#include <ATen/ATen.h>

#include "greedyhash/error.h"
#include "greedyhash/model/loss.h"

namespace greedyhash {

UnsupervisedLossTerms unsupervised_hash_loss(const at::Tensor& features, const at::Tensor& h,
                                             const at::Tensor& codes, double alpha) {
  const int64_t pairs = features.size(0) / 2;
  if (pairs == 0) {
    throw Error("the unsupervised loss pairs the rows of a batch; a batch of " +
                std::to_string(features.size(0)) + " has no pair (use --batch-size >= 2)");
  }
  // PyTorch's default eps for cosine_similarity: an all-zero row (ReLU features) gives 0.
  constexpr double kEps = 1e-8;
  const auto code_similarity =
      at::cosine_similarity(codes.narrow(0, 0, pairs), codes.narrow(0, pairs, pairs), 1, kEps);
  const auto feature_similarity = at::cosine_similarity(features.narrow(0, 0, pairs),
                                                        features.narrow(0, pairs, pairs), 1, kEps);
  UnsupervisedLossTerms terms;
  terms.similarity = at::mse_loss(code_similarity, feature_similarity);
  terms.quantization = quantization_penalty(h);
  terms.total = terms.similarity + alpha * terms.quantization;
  return terms;
}

}  // namespace greedyhash
