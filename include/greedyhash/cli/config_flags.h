#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "greedyhash/io/config.h"

namespace greedyhash {

// The flags every executable shares: --config FILE and one --kebab-case flag per config
// key, each overriding the key of the same name (snake_case) from the config.
struct ConfigFlags {
  std::string config_file;
  std::map<std::string, std::string> overrides;  // key name -> text given on the command line
};

void add_config_flags(CLI::App& app, ConfigFlags& flags);

// Where the base config comes from before the flags are applied.
enum class ConfigBase {
  // --config, else configs/cifar10-1_<bit>.json (bit from --bit, default 48).
  Preset,
  // The run folder's resolved config.json (<output_dir>/bit_<bit>/config.json), so that
  // eval/predict/export see exactly what training used; the preset when there is none.
  RunFolder,
};

Config resolve_config(const ConfigFlags& flags, ConfigBase base);

// configs/cifar10-1_<bit>.json, looked up in ./configs and in the source tree's configs/.
std::filesystem::path preset_config_path(int64_t bit);

// <output_dir>/bit_<bit>
std::filesystem::path run_folder(const Config& config);

}  // namespace greedyhash
