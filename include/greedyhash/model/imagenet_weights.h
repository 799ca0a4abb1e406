#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "greedyhash/model/alexnet.h"
#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {

// Loads ImageNet weights published for torchvision's AlexNet (alexnet-owt-7be5be79.pth,
// a torch.save'd state dict) into the backbone by name: features.{0,3,6,8,10} and
// classifier.{1,4}, weights and biases. torchvision's classifier.6 (4096 -> 1000) and any
// other extra entry are ignored; the hash layer and code classifier are left as they are.
// The file is read in C++ (see read_state_dict); no Python is involved.
//
// Errors (greedyhash::Error, one line naming the file): not a torch.save zip archive,
// not a state dict, a missing entry ("no entry features.0.bias (expected shape [64])"),
// or a shape mismatch naming the key, the file's shape and the model's. On error the
// model is left unchanged.
void load_imagenet_weights(AlexNet& backbone, const std::filesystem::path& file);
void load_imagenet_weights(GreedyHash& model, const std::filesystem::path& file);

// torchvision's file of the ImageNet AlexNet weights. Like every torch.hub download, it
// is named after the first hex digits of its SHA-256.
inline constexpr const char* kTorchvisionAlexNetFile = "alexnet-owt-7be5be79.pth";

// The folder torch.hub downloads weights into: $TORCH_HOME/hub/checkpoints, else
// $XDG_CACHE_HOME/torch/hub/checkpoints, else $HOME/.cache/torch/hub/checkpoints.
std::filesystem::path torch_hub_checkpoint_dir();

// The weights file a --pretrained setting names: none for "", the file named `cached_name`
// in torch_hub_checkpoint_dir() for "auto" when it is there (none when not), else the
// setting itself as a path.
std::optional<std::filesystem::path> resolve_pretrained(
    const std::string& setting, const std::string& cached_name = kTorchvisionAlexNetFile);

// The file's SHA-256 (hex). When its name carries a digest prefix the torch.hub way
// (`name-<at least 8 hex digits>.ext`), the content must match it, else a one-line
// greedyhash::Error says the file is damaged or not the one its name claims.
std::string checked_weights_sha256(const std::filesystem::path& file);

}  // namespace greedyhash
