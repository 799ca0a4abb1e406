#include "greedyhash/model/feature_hasher.h"

#include <ATen/ATen.h>

#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/model/greedy_sign.h"
#include "greedyhash/serialize/state_dict.h"
#include "greedyhash/serialize/torch_save_file.h"

namespace greedyhash {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kFormatVersion = 1;
constexpr const char* kKind = "feature_hasher";

int64_t int_entry(const TorchSaveDict& dict, const char* key, const fs::path& file) {
  const c10::IValue* value = dict.find(key);
  if (value == nullptr || !value->isInt()) {
    throw Error(file.string() + ": not a greedyhash feature-hasher checkpoint (no integer \"" +
                key + "\")");
  }
  return value->toInt();
}

}  // namespace

FeatureHasherImpl::FeatureHasherImpl(int64_t input_dim, int64_t bits)
    : input_dim_(input_dim), bits_(bits) {
  hash_layer = register_module("hash_layer", torch::nn::Linear(input_dim, bits));
}

FeatureHasherImpl::Output FeatureHasherImpl::forward(const torch::Tensor& features) {
  Output out;
  out.h = hash_layer->forward(features);
  out.codes = greedy_sign(out.h);
  return out;
}

void save_feature_hasher(const fs::path& file, const FeatureHasher& model,
                         const FeatureHasherMeta& meta) {
  TorchSaveDict entries("Entry");
  for (const auto& parameter : model->named_parameters()) {
    entries.insert(parameter.key(), parameter.value().detach());
  }
  entries.insert("bit", meta.bits);
  entries.insert("input_dim", meta.input_dim);
  entries.insert("epoch", meta.epoch);
  entries.insert("config", meta.config_json);
  entries.insert("kind", std::string(kKind));
  entries.insert("format_version", kFormatVersion);
  write_torch_save_dict(file, entries);
}

FeatureHasher load_feature_hasher(const fs::path& file, int64_t bits, FeatureHasherMeta* meta) {
  if (!fs::exists(file)) throw Error("no checkpoint " + file.string() + "; train first");
  const TorchSaveDict dict = read_torch_save_dict(file);
  const c10::IValue* kind = dict.find("kind");
  if (kind == nullptr || !kind->isString() || kind->toStringRef() != kKind) {
    throw Error(file.string() +
                ": not a feature-hasher checkpoint (an image model's? this run trains on "
                "--features)");
  }
  if (int_entry(dict, "format_version", file) > kFormatVersion) {
    throw Error(file.string() + ": written by a newer greedyhash; use a newer greedyhash");
  }
  FeatureHasherMeta read;
  read.bits = int_entry(dict, "bit", file);
  read.input_dim = int_entry(dict, "input_dim", file);
  read.epoch = int_entry(dict, "epoch", file);
  if (const c10::IValue* config = dict.find("config"); config != nullptr && config->isString()) {
    read.config_json = config->toStringRef();
  }
  if (read.bits != bits) {
    throw Error("checkpoint " + file.string() + " has " + std::to_string(read.bits) +
                "-bit codes but --bit " + std::to_string(bits) + " was requested; pass --bit " +
                std::to_string(read.bits));
  }
  if (read.bits < 1 || read.input_dim < 1) {
    throw Error(file.string() + ": bit and input_dim must be >= 1");
  }
  FeatureHasher model(read.input_dim, read.bits);
  StateDict source("Tensor");
  for (const auto& item : dict) {
    if (item.value().isTensor()) source.insert(item.key(), item.value().toTensor());
  }
  copy_named_tensors(source, model->named_parameters(), file);
  model->eval();
  if (meta != nullptr) *meta = read;
  return model;
}

void save_hash_layer_npy(const FeatureHasher& model, const fs::path& weight_file,
                         const fs::path& bias_file) {
  save_npy(weight_file, model->hash_layer->weight.detach().to(at::kFloat));
  save_npy(bias_file, model->hash_layer->bias.detach().to(at::kFloat));
}

}  // namespace greedyhash
