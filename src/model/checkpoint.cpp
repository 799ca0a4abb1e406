#include "greedyhash/model/checkpoint.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/serialize/state_dict.h"
#include "greedyhash/serialize/torch_save_file.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

// Every tensor the checkpoint holds: parameters, then buffers.
StateDict model_tensors(const GreedyHash& model) {
  StateDict tensors = model->named_parameters();
  for (const auto& buffer : model->named_buffers()) tensors.insert(buffer.key(), buffer.value());
  return tensors;
}

// Keys are C strings so that no call creates a temporary std::string: GCC 13+ flags a
// returned reference as dangling (-Wdangling-reference) whenever an argument is one.
const c10::IValue& entry(const TorchSaveDict& dict, const char* key, const fs::path& file) {
  const c10::IValue* value = dict.find(key);
  if (value == nullptr) {
    throw Error(file.string() + ": not a greedyhash checkpoint (no entry \"" + key + "\")");
  }
  return *value;
}

int64_t int_entry(const TorchSaveDict& dict, const char* key, const fs::path& file) {
  const auto& value = entry(dict, key, file);
  if (!value.isInt()) {
    throw Error(file.string() + ": not a greedyhash checkpoint (entry \"" + key +
                "\" is not an integer)");
  }
  return value.toInt();
}

CheckpointMeta parse_meta(const TorchSaveDict& dict, const fs::path& file) {
  const int64_t version = int_entry(dict, "format_version", file);
  if (version > kCheckpointFormatVersion) {
    throw Error(file.string() + ": checkpoint format version " + std::to_string(version) +
                " is newer than this greedyhash reads (" +
                std::to_string(kCheckpointFormatVersion) + "); use a newer greedyhash");
  }
  CheckpointMeta meta;
  meta.bits = int_entry(dict, "bit", file);
  meta.num_classes = int_entry(dict, "num_classes", file);
  meta.input_size = int_entry(dict, "input_size", file);
  meta.epoch = int_entry(dict, "epoch", file);
  const auto& map = entry(dict, "map", file);
  const auto& config = entry(dict, "config", file);
  if (!(map.isDouble() || map.isInt()) || !config.isString()) {
    throw Error(file.string() +
                ": not a greedyhash checkpoint (\"map\" must be a number, \"config\" a string)");
  }
  meta.map = map.isDouble() ? map.toDouble() : static_cast<double>(map.toInt());
  meta.config_json = config.toStringRef();
  if (version >= 2) {
    const auto& selection = entry(dict, "selection", file);
    if (!selection.isString()) {
      throw Error(file.string() + ": not a greedyhash checkpoint (\"selection\" must be a string)");
    }
    meta.selection = selection.toStringRef();
  } else {
    meta.selection = "query";
  }
  if (version >= 3) {
    const auto& backbone = entry(dict, "backbone", file);
    if (!backbone.isString()) {
      throw Error(file.string() + ": not a greedyhash checkpoint (\"backbone\" must be a string)");
    }
    meta.backbone = backbone.toStringRef();
  }
  return meta;
}

}  // namespace

void save_checkpoint(const fs::path& file, const GreedyHash& model, const CheckpointMeta& meta) {
  if (meta.bits != model->bits() || meta.num_classes != model->num_classes() ||
      meta.backbone != model->backbone->name()) {
    throw std::invalid_argument(
        "save_checkpoint: metadata says " + std::to_string(meta.bits) + " bits / " +
        std::to_string(meta.num_classes) + " classes / " + meta.backbone + " but the model has " +
        std::to_string(model->bits()) + " / " + std::to_string(model->num_classes()) + " / " +
        model->backbone->name());
  }
  TorchSaveDict entries("Entry");
  for (const auto& tensor : model_tensors(model)) entries.insert(tensor.key(), tensor.value());
  entries.insert("bit", meta.bits);
  entries.insert("num_classes", meta.num_classes);
  entries.insert("input_size", meta.input_size);
  entries.insert("epoch", meta.epoch);
  entries.insert("map", meta.map);
  entries.insert("config", meta.config_json);
  entries.insert("selection", meta.selection);
  entries.insert("backbone", meta.backbone);
  entries.insert("format_version", kCheckpointFormatVersion);
  write_torch_save_dict(file, entries);
}

CheckpointMeta read_checkpoint_meta(const fs::path& file) {
  return parse_meta(read_torch_save_dict(file, TensorData::kShapesOnly), file);
}

CheckpointMeta load_checkpoint(const fs::path& file, GreedyHash& model) {
  // Metadata first (the pickle only): a wrong checkpoint fails before ~230 MB are read.
  const CheckpointMeta meta = read_checkpoint_meta(file);
  const std::string name = file.string();
  if (meta.bits != model->bits()) {
    const std::string bits = std::to_string(meta.bits);
    throw Error("checkpoint " + name + " has " + bits + "-bit codes but --bit " +
                std::to_string(model->bits()) + " was requested; pass --bit " + bits +
                " or another checkpoint");
  }
  if (meta.num_classes != model->num_classes()) {
    throw Error("checkpoint " + name + " was trained for " + std::to_string(meta.num_classes) +
                " classes but the data set has " + std::to_string(model->num_classes()) +
                "; use a checkpoint trained on this data set");
  }
  if (meta.backbone != model->backbone->name()) {
    throw Error("checkpoint " + name + " holds a " + meta.backbone + " model but --backbone " +
                model->backbone->name() + " was requested; pass --backbone " + meta.backbone +
                " or another checkpoint");
  }
  const StateDict targets = model_tensors(model);
  StateDict source("Tensor");
  for (const auto& item : read_torch_save_dict(file)) {
    if (!item.value().isTensor()) continue;
    if (targets.find(item.key()) == nullptr) {
      throw Error(name + ": unexpected entry " + item.key() + " (not a parameter of the model)");
    }
    source.insert(item.key(), item.value().toTensor());
  }
  copy_named_tensors(source, targets, file);
  return meta;
}

}  // namespace greedyhash
