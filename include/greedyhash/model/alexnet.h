#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

namespace greedyhash {

// AlexNet as torchvision lays it out ("one weird trick" variant), without the final
// 4096 -> 1000 layer: maps a normalised N x 3 x S x S batch (S >= 63) to N x 4096
// features. Submodule names match torchvision's, so parameters are named
// features.{0,3,6,8,10}.{weight,bias} and classifier.{1,4}.{weight,bias} and ImageNet
// weights published for torchvision load by name.
class AlexNetImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kFeatureDim = 4096;

  AlexNetImpl();
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Sequential features{nullptr};
  // Adaptive so that any input side >= 63 works; the identity at 224.
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Sequential classifier{nullptr};
};
TORCH_MODULE(AlexNet);

}  // namespace greedyhash
