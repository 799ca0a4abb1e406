#pragma once

#include <cstdint>
#include <filesystem>

#include <torch/optim/optimizer.h>
#include <nlohmann/json.hpp>

namespace greedyhash {

// Resume state, a file of its own next to the checkpoint (LibTorch archive format,
// read back only by load_training_state).
struct TrainingState {
  int64_t epoch = 0;     // epochs completed
  nlohmann::json extra;  // the caller's own counters (scheduler step, data order, ...)
};

// Saves the optimizer (per-parameter state such as SGD momentum buffers, and each
// parameter group's learning rate), `state`, and the current state of the default CPU
// random generator and of every CUDA device's default generator. Atomic like
// save_checkpoint.
void save_training_state(const std::filesystem::path& file,
                         const torch::optim::Optimizer& optimizer, const TrainingState& state);

// Restores what save_training_state saved: the optimizer state (matched to the
// optimizer's parameters by position, so build it over the model's parameters in the
// same order; its tensors are put on the parameters' device) and learning rates (its other options
// stay as constructed), the CPU generator state and, on a machine with CUDA, the CUDA generators'
// states (those of devices that are not present are skipped). Returns epoch and extra. A truncated,
// corrupt or foreign file, or an optimizer with other parameter groups or counts, is a
// greedyhash::Error naming the file.
TrainingState load_training_state(const std::filesystem::path& file,
                                  torch::optim::Optimizer& optimizer);

}  // namespace greedyhash
