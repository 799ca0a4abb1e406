// LSH, PCA-sign and ITQ through FAISS, each against a property worked out independently:
// the angle law of random hyperplanes, PCA from an eigendecomposition, ITQ's objective.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "greedyhash/error.h"
#include "greedyhash/index/binary_index.h"
#include "greedyhash/index/hashing_baselines.h"
#include "test_support.h"

namespace greedyhash {
namespace {

#define SKIP_WITHOUT_FAISS() \
  if (!faiss_available()) GTEST_SKIP() << "built without FAISS: the baselines are FAISS's"

// Hamming distances between all rows of two sign matrices (bit = value >= 0).
at::Tensor hamming_matrix(const at::Tensor& a, const at::Tensor& b) {
  const auto x = a.ge(0).to(torch::kFloat);
  const auto y = b.ge(0).to(torch::kFloat);
  return torch::mm(x, (1 - y).t()) + torch::mm(1 - x, y.t());
}

TEST(HashingBaselines, NamesRoundTrip) {
  for (const auto& name : baseline_method_names()) {
    if (!faiss_available()) break;
    EXPECT_EQ(baseline_method_name(parse_baseline_method(name)), name);
  }
  expect_error([] { parse_baseline_method("sh"); }, {"'sh'", "lsh, pca or itq"});
}

TEST(HashingBaselines, LshBitsDifferWithTheProbabilityOfTheAngleOverPi) {
  SKIP_WITHOUT_FAISS();
  // For a direction drawn uniformly on the sphere, sign(r.x) != sign(r.y) with probability
  // angle(x, y) / pi (Goemans-Williamson; Charikar 2002). Over 256 bits and 40 x 40 pairs
  // the mean of the differences is 0 to within a few standard errors (~0.003).
  torch::manual_seed(6);
  const auto x = torch::randn({40, 256});
  const auto hasher = BaselineHasher::train(BaselineMethod::Lsh, x, 256, 11);
  const auto codes = hasher.project(x);
  const auto observed = hamming_matrix(codes, codes) / 256;
  const auto unit = x / x.norm(2, {1}, true);
  const auto angle = torch::acos(torch::mm(unit, unit.t()).clamp(-1, 1)) / M_PI;
  EXPECT_LT((observed - angle).mean().abs().item<double>(), 0.01);
  EXPECT_LT((observed - angle).abs().mean().item<double>(), 0.05);
  // Another seed, other directions.
  const auto other = BaselineHasher::train(BaselineMethod::Lsh, x, 256, 12).project(x);
  EXPECT_FALSE(torch::equal(codes.ge(0), other.ge(0)));
}

TEST(HashingBaselines, PcaSignEqualsTheSignsOfTheTopEigenvectors) {
  SKIP_WITHOUT_FAISS();
  // Data with distinct variances per direction, so the principal axes are well defined.
  torch::manual_seed(7);
  const auto scales = torch::tensor({5.f, 4.f, 3.f, 2.f, 1.f, 0.5f});
  const auto rotation = std::get<0>(torch::linalg_qr(torch::randn({6, 6})));
  const auto train = torch::mm(torch::randn({2000, 6}) * scales, rotation) + 3;
  const auto rows = torch::mm(torch::randn({50, 6}) * scales, rotation) + 3;
  const auto codes = BaselineHasher::train(BaselineMethod::Pca, train, 3, 0).project(rows);
  // Reference: the covariance's eigenvectors of the 3 largest eigenvalues (float64). An
  // eigenvector's sign is arbitrary, which flips a bit in every code alike and leaves every
  // distance unchanged: compare the distances.
  const auto t = train.to(torch::kDouble);
  const auto mean = t.mean(0);
  const auto centred = t - mean;
  const auto covariance = torch::mm(centred.t(), centred) / t.size(0);
  const auto [values, vectors] = torch::linalg_eigh(covariance);
  const auto top = vectors.narrow(1, 3, 3);
  const auto expected = torch::mm(rows.to(torch::kDouble) - mean, top);
  EXPECT_TRUE(torch::equal(hamming_matrix(codes, codes),
                           hamming_matrix(expected.to(torch::kFloat), expected.to(torch::kFloat))));
}

TEST(HashingBaselines, ItqIsPcaRotatedTowardsTheCube) {
  SKIP_WITHOUT_FAISS();
  // ITQ (Gong & Lazebnik 2011) projects the centred, unit-length rows onto the top K
  // principal axes (V) and then rotates them (V R) to minimise ||B - V R||^2 over codes B in
  // {-1, +1}: for rows of fixed length that is maximising sum_i |v_i R|_1. On rows that are
  // already centred and of unit length (each row and its negation), ITQ's projection must
  // therefore be PCA's rotated: the same length per row, and a larger L1 norm than PCA's
  // axes give (here 2% more; the identity rotation, PCA-sign itself, gives 0).
  torch::manual_seed(8);
  auto half = torch::randn({1500, 16}) * torch::linspace(3, 0.2, 16);
  half = half / half.norm(2, {1}, true);
  const auto train = torch::cat({half, -half});
  const auto pca = BaselineHasher::train(BaselineMethod::Pca, train, 8, 0).project(train);
  const auto itq = BaselineHasher::train(BaselineMethod::Itq, train, 8, 0).project(train);
  EXPECT_LT((itq.norm(2, {1}) - pca.norm(2, {1})).abs().max().item<double>(), 1e-4)
      << "ITQ's map is PCA's followed by a rotation";
  const double l1_pca = pca.abs().sum(1).mean().item<double>();
  const double l1_itq = itq.abs().sum(1).mean().item<double>();
  EXPECT_GT(l1_itq, 1.01 * l1_pca) << "ITQ " << l1_itq << ", PCA " << l1_pca;
}

TEST(HashingBaselines, PcaAndItqNeedAsManyDimensionsAsBits) {
  SKIP_WITHOUT_FAISS();
  const auto train = torch::randn({100, 8});
  expect_error([&] { BaselineHasher::train(BaselineMethod::Itq, train, 16, 0); }, {"16 bits", "8"});
  EXPECT_NO_THROW(BaselineHasher::train(BaselineMethod::Lsh, train, 16, 0));
}

}  // namespace
}  // namespace greedyhash
