#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/nn/modules/linear.h>

namespace greedyhash {

// The hash layer alone, for embeddings (greedyhash_train --features): D features ->
// h = W x + b (K values) -> codes sign(h) in {-1, +1} (the greedy sign: identity gradient).
// Its parameters are named as GreedyHash's hash layer: hash_layer.weight, hash_layer.bias.
class FeatureHasherImpl : public torch::nn::Module {
 public:
  FeatureHasherImpl(int64_t input_dim, int64_t bits);

  struct Output {
    torch::Tensor h;      // N x K
    torch::Tensor codes;  // N x K in {-1, +1}
  };
  Output forward(const torch::Tensor& features);

  int64_t input_dim() const { return input_dim_; }
  int64_t bits() const { return bits_; }

  torch::nn::Linear hash_layer{nullptr};

 private:
  int64_t input_dim_;
  int64_t bits_;
};
TORCH_MODULE(FeatureHasher);

// What a feature hasher's checkpoint records besides the weights.
struct FeatureHasherMeta {
  int64_t bits = 0;
  int64_t input_dim = 0;
  int64_t epoch = 0;
  std::string config_json;  // the resolved run config, as JSON text
};

// A torch.save file that torch.load reads as a plain dict: hash_layer.weight (K x D),
// hash_layer.bias (K), "bit", "input_dim", "epoch" (int), "config" (str), "kind"
// ("feature_hasher") and "format_version" (int). Written through write_file_atomically.
void save_feature_hasher(const std::filesystem::path& file, const FeatureHasher& model,
                         const FeatureHasherMeta& meta);

// The model of such a file on the CPU, in eval mode. greedyhash::Error (one line naming
// the file) when it is not one (an image model's checkpoint included), is damaged, or is
// for another code length than `bits`.
FeatureHasher load_feature_hasher(const std::filesystem::path& file, int64_t bits,
                                  FeatureHasherMeta* meta = nullptr);

// The weight (K x D) and bias (K) as two float32 .npy files, for users who apply the layer
// themselves: codes = sign(features @ weight.T + bias), sign(0) = +1.
void save_hash_layer_npy(const FeatureHasher& model, const std::filesystem::path& weight_file,
                         const std::filesystem::path& bias_file);

}  // namespace greedyhash
