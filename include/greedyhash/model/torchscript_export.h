#pragma once

#include <torch/csrc/jit/api/module.h>

#include <filesystem>

#include "greedyhash/model/feature_hasher.h"
#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {

// A self-contained TorchScript module computing what `model` computes in eval mode:
//
//   forward(x: Tensor) -> Tuple[Tensor, Tensor]
//     x: normalised float batch N x 3 x S x S (S >= 63 for AlexNet, 32 for the others;
//        ImageNet mean/std, as the data pipeline feeds the model)
//     returns (codes, logits): codes N x K in {-1, +1} (sign with sign(0) = +1),
//        logits N x C from the code classifier.
//
// Built in C++ (registered parameters and a `define`d forward), no Python involved.
// The parameters are copies on the CPU (move the module with .to() to run elsewhere)
// and keep the model's names (features.0.weight, ..., hash_layer.bias,
// code_classifier.weight; BatchNorm's running statistics as buffers); the root also has
// int attributes `bits` and `num_classes`. Dropout is absent and BatchNorm uses its
// running statistics (eval mode). Loads with torch::jit::load in C++ and with
// torch.jit.load in Python.
torch::jit::Module export_torchscript(const GreedyHash& model);

// export_torchscript(model) saved to `file` through write_file_atomically.
void save_torchscript(const GreedyHash& model, const std::filesystem::path& file);

// The same for a feature hasher (greedyhash_train --features):
//
//   forward(x: Tensor) -> Tensor
//     x: float N x D features; returns the codes N x K in {-1, +1} (sign(0) = +1).
//
// Parameters hash_layer.weight and hash_layer.bias; int attributes `bits` and `input_dim`.
torch::jit::Module export_torchscript(const FeatureHasher& model);
void save_torchscript(const FeatureHasher& model, const std::filesystem::path& file);

}  // namespace greedyhash
