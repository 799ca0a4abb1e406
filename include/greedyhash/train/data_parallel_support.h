#pragma once

#include <cstdint>

#include "greedyhash/io/config.h"

namespace greedyhash {

// Refuses (greedyhash::Error, one line) a data-parallel run (world_size > 1) the
// data-parallel path cannot train yet: a backbone with BatchNorm (the ResNets). Its
// running statistics would drift apart between ranks, as nothing keeps them in step
// after the start, and the replicas' check takes float32 tensors only, not BatchNorm's
// int64 batch counter.
void check_data_parallel_support(const Config& config, int64_t world_size);

}  // namespace greedyhash
