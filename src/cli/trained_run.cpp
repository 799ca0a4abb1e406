#include "greedyhash/cli/trained_run.h"

#include "greedyhash/error.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/serialize/sha256.h"

namespace greedyhash {

namespace {

// The run the index was built from, unless the command line names one.
void default_to_index_run(ConfigFlags& flags, const IndexManifest& manifest) {
  if (!flags.config_file.empty()) return;
  if (flags.overrides.count("output_dir") == 0) {
    flags.overrides["output_dir"] = std::filesystem::path(manifest.run_dir).parent_path().string();
  }
  if (flags.overrides.count("bit") == 0) flags.overrides["bit"] = std::to_string(manifest.bits);
}

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

IndexedRun open_indexed_run(ConfigFlags flags, const std::filesystem::path& index_file) {
  IndexFiles index = read_index_files(index_file);
  const IndexManifest& manifest = index.manifest;
  default_to_index_run(flags, manifest);
  if (!std::filesystem::exists(manifest.checkpoint)) {
    throw Error("checkpoint " + manifest.checkpoint + ", which index " + index_file.string() +
                " was built with, is missing; rebuild the index with greedyhash_index");
  }
  TrainedRun run = open_trained_run(flags, manifest.checkpoint);
  std::string checkpoint_sha256 = file_sha256_hex(run.trained.checkpoint);
  check_index_matches_model(manifest, index_file, static_cast<int>(run.trained.meta.bits),
                            checkpoint_sha256);
  return {std::move(index), std::move(run), std::move(checkpoint_sha256)};
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
