#include "greedyhash/inference/code_files.h"

#include <string>

#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/retrieval/label_masks.h"

namespace greedyhash {

void save_codes_packed_npy(const std::filesystem::path& path, const BinaryCodes& codes) {
  save_npy(path, codes.to_packed_bytes());
}

BinaryCodes load_codes_packed_npy(const std::filesystem::path& path, int bits) {
  const at::Tensor bytes = load_npy(path);
  try {
    return BinaryCodes::from_packed_bytes(bytes, bits);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

void save_codes_pm1_npy(const std::filesystem::path& path, const BinaryCodes& codes) {
  save_npy(path, codes.to_pm1(at::kChar));
}

BinaryCodes load_codes_pm1_npy(const std::filesystem::path& path) {
  const at::Tensor values = load_npy(path);
  try {
    return BinaryCodes::from_tensor(values);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

void save_labels_npy(const std::filesystem::path& path, const at::Tensor& multi_hot) {
  LabelMasks masks;
  try {
    masks = LabelMasks::from_multi_hot(multi_hot);
  } catch (const Error& e) {
    throw Error("cannot save labels to " + path.string() + ": " + e.what());
  }
  save_npy(path, masks.to_multi_hot());
}

}  // namespace greedyhash
