#include <algorithm>

#include "greedyhash/error.h"
#include "greedyhash/index/hashing_baselines.h"

namespace greedyhash {

namespace {

const std::vector<BaselineMethod> kMethods = {BaselineMethod::Lsh, BaselineMethod::Pca,
                                              BaselineMethod::Itq};

}  // namespace

const std::vector<std::string>& baseline_method_names() {
  static const std::vector<std::string> names = {"lsh", "pca", "itq"};
  return names;
}

BaselineMethod parse_baseline_method(const std::string& name) {
  const auto& names = baseline_method_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    throw Error("unknown baseline method '" + name + "'; expected lsh, pca or itq");
  }
  return kMethods[static_cast<size_t>(it - names.begin())];
}

std::string baseline_method_name(BaselineMethod method) {
  return baseline_method_names()[static_cast<size_t>(
      std::find(kMethods.begin(), kMethods.end(), method) - kMethods.begin())];
}

}  // namespace greedyhash
