#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <CLI/CLI.hpp>

#include "greedyhash/io/config.h"

namespace greedyhash {

// Where the base config comes from before the flags are applied.
enum class ConfigBase {
  // --config, else configs/cifar10-1_<bit>.json (bit from --bit, default 48).
  Preset,
  // --config, else the run folder's resolved config.json (<output_dir>/bit_<bit>/config.json),
  // so that eval/predict/export see exactly what training used; the preset when there is
  // none.
  RunFolder,
};

// The flags the executables share: --config FILE and one --kebab-case flag per config key
// the executable takes (ConfigKey::apps), each overriding the key of the same name
// (snake_case) from the config.
struct ConfigFlags {
  ConfigBase base = ConfigBase::Preset;  // greedyhash_train's; the other apps' RunFolder
  std::string config_file;
  std::map<std::string, std::string> overrides;  // key name -> text given on the command line
};

// Adds --config and the flags of the keys `app_id` (one ConfigApp) takes; greedyhash_train
// starts from the preset, the others from the run's config.json. The flags of the other
// keys are accepted by the parser only to fail with a greedyhash::Error saying that this
// app does not take them, instead of ignoring them; --help does not list them. The keys in
// `own_flags` get no flag: the app defines one of that name with another meaning.
void add_config_flags(CLI::App& app, ConfigFlags& flags, ConfigApp app_id,
                      const std::set<std::string>& own_flags = {});

// What --config's help says the default is, for the base each app uses.
std::string config_default_description(ConfigBase base);

Config resolve_config(const ConfigFlags& flags);

// configs/cifar10-1_<bit>.json (with `features`: configs/features_unsupervised.json, for
// any bit length), looked up in ./configs and in the source tree's configs/.
std::filesystem::path preset_config_path(int64_t bit, bool features = false);

// <output_dir>/bit_<bit>
std::filesystem::path run_folder(const Config& config);

}  // namespace greedyhash
