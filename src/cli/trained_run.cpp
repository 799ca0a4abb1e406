#include "greedyhash/cli/trained_run.h"

#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/threads.h"

namespace greedyhash {

TrainedRun open_trained_run(const ConfigFlags& flags, const std::string& checkpoint) {
  const Config config = resolve_config(flags, ConfigBase::RunFolder);
  configure_threads(static_cast<int>(config.threads));
  const c10::Device device = select_device(config.device);
  RunFiles files(run_folder(config));
  TrainedModel trained = load_trained_model(
      checkpoint.empty() ? default_checkpoint(files) : std::filesystem::path(checkpoint),
      config.bit, device);
  return {config, device, std::move(files), std::move(trained)};
}

}  // namespace greedyhash
