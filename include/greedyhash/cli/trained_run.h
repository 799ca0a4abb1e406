#pragma once

#include <string>

#include <c10/core/Device.h>

#include "greedyhash/cli/config_flags.h"
#include "greedyhash/train/trained_model.h"
#include "greedyhash/train/trainer.h"

namespace greedyhash {

// What the executables that use a trained run start from: its resolved config
// (ConfigBase::RunFolder, the flags applied), the intra-op threads configured, the device
// chosen, the run's files, and the model of `checkpoint` (default: the run's best.pt,
// else last.pt) on that device.
struct TrainedRun {
  Config config;
  c10::Device device;
  RunFiles files;
  TrainedModel trained;
};

TrainedRun open_trained_run(const ConfigFlags& flags, const std::string& checkpoint);

}  // namespace greedyhash
