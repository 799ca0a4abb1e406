#include "greedyhash/model/greedy_hash.h"

#include <optional>
#include <string>

#include "greedyhash/error.h"
#include "greedyhash/model/greedy_sign.h"

namespace greedyhash {

namespace nn = torch::nn;

GreedyHashImpl::GreedyHashImpl(int64_t bits, int64_t num_classes, const std::string& backbone_name)
    : bits_(bits), num_classes_(num_classes) {
  if (bits < 1 || bits > 1024) {
    throw Error("bit length must be in 1..1024, got " + std::to_string(bits));
  }
  if (num_classes < 1) {
    throw Error("number of classes must be >= 1, got " + std::to_string(num_classes));
  }
  backbone = make_backbone(backbone_name);
  for (const auto& child : backbone->named_children()) register_module(child.key(), child.value());
  hash_layer = register_module("hash_layer", nn::Linear(backbone->feature_dim(), bits));
  code_classifier = register_module("code_classifier",
                                    nn::Linear(nn::LinearOptions(bits, num_classes).bias(false)));
}

void GreedyHashImpl::freeze_backbone() {
  for (auto& p : backbone->parameters()) p.requires_grad_(false);
  backbone_frozen_ = true;
  train(is_training());
}

void GreedyHashImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (backbone_frozen_) backbone->eval();  // the same modules, reached through the backbone
}

GreedyHashOutput GreedyHashImpl::forward(const torch::Tensor& images) {
  GreedyHashOutput out;
  // Frozen: nothing to differentiate, so no activation is kept for a backward pass.
  std::optional<torch::NoGradGuard> no_grad;
  if (backbone_frozen_) no_grad.emplace();
  const torch::Tensor features = backbone->forward(images);
  no_grad.reset();
  out.h = hash_layer->forward(features);
  out.codes = greedy_sign(out.h);
  out.logits = code_classifier->forward(out.codes);
  return out;
}

}  // namespace greedyhash
