#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include "greedyhash/model/backbone.h"

namespace greedyhash {

// torchvision's VGG-16 (configuration D, no batch normalisation) without the final
// 4096 -> 1000 layer: parameters features.{0,2,5,7,10,12,14,17,19,21,24,26,28} and
// classifier.{0,3}. The features are fc7's after its ReLU and dropout, as the official
// unsupervised GreedyHash code cuts the classifier; any input side >= 32.
class Vgg16Impl : public BackboneImpl {
 public:
  static constexpr int64_t kFeatureDim = 4096;

  Vgg16Impl();
  torch::Tensor forward(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return kFeatureDim; }
  std::string name() const override { return "vgg16"; }

  torch::nn::Sequential features{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

}  // namespace greedyhash
