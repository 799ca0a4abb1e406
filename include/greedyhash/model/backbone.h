#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

namespace greedyhash {

// The network that turns a normalised N x 3 x S x S batch into N x feature_dim()
// features, laid out as torchvision lays out the same architecture: its submodules carry
// torchvision's names, so its parameters and buffers are named as in torchvision's state
// dicts (the published ImageNet weights load by name) without the final 1000-class layer.
class BackboneImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
  virtual int64_t feature_dim() const = 0;
  // The name --backbone takes ("alexnet", "vgg16", "resnet50", ...).
  virtual std::string name() const = 0;
};

// Every name make_backbone takes, the default ("alexnet") first.
const std::vector<std::string>& backbone_names();

// greedyhash::Error (one line listing the names) unless `name` is one of them.
void check_backbone_name(const std::string& name);

// A backbone with torchvision's initialisation; greedyhash::Error (one line listing the
// names) for an unknown name.
std::shared_ptr<BackboneImpl> make_backbone(const std::string& name);

// The files torch.hub saves torchvision's ImageNet weights of that backbone under, the
// preferred first (e.g. resnet50: V1 resnet50-0676ba61.pth, then V2 resnet50-11ad3fa6.pth).
const std::vector<std::string>& torchvision_weight_files(const std::string& name);

}  // namespace greedyhash
