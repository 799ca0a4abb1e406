#include "greedyhash/io/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

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
    case ConfigType::Bool:
      return "true or false";
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
    case ConfigType::Bool:
      return value.is_boolean();
  }
  return false;
}

template <typename T>
ConfigKey key(std::string name, ConfigType type, std::string help, T Config::*member,
              unsigned apps = kTrainApp) {
  return ConfigKey{std::move(name),
                   type,
                   std::move(help),
                   [member](Config& c, const json& v) { c.*member = v.get<T>(); },
                   [member](const Config& c) { return json(c.*member); },
                   apps};
}

// Which apps take the keys that are not training's alone.
constexpr unsigned kEveryApp =
    kTrainApp | kEvalApp | kPredictApp | kExportApp | kIndexApp | kSearchApp;
constexpr unsigned kEncodingApps = kTrainApp | kEvalApp | kPredictApp | kIndexApp | kSearchApp;

std::vector<ConfigKey> make_keys() {
  using T = ConfigType;
  return {
      key("bit", T::Int, "code length K in bits (1..1024; the paper uses 12/24/32/48)",
          &Config::bit, kEveryApp),
      key("dataset", T::String,
          "cifar10-1 (CIFAR-10 (I)), cifar10-2 (CIFAR-10 (II)), cifar10 (database without "
          "train), or list (train.txt/test.txt/database.txt in data_dir)",
          &Config::dataset),
      key("data_dir", T::String,
          "data set: a folder (CIFAR-10 binary or image-folder layout, or list files) or a "
          ".tar.gz of one",
          &Config::data_dir, kEncodingApps),
      key("input_size", T::Int, "side S of the square network input (63..1024; paper: 224)",
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
      key("device", T::String, "auto, cpu, cuda or cuda:N", &Config::device, kEncodingApps),
      key("threads", T::Int, "CPU threads (0 = one per core; at most 4 per core)", &Config::threads,
          kEncodingApps),
      key("output_dir", T::String, "folder under which the run folder bit_<K>/ is made",
          &Config::output_dir, kEveryApp),
      key("backbone", T::String,
          "alexnet, vgg16, resnet18, resnet34, resnet50 or resnet101 (torchvision's "
          "architectures; the hash layer takes fc7's 4096 features or the ResNet's pooled "
          "512 / 2048); recorded in the checkpoint",
          &Config::backbone),
      key("freeze_backbone", T::Bool,
          "train only the hash layer and the code classifier: the backbone keeps its "
          "(pretrained) weights, runs in eval mode (no dropout, BatchNorm on its running "
          "statistics) and keeps no gradients or momentum",
          &Config::freeze_backbone),
      key("pretrained", T::String,
          "torchvision's ImageNet weights of the backbone (alexnet-owt-7be5be79.pth, "
          "vgg16-397923af.pth, resnet50-0676ba61.pth, ...): a path, auto = torchvision's cache "
          "($TORCH_HOME/hub/checkpoints) when the file is there, empty = random init",
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
          &Config::map_topk, kTrainApp | kEvalApp),
      key("precision", T::String, "fp32 or bf16 (autocast on CUDA and AVX512-BF16 CPUs)",
          &Config::precision, kEncodingApps),
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
      key("image_pipeline", T::String,
          "memory (decode every image once and hold it), stream (decode batch by batch from the "
          "files with one worker per core; memory stays flat however large the data set; the "
          "random crop spans the whole resized image), or auto (stream list-file data sets, "
          "hold CIFAR-10 in memory)",
          &Config::image_pipeline),
      key("image_cache", T::String,
          "streamed images: a file holding them decoded and resized, read through mmap so "
          "that epochs and evaluations skip JPEG decoding (about 260 KB per image at 256 px); "
          "made on first use, refused when the images changed (empty = none)",
          &Config::image_cache, kTrainApp | kEvalApp),
      key("multi_label_loss", T::String,
          "multi-label data: bce (sigmoid cross-entropy over every label; default) or argmax "
          "(softmax cross-entropy on the first label of each image only, as DeepHash-pytorch "
          "trains GreedyHash; to reproduce its numbers)",
          &Config::multi_label_loss),
      key("method", T::String,
          "supervised (classifier on the codes, labels needed) or unsupervised (the hash layer "
          "alone learns to keep the features' cosine similarities; on a frozen backbone's "
          "features, computed once, or on --features)",
          &Config::method),
      key("features", T::String,
          "unsupervised on embeddings: a folder with train.npy, query.npy, database.npy "
          "(float32/float16, N x D) and optional query_labels.npy, database_labels.npy; no "
          "images or backbone",
          &Config::features, kTrainApp | kEvalApp),
      key("feature_dropout", T::Float,
          "unsupervised: dropout on the features during training (-1 = 0.5 on images, as the "
          "official code's VGG-16 drops fc7 in train mode; 0 on --features)",
          &Config::feature_dropout),
      key("center_features", T::Bool,
          "unsupervised: subtract the training features' mean before the loss compares "
          "cosine similarities (folded into the saved bias: the layer still takes raw "
          "features); on in configs/features_unsupervised.json, off for the paper's setting",
          &Config::center_features),
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
  if (k.type == ConfigType::Bool) {
    if (text == "true" || text == "1") return json(true);
    if (text == "false" || text == "0") return json(false);
    throw Error("command line: --" + flag_name(k.name) + " must be true or false, got '" + text +
                "'");
  }
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

int64_t max_threads() {
  const auto cores = static_cast<int64_t>(std::thread::hardware_concurrency());
  return kThreadsPerCore * std::max<int64_t>(cores, 1);
}

void validate_config(const Config& c, const std::string& source) {
  const auto fail = [&](const std::string& key, const std::string& what) {
    throw Error(source + ": config key '" + key + "' " + what);
  };
  // "must be in lo..hi<why>, got v" for an integer key outside [lo, hi].
  const auto bound = [&](const std::string& key, int64_t value, int64_t lo, int64_t hi,
                         const std::string& why = "") {
    if (value < lo || value > hi) {
      fail(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + why + ", got " +
                    std::to_string(value));
    }
  };
  // NaN fails every comparison, so each check is written to fail on it.
  const auto finite_at_least = [&](const std::string& key, double value, double lo) {
    if (!(std::isfinite(value) && value >= lo)) {
      fail(key, "must be a finite number >= " + json(lo).dump() + ", got " + json(value).dump());
    }
  };
  bound("bit", c.bit, 1, 1024);
  bound("input_size", c.input_size, 63, kMaxInputSize,
        " (AlexNet's smallest input is 63 px; the paper uses 224)");
  if (c.backbone.empty()) fail("backbone", "must not be empty");
  bound("epochs", c.epochs, 0, kMaxEpochs);
  bound("batch_size", c.batch_size, 1, kMaxBatchSize);
  if (!(std::isfinite(c.lr) && c.lr > 0)) fail("lr", "must be a finite number > 0");
  bound("lr_step", c.lr_step, 1, kMaxEpochs);
  if (!(c.momentum >= 0 && c.momentum < 1)) fail("momentum", "must be in [0, 1)");
  finite_at_least("weight_decay", c.weight_decay, 0);
  finite_at_least("alpha", c.alpha, 0);
  if (c.seed < 0) fail("seed", "must be >= 0");
  bound("eval_every", c.eval_every, 0, kMaxEpochs);
  bound("threads", c.threads, 0, max_threads(),
        " (0 = one per core; at most " + std::to_string(kThreadsPerCore) +
            " per hardware thread of this machine)");
  bound("train_limit", c.train_limit, 0, kMaxCount, " (0 = all)");
  bound("query_per_class", c.query_per_class, 0, kMaxCount, " (0 = the protocol's)");
  bound("train_per_class", c.train_per_class, 0, kMaxCount, " (0 = the protocol's)");
  bound("map_topk", c.map_topk, 0, kMaxCount, " (0 = all)");
  if (c.output_dir.empty()) fail("output_dir", "must not be empty");
  if (c.precision != "fp32" && c.precision != "bf16") fail("precision", "must be fp32 or bf16");
  bound("val_per_class", c.val_per_class, 0, kMaxCount, " (0 = no validation set)");
  bound("val_database_size", c.val_database_size, 0, kMaxCount, " (0 = the whole database)");
  if (c.select != "validation" && c.select != "query") {
    fail("select", "must be validation or query; got '" + c.select + "'");
  }
  if (c.image_pipeline != "auto" && c.image_pipeline != "memory" && c.image_pipeline != "stream") {
    fail("image_pipeline", "must be auto, memory or stream; got '" + c.image_pipeline + "'");
  }
  if (c.multi_label_loss != "bce" && c.multi_label_loss != "argmax") {
    fail("multi_label_loss", "must be bce or argmax; got '" + c.multi_label_loss + "'");
  }
  if (c.method != "supervised" && c.method != "unsupervised") {
    fail("method", "must be supervised or unsupervised; got '" + c.method + "'");
  }
  if (!(c.feature_dropout == -1 || (c.feature_dropout >= 0 && c.feature_dropout < 1))) {
    fail("feature_dropout",
         "must be -1 (the method's default) or in [0, 1), got " + json(c.feature_dropout).dump());
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
