#include "greedyhash/cli/trained_run.h"

#include "greedyhash/error.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/threads.h"

namespace greedyhash {

namespace {

// A --features run holds a feature hasher, which takes embeddings, not images.
void require_image_run(const Config& config) {
  if (!config.features.empty()) {
    throw Error("the run in " + run_folder(config).string() +
                " was trained on embeddings (--features " + config.features +
                "), not images; greedyhash_eval, _export and _index --features take it");
  }
}

}  // namespace

std::filesystem::path checkpoint_of(const RunFiles& files, const std::string& checkpoint) {
  return checkpoint.empty() ? default_checkpoint(files) : std::filesystem::path(checkpoint);
}

TrainedRun open_trained_run(const ConfigFlags& flags, const std::string& checkpoint) {
  const Config config = resolve_config(flags);
  require_image_run(config);
  configure_threads(static_cast<int>(config.threads));
  const c10::Device device = select_device(config.device);
  RunFiles files(run_folder(config));
  TrainedModel trained = load_trained_model(checkpoint_of(files, checkpoint), config.bit, device);
  EncodeOptions encode = prepare_encoder(trained.model, device, config.precision);
  return {config, device, std::move(files), std::move(trained), std::move(encode)};
}

TrainedModel open_trained_model_on_cpu(const ConfigFlags& flags, const std::string& checkpoint) {
  const Config config = resolve_config(flags);
  require_image_run(config);
  const RunFiles files(run_folder(config));
  return load_trained_model(checkpoint_of(files, checkpoint), config.bit, c10::Device(c10::kCPU));
}

void add_checkpoint_flag(CLI::App& app, std::string& checkpoint, const std::string& what_for) {
  app.add_option("--checkpoint", checkpoint,
                 "checkpoint " + what_for + " (default: " + kDefaultCheckpointRule + ")");
}

}  // namespace greedyhash
