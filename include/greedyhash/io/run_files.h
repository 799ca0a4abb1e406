#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace greedyhash {

// File names inside a run folder.
struct RunFiles {
  explicit RunFiles(std::filesystem::path run_dir);
  std::filesystem::path dir;
  std::filesystem::path config;   // config.json: the resolved config
  std::filesystem::path last;     // last.pt: weights after the latest epoch
  std::filesystem::path best;     // best.pt: weights of the selected epoch (see Selection)
  std::filesystem::path metrics;  // metrics.jsonl: one JSON object per epoch
  std::filesystem::path log;      // train.log
  std::filesystem::path lock;     // train.lock: held by the one training run writing here
  // last_state-<epoch>.pt: optimiser and RNG state for --resume after `epoch`. Each epoch
  // writes its own before last.pt moves to that epoch, and the older ones go after: a kill
  // at any point leaves last.pt beside the state of its own epoch.
  std::filesystem::path state(int64_t epoch) const;
};

// Removes the resume states (last_state-<epoch>.pt, and the older last_state.pt) other
// than `epoch`'s; -1 removes all.
void remove_resume_states_except(const RunFiles& files, int64_t epoch);

// metrics.jsonl holding `records`, one JSON object per line, written atomically.
void write_metrics(const RunFiles& files, const std::vector<nlohmann::json>& records);

}  // namespace greedyhash
