#pragma once

#include <array>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include "greedyhash/model/backbone.h"

namespace greedyhash {

// torchvision's ResNets without the final fc layer: conv1, bn1, layer1..layer4 of
// BasicBlocks (ResNet-18/34) or Bottlenecks with the stride on the 3 x 3 convolution
// (ResNet-50/101, "V1.5"), then global average pooling: 512 or 2048 features. BatchNorm
// is LibTorch's, the same kernels as PyTorch's (momentum 0.1, eps 1e-5, the running
// variance unbiased). Any input side >= 32.
class ResNetImpl : public BackboneImpl {
 public:
  enum class Block { kBasic, kBottleneck };
  ResNetImpl(std::string name, Block block, std::array<int64_t, 4> blocks_per_layer);
  torch::Tensor forward(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return feature_dim_; }
  std::string name() const override { return name_; }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  std::array<torch::nn::Sequential, 4> layers{nullptr, nullptr, nullptr, nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};

 private:
  std::string name_;
  int64_t feature_dim_;
};

}  // namespace greedyhash
