#pragma once

#include <cstdint>

#include "greedyhash/io/config.h"

namespace greedyhash {

// The learning rate of (0-based) `epoch`: config.lr, times 0.1 after every
// config.lr_step epochs (PyTorch's StepLR with gamma 0.1, as the paper's recipe).
double learning_rate(const Config& config, int64_t epoch);

}  // namespace greedyhash
