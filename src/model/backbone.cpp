#include "greedyhash/model/backbone.h"

#include <array>
#include <functional>

#include "greedyhash/error.h"
#include "greedyhash/model/alexnet.h"
#include "greedyhash/model/resnet.h"
#include "greedyhash/model/vgg.h"

namespace greedyhash {

namespace {

using Block = ResNetImpl::Block;

// Every backbone: its name, how to make it, and the files torch.hub saves torchvision's
// ImageNet weights under (the digest prefix checked by checked_weights_sha256), the
// preferred first.
struct BackboneEntry {
  std::string name;
  std::function<std::shared_ptr<BackboneImpl>()> make;
  std::vector<std::string> weight_files;
};

std::shared_ptr<BackboneImpl> resnet(const char* name, Block block,
                                     std::array<int64_t, 4> blocks_per_layer) {
  return std::make_shared<ResNetImpl>(name, block, blocks_per_layer);
}

const std::vector<BackboneEntry>& backbones() {
  static const std::vector<BackboneEntry> entries = {
      {"alexnet", [] { return std::make_shared<AlexNetImpl>(); }, {"alexnet-owt-7be5be79.pth"}},
      {"vgg16", [] { return std::make_shared<Vgg16Impl>(); }, {"vgg16-397923af.pth"}},
      {"resnet18",
       [] {
         return resnet("resnet18", Block::kBasic, {2, 2, 2, 2});
       },
       {"resnet18-f37072fd.pth"}},
      {"resnet34",
       [] {
         return resnet("resnet34", Block::kBasic, {3, 4, 6, 3});
       },
       {"resnet34-b627a593.pth"}},
      {"resnet50",
       [] {
         return resnet("resnet50", Block::kBottleneck, {3, 4, 6, 3});
       },
       {"resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"}},
      {"resnet101",
       [] {
         return resnet("resnet101", Block::kBottleneck, {3, 4, 23, 3});
       },
       {"resnet101-63fe2227.pth", "resnet101-cd907fc2.pth"}},
  };
  return entries;
}

// The entry of `name`; greedyhash::Error listing the names for an unknown one.
const BackboneEntry& entry(const std::string& name) {
  for (const auto& item : backbones()) {
    if (item.name == name) return item;
  }
  throw Error("unknown backbone '" + name + "'; the backbones are " + [] {
    std::string known;
    for (const auto& item : backbone_names()) known += (known.empty() ? "" : ", ") + item;
    return known;
  }());
}

}  // namespace

const std::vector<std::string>& backbone_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& item : backbones()) out.push_back(item.name);
    return out;
  }();
  return names;
}

void check_backbone_name(const std::string& name) {
  entry(name);
}

std::shared_ptr<BackboneImpl> make_backbone(const std::string& name) {
  return entry(name).make();
}

const std::vector<std::string>& torchvision_weight_files(const std::string& name) {
  return entry(name).weight_files;
}

}  // namespace greedyhash
