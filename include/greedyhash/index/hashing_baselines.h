#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// The classic unsupervised hashing methods, as FAISS implements them, to compare with
// unsupervised GreedyHash on the same features (greedyhash_baselines):
//   lsh  sign of random projections: FAISS's RandomRotationMatrix (K orthonormal random
//        directions), no centring, as faiss::IndexLSH without trained thresholds
//   pca  sign of the top K principal components (faiss::PCAMatrix: centred, no whitening)
//   itq  iterative quantisation, Gong & Lazebnik 2011 (faiss::ITQTransform with its PCA:
//        centred, PCA to K, then the rotation that brings the projections closest to +-1)
enum class BaselineMethod { Lsh, Pca, Itq };

// "lsh", "pca", "itq", in that order.
const std::vector<std::string>& baseline_method_names();
// greedyhash::Error listing the names for anything else.
BaselineMethod parse_baseline_method(const std::string& name);
std::string baseline_method_name(BaselineMethod method);

// A trained baseline: a linear map to K values whose signs are the codes (bit j = value >= 0).
class BaselineHasher {
 public:
  // Trained on `train` (N x D float). `seed` draws LSH's directions and ITQ's initial
  // rotation (PCA has no randomness). Errors (greedyhash::Error): bits < 1; pca and itq
  // need bits <= D and bits <= N; a build without FAISS.
  static BaselineHasher train(BaselineMethod method, const at::Tensor& train, int64_t bits,
                              uint64_t seed);

  // rows: M x D float -> M x K float projections.
  at::Tensor project(const at::Tensor& rows) const;

  BaselineMethod method() const { return method_; }
  int64_t bits() const { return bits_; }

  struct Impl;

 private:
  BaselineHasher(BaselineMethod method, int64_t bits, std::shared_ptr<const Impl> impl);
  BaselineMethod method_;
  int64_t bits_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace greedyhash
