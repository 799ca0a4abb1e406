#pragma once

#include <filesystem>

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

}  // namespace greedyhash
