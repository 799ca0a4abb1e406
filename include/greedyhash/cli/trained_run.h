#pragma once

#include <string>

#include <c10/core/Device.h>

#include "greedyhash/cli/config_flags.h"
#include "greedyhash/index/index_files.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/inference/trained_model.h"
#include "greedyhash/io/run_files.h"

namespace greedyhash {

// What the executables that use a trained run start from: its resolved config
// (ConfigBase::RunFolder, the flags applied), the intra-op threads configured, the device
// chosen, the run's files, the model of `checkpoint` (default: kDefaultCheckpointRule) on
// that device, and the encoder set-up every app shares (prepare_encoder: callers set
// only the transform of what they encode).
struct TrainedRun {
  Config config;
  c10::Device device;
  RunFiles files;
  TrainedModel trained;
  EncodeOptions encode;
};

TrainedRun open_trained_run(const ConfigFlags& flags, const std::string& checkpoint);

// An index file (greedyhash_index) with the run it was built from, for the apps that answer
// queries from it (greedyhash_search, greedyhash_serve): the run is the one the index's
// sidecar records unless the flags name another (--config, --output-dir, --bit), and its
// model is the checkpoint the index was built with, checked by SHA-256.
struct IndexedRun {
  IndexFiles index;
  TrainedRun run;
  std::string checkpoint_sha256;
};
IndexedRun open_indexed_run(ConfigFlags flags, const std::filesystem::path& index_file);

// The model of a run's checkpoint on the CPU, for greedyhash_export (no threads or device
// to choose).
TrainedModel open_trained_model_on_cpu(const ConfigFlags& flags, const std::string& checkpoint);

// The checkpoint an app uses: `checkpoint` (--checkpoint) when given, else
// default_checkpoint(files).
std::filesystem::path checkpoint_of(const RunFiles& files, const std::string& checkpoint);

// --checkpoint, with the default every app applies (kDefaultCheckpointRule) in its help.
void add_checkpoint_flag(CLI::App& app, std::string& checkpoint, const std::string& what_for);

}  // namespace greedyhash
