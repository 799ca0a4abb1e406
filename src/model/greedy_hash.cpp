#include "greedyhash/model/greedy_hash.h"

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

GreedyHashOutput GreedyHashImpl::forward(const torch::Tensor& images) {
  GreedyHashOutput out;
  out.h = hash_layer->forward(backbone->forward(images));
  out.codes = greedy_sign(out.h);
  out.logits = code_classifier->forward(out.codes);
  return out;
}

}  // namespace greedyhash
