#include "greedyhash/serialize/state_dict.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <string>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

std::string shape_text(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t d = 0; d < sizes.size(); ++d) {
    text += (d > 0 ? ", " : "") + std::to_string(sizes[d]);
  }
  return text + "]";
}

}  // namespace

StateDict read_state_dict(const fs::path& file, TensorData tensors) {
  StateDict result("Tensor");
  for (const auto& item : read_torch_save_dict(file, tensors)) {
    if (item.value().isTensor()) result.insert(item.key(), item.value().toTensor());
  }
  if (result.is_empty()) throw Error(file.string() + ": holds no tensors, expected a state dict");
  return result;
}

void copy_named_tensors(const StateDict& source, const StateDict& targets, const fs::path& file) {
  // Check everything first so that a bad file leaves the targets untouched.
  for (const auto& target : targets) {
    const at::Tensor* found = source.find(target.key());
    if (found == nullptr) {
      throw Error(file.string() + ": no entry " + target.key() + " (expected shape " +
                  shape_text(target.value().sizes()) + ")");
    }
    if (found->sizes() != target.value().sizes()) {
      throw Error(file.string() + ": entry " + target.key() + " has shape " +
                  shape_text(found->sizes()) + " but the model expects " +
                  shape_text(target.value().sizes()));
    }
  }
  at::NoGradGuard no_grad;
  for (const auto& target : targets) target.value().copy_(source[target.key()]);
}

}  // namespace greedyhash
