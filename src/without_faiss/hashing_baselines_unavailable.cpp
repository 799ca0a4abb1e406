// The hashing baselines come from FAISS: without it they are a one-line error.
#include "greedyhash/error.h"
#include "greedyhash/index/binary_index.h"
#include "greedyhash/index/hashing_baselines.h"

namespace greedyhash {

struct BaselineHasher::Impl {};

BaselineHasher::BaselineHasher(BaselineMethod method, int64_t bits,
                               std::shared_ptr<const Impl> impl)
    : method_(method), bits_(bits), impl_(std::move(impl)) {}

BaselineHasher BaselineHasher::train(BaselineMethod, const at::Tensor&, int64_t, uint64_t) {
  throw Error(faiss_unavailable_message());
}

at::Tensor BaselineHasher::project(const at::Tensor&) const {
  throw Error(faiss_unavailable_message());
}

}  // namespace greedyhash
