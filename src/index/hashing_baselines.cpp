#include "greedyhash/index/hashing_baselines.h"

#include <ATen/ATen.h>
#include <faiss/VectorTransform.h>

#include "greedyhash/error.h"

namespace greedyhash {

struct BaselineHasher::Impl {
  std::unique_ptr<faiss::VectorTransform> transform;
};

namespace {

// FAISS takes int seeds.
int faiss_seed(uint64_t seed) {
  return static_cast<int>(seed % 2147483647u);
}

std::unique_ptr<faiss::VectorTransform> make_transform(BaselineMethod method, int d, int bits,
                                                       uint64_t seed) {
  switch (method) {
    case BaselineMethod::Lsh: {
      auto rotation = std::make_unique<faiss::RandomRotationMatrix>(d, bits);
      rotation->init(faiss_seed(seed));
      return rotation;
    }
    case BaselineMethod::Pca:
      return std::make_unique<faiss::PCAMatrix>(d, bits);
    case BaselineMethod::Itq: {
      auto itq = std::make_unique<faiss::ITQTransform>(d, bits, /*do_pca=*/true);
      itq->itq.seed = faiss_seed(seed);
      return itq;
    }
  }
  throw std::logic_error("unknown baseline method");
}

}  // namespace

BaselineHasher::BaselineHasher(BaselineMethod method, int64_t bits,
                               std::shared_ptr<const Impl> impl)
    : method_(method), bits_(bits), impl_(std::move(impl)) {}

BaselineHasher BaselineHasher::train(BaselineMethod method, const at::Tensor& train, int64_t bits,
                                     uint64_t seed) {
  const int64_t rows = train.size(0);
  const int64_t dim = train.size(1);
  if (bits < 1) throw Error("baselines: --bit must be >= 1");
  if (method != BaselineMethod::Lsh && (bits > dim || bits > rows)) {
    throw Error(baseline_method_name(method) +
                " projects onto principal components: " + std::to_string(bits) +
                " bits need at least that many dimensions and training "
                "rows (the features have " +
                std::to_string(dim) + " and " + std::to_string(rows) + ")");
  }
  auto impl = std::make_shared<Impl>();
  impl->transform = make_transform(method, static_cast<int>(dim), static_cast<int>(bits), seed);
  const auto floats = train.to(at::kFloat).contiguous();
  if (!impl->transform->is_trained) impl->transform->train(rows, floats.data_ptr<float>());
  return BaselineHasher(method, bits, std::move(impl));
}

at::Tensor BaselineHasher::project(const at::Tensor& rows) const {
  const auto floats = rows.to(at::kFloat).contiguous();
  auto out = at::empty({floats.size(0), bits_}, at::kFloat);
  impl_->transform->apply_noalloc(floats.size(0), floats.data_ptr<float>(), out.data_ptr<float>());
  return out;
}

}  // namespace greedyhash
