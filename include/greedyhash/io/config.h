#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace greedyhash {

// Everything a run is configured by. Defaults are the paper's CIFAR-10 (I) protocol
// (docs/PROTOCOL.md section 1.4); configs/cifar10-1_<bit>.json spell them out per bit length.
struct Config {
  int64_t bit = 48;
  std::string dataset = "cifar10-1";
  std::string data_dir = "data/cifar-10-batches-bin";
  int64_t input_size = 224;
  int64_t epochs = 50;
  int64_t batch_size = 32;
  double lr = 1e-3;
  int64_t lr_step = 30;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double alpha = 0.1;
  int64_t seed = 2000;
  int64_t eval_every = 2;
  std::string device = "auto";
  int64_t threads = 0;
  std::string output_dir = "output";
  std::string backbone = "alexnet";
  bool freeze_backbone = false;
  std::string pretrained = "auto";
  int64_t train_limit = 0;
  int64_t query_per_class = 0;
  int64_t train_per_class = 0;
  int64_t map_topk = 0;
  std::string precision = "fp32";
  int64_t val_per_class = 100;
  int64_t val_database_size = 0;
  std::string select = "validation";
  // How images reach the loader: "memory" (all decoded once, then gathered per batch),
  // "stream" (decoded batch by batch from their files by loader workers: memory does not
  // grow with the data set), or "auto": stream list-file data sets (ImageNet-100,
  // NUS-WIDE, MS-COCO: 22-30 GB decoded), hold CIFAR-10 (184 MB) in memory.
  std::string image_pipeline = "auto";
  // Streamed images: a packed copy (packed_images.h) to read instead of decoding JPEGs;
  // made on first use, refused when stale. "" = none.
  std::string image_cache;
  // The classification term on multi-label data (NUS-WIDE, MS-COCO): "bce" (sigmoid
  // binary cross-entropy over every label) or "argmax" (cross-entropy on each row's first
  // label, what the public implementations do; kept to reproduce them). Single-label data
  // always uses cross-entropy.
  std::string multi_label_loss = "bce";
  // "supervised" (docs/PROTOCOL.md section 1) or "unsupervised" (section 7: the hash layer
  // alone, on a frozen backbone's features or on an embedding matrix).
  std::string method = "supervised";
  std::string features;  // an embedding folder (train.npy, ...) instead of images; "" = images
  // Dropout on the features while training unsupervised; < 0: the method's default (0.5 on
  // images, what the official code's VGG-16 applies after fc7; 0 on embeddings).
  double feature_dropout = -1;
  // Unsupervised: keep the similarities of the features minus their mean (non-negative
  // features, such as pixels, are all alike by cosine before centring).
  bool center_features = false;
  std::string comment;  // free text about the config or run; saved with it, else unused
};

enum class ConfigType { Int, Float, String, Bool };

// The executables, as bits of a set: which of them take a key as a flag. greedyhash_train
// takes every key; the others read a trained run's config.json and take only the keys
// that change what they do (a training key given to them is an error, not ignored).
enum ConfigApp : unsigned {
  kTrainApp = 1u << 0,
  kEvalApp = 1u << 1,
  kPredictApp = 1u << 2,
  kExportApp = 1u << 3,
  kIndexApp = 1u << 4,
  kSearchApp = 1u << 5,
};

// One configuration key: its JSON name (snake_case; the command-line flag is the
// kebab-case form), type, help text, and how to read and write it on a Config. The
// table of keys is the single place a key is defined: JSON parsing, validation, flags
// and --help are all derived from it.
struct ConfigKey {
  std::string name;
  ConfigType type;
  std::string help;
  std::function<void(Config&, const nlohmann::json&)> set;
  std::function<nlohmann::json(const Config&)> get;
  unsigned apps = kTrainApp;  // the ConfigApp set that takes it as a flag
};

const std::vector<ConfigKey>& config_keys();

// "data_dir" -> "data-dir".
std::string flag_name(const std::string& key);

// Applies the keys of a JSON object onto `config`. Unknown keys, values of the wrong
// type and out-of-range values throw greedyhash::Error naming the key and `source`
// (a file name or "command line").
void apply_config_json(Config& config, const nlohmann::json& object, const std::string& source);

// Parses a value given on the command line for `key` ("48", "1e-3", "output").
nlohmann::json parse_config_value(const ConfigKey& key, const std::string& text);

// Reads a config file; a missing file, malformed JSON or a bad key is one-line error.
Config load_config(const std::filesystem::path& path);

// The bounds of the numeric keys that do not depend on the data: what AlexNet and this
// machine can take. Checked with every config, before any work starts.
inline constexpr int64_t kMaxInputSize = 1024;
inline constexpr int64_t kMaxBatchSize = 65536;
inline constexpr int64_t kMaxEpochs = 100000;
inline constexpr int64_t kMaxCount = int64_t{1} << 40;  // image counts and per-class counts
// Intra-op threads: this many per hardware thread at most. More only adds switching; far
// more (thousands) stalls the machine before the first step.
inline constexpr int64_t kThreadsPerCore = 4;
int64_t max_threads();

// Range checks across all keys; throws naming the key and source.
void validate_config(const Config& config, const std::string& source);

nlohmann::json config_to_json(const Config& config);

}  // namespace greedyhash
