#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include "greedyhash/model/backbone.h"

namespace greedyhash {

// AlexNet as torchvision lays it out ("one weird trick" variant), without the final
// 4096 -> 1000 layer: parameters features.{0,3,6,8,10} and classifier.{1,4}; any input
// side >= 63. The features are fc7's, after its ReLU.
class AlexNetImpl : public BackboneImpl {
 public:
  static constexpr int64_t kFeatureDim = 4096;

  AlexNetImpl();
  torch::Tensor forward(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return kFeatureDim; }
  std::string name() const override { return "alexnet"; }

  torch::nn::Sequential features{nullptr};
  // Adaptive so that any input side >= 63 works; the identity at 224.
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

}  // namespace greedyhash
