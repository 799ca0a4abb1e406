#include "greedyhash/cli/config_flags.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "greedyhash/error.h"

namespace greedyhash {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const ConfigKey& key_named(const std::string& name) {
  for (const auto& k : config_keys()) {
    if (k.name == name) return k;
  }
  throw std::logic_error("no config key " + name);
}

const char* app_name(ConfigApp app) {
  switch (app) {
    case kTrainApp:
      return "greedyhash_train";
    case kEvalApp:
      return "greedyhash_eval";
    case kPredictApp:
      return "greedyhash_predict";
    case kExportApp:
      return "greedyhash_export";
    case kIndexApp:
      return "greedyhash_index";
    case kSearchApp:
      return "greedyhash_search";
  }
  return "this app";
}

int64_t override_or(const ConfigFlags& flags, const std::string& name, int64_t fallback) {
  const auto it = flags.overrides.find(name);
  if (it == flags.overrides.end()) return fallback;
  return parse_config_value(key_named(name), it->second).get<int64_t>();
}

}  // namespace

std::string config_default_description(ConfigBase base) {
  const std::string preset = "configs/cifar10-1_<bit>.json";
  return base == ConfigBase::Preset
             ? preset
             : "the run's config.json (<output-dir>/bit_<bit>/config.json), else " + preset;
}

void add_config_flags(CLI::App& app, ConfigFlags& flags, ConfigApp app_id,
                      const std::set<std::string>& own_flags) {
  flags.base = app_id == kTrainApp ? ConfigBase::Preset : ConfigBase::RunFolder;
  std::string help = "JSON config file (default: " + config_default_description(flags.base);
  if (app_id == kTrainApp)
    help += "; with --resume, " + config_default_description(ConfigBase::RunFolder);
  app.add_option("--config", flags.config_file, help + ")")->check(CLI::ExistingFile);
  for (const auto& k : config_keys()) {
    const std::string name = k.name;
    const std::string flag = "--" + flag_name(name);
    if (own_flags.count(name) > 0) continue;
    if ((k.apps & app_id) == 0) {
      // Hidden (empty group), and an error when given.
      const std::string message = flag + " is a setting " + app_name(app_id) +
                                  " does not take (it reads the trained run's config.json); " +
                                  "it belongs to greedyhash_train";
      app.add_option_function<std::string>(
             flag, [message](const std::string&) -> void { throw Error(message); })
          ->group("");
      continue;
    }
    const bool is_switch = k.type == ConfigType::Bool;
    auto* option = app.add_option_function<std::string>(
        flag,
        [&flags, name, is_switch](const std::string& v) {
          // A switch given alone reaches here with no value: it means true.
          flags.overrides[name] = is_switch && v.empty() ? "true" : v;
        },
        k.help);
    option->type_name(k.type == ConfigType::String ? "TEXT"
                      : k.type == ConfigType::Int  ? "INT"
                      : k.type == ConfigType::Bool ? "[true|false]"
                                                   : "NUMBER");
    if (is_switch) option->expected(0, 1);
  }
}

fs::path preset_config_path(int64_t bit, bool features) {
  const std::string file =
      features ? "features_unsupervised.json" : "cifar10-1_" + std::to_string(bit) + ".json";
  for (const fs::path& folder :
       {fs::path("configs"), fs::path(GREEDYHASH_SOURCE_DIR) / "configs"}) {
    if (fs::exists(folder / file)) return folder / file;
  }
  throw Error("no preset config " + file + " in ./configs or " + GREEDYHASH_SOURCE_DIR +
              "/configs; pass --config FILE (configs/ has cifar10-1 presets for 12, 24, 32 and 48 "
              "bits, and imagenet100, nuswide21 and coco presets for 16, 32, 48 and 64)");
}

fs::path run_folder(const Config& config) {
  return fs::path(config.output_dir) / ("bit_" + std::to_string(config.bit));
}

Config resolve_config(const ConfigFlags& flags) {
  json overrides = json::object();
  for (const auto& [name, text] : flags.overrides) {
    overrides[name] = parse_config_value(key_named(name), text);
  }

  Config config;
  bool from_run = false;
  if (flags.base == ConfigBase::RunFolder && flags.config_file.empty()) {
    Config probe;
    probe.bit = override_or(flags, "bit", probe.bit);
    if (const auto it = flags.overrides.find("output_dir"); it != flags.overrides.end()) {
      probe.output_dir = it->second;
    }
    const auto resolved = run_folder(probe) / "config.json";
    if (fs::exists(resolved)) {
      config = load_config(resolved);
      from_run = true;
    }
  }
  if (!from_run) {
    const auto features = flags.overrides.find("features");
    const bool on_features = features != flags.overrides.end() && !features->second.empty();
    config =
        load_config(flags.config_file.empty()
                        ? preset_config_path(override_or(flags, "bit", Config{}.bit), on_features)
                        : fs::path(flags.config_file));
  }
  apply_config_json(config, overrides, "command line");
  return config;
}

}  // namespace greedyhash
