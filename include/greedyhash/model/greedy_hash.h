#pragma once

#include <memory>
#include <string>

#include <torch/nn/modules/linear.h>

#include "greedyhash/model/backbone.h"

namespace greedyhash {

struct GreedyHashOutput {
  torch::Tensor logits;  // N x C, from the K -> C classifier applied to the codes
  torch::Tensor h;       // N x K continuous codes (hash layer output)
  torch::Tensor codes;   // N x K, sign(h) in {-1, +1}
};

// Backbone (AlexNet by default; backbone.h) -> hash layer (features -> K) -> GreedySign
// -> classifier (K -> C, no bias).
//
// Parameter names: the backbone's submodules are registered directly on this module, so
// the backbone keeps torchvision's names (features.0.weight, classifier.1.weight, ...;
// conv1.weight, layer1.0.bn1.running_mean, ... for the ResNets) in state dicts and
// checkpoints; the two new layers are hash_layer.{weight,bias} and code_classifier.weight.
class GreedyHashImpl : public torch::nn::Module {
 public:
  GreedyHashImpl(int64_t bits, int64_t num_classes, const std::string& backbone = "alexnet");

  GreedyHashOutput forward(const torch::Tensor& images);

  // Trains the head alone from now on: the backbone's parameters stop requiring
  // gradients, its forward pass records nothing for autograd, and train() leaves it in
  // eval mode (dropout off, BatchNorm on its running statistics), as a frozen feature
  // extractor is used.
  void freeze_backbone();
  bool backbone_frozen() const { return backbone_frozen_; }
  void train(bool on = true) override;

  int64_t bits() const { return bits_; }
  int64_t num_classes() const { return num_classes_; }

  // The backbone's submodules are this module's too (train(), to() and parameters()
  // reach them through this module).
  std::shared_ptr<BackboneImpl> backbone;
  torch::nn::Linear hash_layer{nullptr};
  torch::nn::Linear code_classifier{nullptr};

 private:
  int64_t bits_;
  int64_t num_classes_;
  bool backbone_frozen_ = false;
};
TORCH_MODULE(GreedyHash);

}  // namespace greedyhash
