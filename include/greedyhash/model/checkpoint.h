#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {

// Version of the checkpoint layout below; readers refuse newer ones.
inline constexpr int64_t kCheckpointFormatVersion = 3;

// What a checkpoint records besides the weights.
struct CheckpointMeta {
  int64_t bits = 0;         // code length K (entry "bit")
  int64_t num_classes = 0;  // C (entry "num_classes")
  int64_t input_size = 0;   // image side the model was trained at (entry "input_size")
  int64_t epoch = 0;        // epochs completed (entry "epoch")
  // mAP at that epoch on the set the run selects on (its config's "select"), NaN when
  // that epoch was not evaluated (entry "map").
  double map = 0.0;
  std::string config_json;  // the resolved run config, as JSON text (entry "config")
  // How this checkpoint was chosen (entry "selection"): "validation" (best.pt: highest
  // mAP of held-out validation queries), "query" (best.pt: highest mAP of the test
  // queries, as the public code chooses) or "last epoch" (last.pt). Format 1 files,
  // which predate the entry, were chosen on the test queries.
  std::string selection = "last epoch";
  // The model's backbone (entry "backbone", from format 3; older files are AlexNet's).
  std::string backbone = "alexnet";
};

// A checkpoint is one torch.save-compatible file that Python reads with
// `torch.load(path)` as a plain dict (also with weights_only=True, PyTorch's default
// from 2.6, on PyTorch >= 2; 1.13's restricted loader cannot read float values yet):
//   every parameter and buffer of the model, by name -> CPU tensor. The backbone keeps
//     torchvision's names (features.0.weight, ..., classifier.4.bias for AlexNet), so
//     e.g. torchvision.models.alexnet().load_state_dict(ckpt, strict=False) takes them;
//     then hash_layer.weight, hash_layer.bias, code_classifier.weight;
//   "bit", "num_classes", "input_size", "epoch" (int), "map" (float), "config" (str),
//     "selection" (str, from format 2), "backbone" (str, from format 3), "format_version" (int).
//     These names have no dot, so they never clash with a parameter name.
// Written through write_file_atomically: a crash leaves the old file or the new one.
// meta.bits and meta.num_classes must equal the model's (std::invalid_argument if not).
void save_checkpoint(const std::filesystem::path& file, const GreedyHash& model,
                     const CheckpointMeta& meta);

// The metadata of a checkpoint, without reading its tensor data.
// greedyhash::Error (one line naming the file) if the file is unreadable, not a
// torch.save file, lacks an entry or has one of the wrong type ("not a greedyhash
// checkpoint"), or has a newer format version.
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& file);

// Loads a checkpoint into `model` (on whatever device it is) and returns its metadata.
// A checkpoint for another code length or class count is a greedyhash::Error such as
// "checkpoint F has 32-bit codes but --bit 48 was requested; pass --bit 32 or another
// checkpoint"; so is another backbone, a missing entry, a shape mismatch or an unexpected
// tensor. On error the model is left unchanged.
CheckpointMeta load_checkpoint(const std::filesystem::path& file, GreedyHash& model);

}  // namespace greedyhash
