#include "greedyhash/train/learning_rate.h"

#include <cmath>

namespace greedyhash {

double learning_rate(const Config& config, int64_t epoch) {
  return config.lr * std::pow(0.1, static_cast<double>(epoch / config.lr_step));
}

}  // namespace greedyhash
