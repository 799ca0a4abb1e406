#pragma once

#include <filesystem>

#include <c10/core/Device.h>

#include "greedyhash/io/run_files.h"
#include "greedyhash/model/checkpoint.h"
#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {

// Which checkpoint the apps use unless told, in words for their --help.
inline constexpr const char* kDefaultCheckpointRule = "the run's best.pt, else last.pt";

// best.pt when the run has one, else last.pt; greedyhash::Error when it has neither.
std::filesystem::path default_checkpoint(const RunFiles& files);

struct TrainedModel {
  GreedyHash model{nullptr};
  CheckpointMeta meta;
  std::filesystem::path checkpoint;
};

// A sentence on how a checkpoint was chosen (CheckpointMeta::selection) for reports.
std::string selection_description(const std::string& selection);

// A model rebuilt from a checkpoint, in eval mode on `device`. A checkpoint for another
// bit length than `bits` is a one-line error naming both.
TrainedModel load_trained_model(const std::filesystem::path& checkpoint, int64_t bits,
                                c10::Device device);

}  // namespace greedyhash
