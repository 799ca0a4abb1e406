#pragma once

#include <cstdint>

#include <c10/core/Device.h>

#include "greedyhash/io/config.h"

namespace greedyhash {

// This machine's physical memory in bytes (0 when the system does not say).
int64_t physical_memory_bytes();

// Refuses, with a greedyhash::Error naming --batch-size and --input-size, a training run on
// the CPU whose estimated memory (model/training_memory.h) exceeds `memory_bytes`. On CUDA
// the GPU's memory bounds the batch instead, and LibTorch says so when it runs out.
void check_training_memory(const Config& config, c10::Device device, int64_t memory_bytes);

}  // namespace greedyhash
