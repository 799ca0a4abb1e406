#include "greedyhash/train/learning_rate.h"

#include <cmath>

namespace greedyhash {

double learning_rate(const Config& config, int64_t epoch) {
  return learning_rate(config.lr, config.lr_step, epoch);
}

double learning_rate(double lr, int64_t lr_step, int64_t epoch) {
  return lr * std::pow(0.1, static_cast<double>(epoch / lr_step));
}

}  // namespace greedyhash
