#pragma once

#include <cstdint>

#include "greedyhash/io/config.h"

namespace greedyhash {

// Refuses (greedyhash::Error, one line) a data-parallel run (world_size > 1) the
// data-parallel path cannot train yet: a backbone with BatchNorm (the ResNets) whose
// running statistics would drift apart between ranks, as nothing keeps them in step
// after the start. Frozen, the backbone's statistics do not change: accepted.
void check_data_parallel_support(const Config& config, int64_t world_size);

}  // namespace greedyhash
