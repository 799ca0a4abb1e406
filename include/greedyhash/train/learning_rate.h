#pragma once

#include <cstdint>

#include "greedyhash/io/config.h"

namespace greedyhash {

// The learning rate of (0-based) `epoch`: config.lr, times 0.1 after every
// config.lr_step epochs (PyTorch's StepLR with gamma 0.1, as the paper's recipe).
double learning_rate(const Config& config, int64_t epoch);

// The same rule for a base rate `lr` and step `lr_step` given apart from a Config.
double learning_rate(double lr, int64_t lr_step, int64_t epoch);

}  // namespace greedyhash
