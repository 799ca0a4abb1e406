#include <algorithm>
#include <cmath>

#include "greedyhash/error.h"
#include "greedyhash/index/binary_index.h"

namespace greedyhash {

std::string index_type_name(IndexType type) {
  return type == IndexType::Ivf ? "ivf" : "flat";
}

IndexType parse_index_type(const std::string& name, const std::string& flag) {
  if (name == "flat") return IndexType::Flat;
  if (name == "ivf") return IndexType::Ivf;
  throw Error(flag + " must be flat or ivf, got '" + name + "'");
}

int64_t default_nlist(int64_t num_codes) {
  const auto root = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(num_codes))));
  return std::max<int64_t>(1, std::min(root, num_codes / 39));
}

int64_t default_nprobe(int64_t nlist) {
  return std::clamp<int64_t>(nlist / 16, 1, std::max<int64_t>(1, nlist));
}

int padded_bits(int bits) {
  return (bits + 7) / 8 * 8;
}

}  // namespace greedyhash
