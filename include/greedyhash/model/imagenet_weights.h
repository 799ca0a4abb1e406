#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "greedyhash/model/backbone.h"
#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {

// Loads ImageNet weights published for torchvision's model of the backbone's architecture
// (e.g. alexnet-owt-7be5be79.pth, a torch.save'd state dict) into the backbone by name:
// every parameter and buffer (BatchNorm's running statistics; num_batches_tracked only
// where the file has it, as older published files do not). torchvision's final
// 1000-class layer and any other extra entry are ignored; the hash layer and code
// classifier are left as they are. The file is read in C++ (see read_state_dict).
//
// Errors (greedyhash::Error, one line naming the file): not a torch.save file, not a
// state dict, a missing entry ("no entry features.0.bias (expected shape [64])") or a
// shape mismatch naming the key and both shapes, then which weights the backbone takes.
// On error the model is left unchanged.
void load_imagenet_weights(BackboneImpl& backbone, const std::filesystem::path& file);
void load_imagenet_weights(GreedyHash& model, const std::filesystem::path& file);

// The folder torch.hub downloads weights into: $TORCH_HOME/hub/checkpoints, else
// $XDG_CACHE_HOME/torch/hub/checkpoints, else $HOME/.cache/torch/hub/checkpoints.
std::filesystem::path torch_hub_checkpoint_dir();

// The weights file a --pretrained setting names for a backbone: none for "", for "auto"
// the first of torchvision_weight_files(backbone) in torch_hub_checkpoint_dir() (none
// when none is there), else the setting itself as a path.
std::optional<std::filesystem::path> resolve_pretrained(const std::string& setting,
                                                        const std::string& backbone = "alexnet");

// The file's SHA-256 (hex). When its name carries a digest prefix the torch.hub way
// (`name-<at least 8 hex digits>.ext`), the content must match it, else a one-line
// greedyhash::Error says the file is damaged or not the one its name claims.
std::string checked_weights_sha256(const std::filesystem::path& file);

}  // namespace greedyhash
