#include "greedyhash/io/config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "greedyhash/error.h"

namespace greedyhash {

using json = nlohmann::json;

namespace {

const char* type_name(ConfigType type) {
  switch (type) {
    case ConfigType::Int:
      return "an integer";
    case ConfigType::Float:
      return "a number";
    case ConfigType::String:
      return "a string";
  }
  return "?";
}

bool has_type(const json& value, ConfigType type) {
  switch (type) {
    case ConfigType::Int:
      return value.is_number_integer();
    case ConfigType::Float:
      return value.is_number();
    case ConfigType::String:
      return value.is_string();
  }
  return false;
}

template <typename T>
ConfigKey key(std::string name, ConfigType type, std::string help, T Config::*member) {
  return ConfigKey{std::move(name), type, std::move(help),
                   [member](Config& c, const json& v) { c.*member = v.get<T>(); },
                   [member](const Config& c) { return json(c.*member); }};
}

std::vector<ConfigKey> make_keys() {
  using T = ConfigType;
  return {
      key("bit", T::Int, "code length K in bits (1..1024; the paper uses 12/24/32/48)",
          &Config::bit),
      key("dataset", T::String,
          "cifar10-1 (CIFAR-10 (I)), cifar10-2 (CIFAR-10 (II)), cifar10 (database without "
          "train), or list (train.txt/test.txt/database.txt in data_dir)",
          &Config::dataset),
      key("data_dir", T::String,
          "data set: a folder (CIFAR-10 binary or image-folder layout, or list files) or a "
          ".tar.gz of one",
          &Config::data_dir),
      key("input_size", T::Int, "side S of the square network input (>= 63; paper: 224)",
          &Config::input_size),
      key("epochs", T::Int, "training epochs", &Config::epochs),
      key("batch_size", T::Int, "images per SGD step", &Config::batch_size),
      key("lr", T::Float, "SGD learning rate", &Config::lr),
      key("lr_step", T::Int, "multiply the learning rate by 0.1 every this many epochs",
          &Config::lr_step),
      key("momentum", T::Float, "SGD momentum", &Config::momentum),
      key("weight_decay", T::Float, "SGD weight decay", &Config::weight_decay),
      key("alpha", T::Float, "weight of the quantisation term mean(| |h| - 1 |^3)", &Config::alpha),
      key("seed", T::Int, "seed of the split, the shuffling and the initialisation", &Config::seed),
      key("eval_every", T::Int,
          "during training, evaluate every N epochs and after the last, on the set --select "
          "names, to choose best.pt (0 = never: best.pt is not written)",
          &Config::eval_every),
      key("device", T::String, "auto, cpu, cuda or cuda:N", &Config::device),
      key("threads", T::Int, "CPU threads (0 = one per core)", &Config::threads),
      key("output_dir", T::String, "folder under which the run folder bit_<K>/ is made",
          &Config::output_dir),
      key("pretrained", T::String,
          "torchvision's ImageNet AlexNet weights (alexnet-owt-7be5be79.pth): a path, auto = "
          "torchvision's cache ($TORCH_HOME/hub/checkpoints) when the file is there, empty = "
          "random init",
          &Config::pretrained),
      key("train_limit", T::Int,
          "train on N of the training images, a subset drawn with the seed (0 = all)",
          &Config::train_limit),
      key("query_per_class", T::Int,
          "CIFAR splits: query images per class (0 = the protocol's: 100, or 1000 for cifar10-2)",
          &Config::query_per_class),
      key("train_per_class", T::Int,
          "CIFAR splits: training images per class (0 = the protocol's: 500, or 5000 for "
          "cifar10-2)",
          &Config::train_per_class),
      key("map_topk", T::Int, "report mAP@K: only the top K ranked database items count (0 = all)",
          &Config::map_topk),
      key("precision", T::String, "fp32 or bf16 (autocast on CUDA and AVX512-BF16 CPUs)",
          &Config::precision),
      key("val_per_class", T::Int,
          "validation queries per class for choosing best.pt, drawn from the database images "
          "outside the train list and ranked against the rest of the database (0 = none)",
          &Config::val_per_class),
      key("val_database_size", T::Int,
          "rank validation queries against N evenly spaced database images, for a cheaper "
          "evaluation during training (0 = the whole database)",
          &Config::val_database_size),
      key("select", T::String,
          "what best.pt is chosen on: validation (held-out queries), or query (the test "
          "queries, as the public implementations do; biases the reported mAP upwards)",
          &Config::select),
      key("comment", T::String,
          "free text about the config or run, saved with it (no effect on training)",
          &Config::comment),
  };
}

const ConfigKey& find_key(const std::string& name, const std::string& source) {
  const auto& keys = config_keys();
  const auto it =
      std::find_if(keys.begin(), keys.end(), [&](const ConfigKey& k) { return k.name == name; });
  if (it == keys.end()) {
    std::string known;
    for (const auto& k : keys) known += (known.empty() ? "" : ", ") + k.name;
    throw Error(source + ": unknown config key '" + name + "' (known keys: " + known + ")");
  }
  return *it;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read config file " + path.string() + ": no such file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = make_keys();
  return keys;
}

std::string flag_name(const std::string& key) {
  std::string flag = key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

void apply_config_json(Config& config, const json& object, const std::string& source) {
  if (!object.is_object()) {
    throw Error(source + ": a config must be a JSON object of key: value pairs");
  }
  for (const auto& [name, value] : object.items()) {
    const auto& k = find_key(name, source);
    if (!has_type(value, k.type)) {
      throw Error(source + ": config key '" + name + "' must be " + type_name(k.type) + ", got " +
                  value.dump());
    }
    k.set(config, value);
  }
  validate_config(config, source);
}

json parse_config_value(const ConfigKey& k, const std::string& text) {
  if (k.type == ConfigType::String) return json(text);
  std::size_t used = 0;
  try {
    json value =
        k.type == ConfigType::Int ? json(std::stoll(text, &used)) : json(std::stod(text, &used));
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error("command line: --" + flag_name(k.name) + " must be " + type_name(k.type) + ", got '" +
              text + "'");
}

Config load_config(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  json object;
  try {
    object = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error("config file " + path.string() + " is not valid JSON (byte " +
                std::to_string(e.byte) + "); fix the syntax or pass another --config");
  } catch (const json::exception& e) {
    // A number beyond a double's range ("1e800") is an out_of_range, not a parse_error.
    throw Error("config file " + path.string() + " is not valid JSON (" + e.what() +
                "); fix it or pass another --config");
  }
  Config config;
  apply_config_json(config, object, "config file " + path.string());
  return config;
}

void validate_config(const Config& c, const std::string& source) {
  const auto fail = [&](const std::string& key, const std::string& what) {
    throw Error(source + ": config key '" + key + "' " + what);
  };
  if (c.bit < 1 || c.bit > 1024) fail("bit", "must be in 1..1024, got " + std::to_string(c.bit));
  if (c.input_size < 63) fail("input_size", "must be >= 63 (AlexNet's smallest input)");
  if (c.epochs < 0) fail("epochs", "must be >= 0");
  if (c.batch_size < 1) fail("batch_size", "must be >= 1");
  if (!(c.lr > 0)) fail("lr", "must be > 0");
  if (c.lr_step < 1) fail("lr_step", "must be >= 1");
  if (c.momentum < 0 || c.momentum >= 1) fail("momentum", "must be in [0, 1)");
  if (c.weight_decay < 0) fail("weight_decay", "must be >= 0");
  if (c.alpha < 0) fail("alpha", "must be >= 0");
  if (c.seed < 0) fail("seed", "must be >= 0");
  if (c.eval_every < 0) fail("eval_every", "must be >= 0");
  if (c.threads < 0) fail("threads", "must be >= 0 (0 = one per core)");
  if (c.train_limit < 0) fail("train_limit", "must be >= 0 (0 = all)");
  if (c.query_per_class < 0) fail("query_per_class", "must be >= 0 (0 = the protocol's)");
  if (c.train_per_class < 0) fail("train_per_class", "must be >= 0 (0 = the protocol's)");
  if (c.map_topk < 0) fail("map_topk", "must be >= 0 (0 = all)");
  if (c.output_dir.empty()) fail("output_dir", "must not be empty");
  if (c.precision != "fp32" && c.precision != "bf16") fail("precision", "must be fp32 or bf16");
  if (c.val_per_class < 0) fail("val_per_class", "must be >= 0 (0 = no validation set)");
  if (c.val_database_size < 0) fail("val_database_size", "must be >= 0 (0 = the whole database)");
  if (c.select != "validation" && c.select != "query") {
    fail("select", "must be validation or query; got '" + c.select + "'");
  }
  static const std::vector<std::string> datasets = {"cifar10-1", "cifar10-2", "cifar10", "list"};
  if (std::find(datasets.begin(), datasets.end(), c.dataset) == datasets.end()) {
    fail("dataset", "must be one of cifar10-1, cifar10-2, cifar10, list; got '" + c.dataset + "'");
  }
}

json config_to_json(const Config& config) {
  json object = json::object();
  for (const auto& k : config_keys()) object[k.name] = k.get(config);
  return object;
}

}  // namespace greedyhash
