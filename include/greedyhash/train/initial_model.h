#pragma once

#include <cstdint>

#include <c10/core/Device.h>

#include "greedyhash/io/config.h"
#include "greedyhash/model/greedy_hash.h"

namespace spdlog {
class logger;
}

namespace greedyhash {

// The model a training run starts from: torch::manual_seed(config.seed), the backbone with
// torchvision's initialisation, its ImageNet weights when config.pretrained names or finds
// them (logged; a warning when there are none), frozen when config.freeze_backbone; on
// `device`, convolution weights channels-last.
GreedyHash initial_model(const Config& config, int64_t num_classes, c10::Device device,
                         spdlog::logger& log);

}  // namespace greedyhash
