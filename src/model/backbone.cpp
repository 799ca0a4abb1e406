#include "greedyhash/model/backbone.h"

#include <algorithm>
#include <map>

#include "greedyhash/error.h"
#include "greedyhash/model/alexnet.h"
#include "greedyhash/model/resnet.h"
#include "greedyhash/model/vgg.h"

namespace greedyhash {

const std::vector<std::string>& backbone_names() {
  static const std::vector<std::string> names = {"alexnet",  "vgg16",    "resnet18",
                                                 "resnet34", "resnet50", "resnet101"};
  return names;
}

namespace {

Error unknown_backbone(const std::string& name) {
  std::string known;
  for (const auto& item : backbone_names()) known += (known.empty() ? "" : ", ") + item;
  return Error("unknown backbone '" + name + "'; the backbones are " + known);
}

}  // namespace

void check_backbone_name(const std::string& name) {
  const auto& names = backbone_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) throw unknown_backbone(name);
}

std::shared_ptr<BackboneImpl> make_backbone(const std::string& name) {
  using Block = ResNetImpl::Block;
  if (name == "alexnet") return std::make_shared<AlexNetImpl>();
  if (name == "vgg16") return std::make_shared<Vgg16Impl>();
  if (name == "resnet18")
    return std::make_shared<ResNetImpl>(name, Block::kBasic, std::array<int64_t, 4>{2, 2, 2, 2});
  if (name == "resnet34")
    return std::make_shared<ResNetImpl>(name, Block::kBasic, std::array<int64_t, 4>{3, 4, 6, 3});
  if (name == "resnet50")
    return std::make_shared<ResNetImpl>(name, Block::kBottleneck,
                                        std::array<int64_t, 4>{3, 4, 6, 3});
  if (name == "resnet101")
    return std::make_shared<ResNetImpl>(name, Block::kBottleneck,
                                        std::array<int64_t, 4>{3, 4, 23, 3});
  throw unknown_backbone(name);
}

const std::vector<std::string>& torchvision_weight_files(const std::string& name) {
  // torchvision's file names (the digest prefix checked by checked_weights_sha256).
  static const std::map<std::string, std::vector<std::string>> files = {
      {"alexnet", {"alexnet-owt-7be5be79.pth"}},
      {"vgg16", {"vgg16-397923af.pth"}},
      {"resnet18", {"resnet18-f37072fd.pth"}},
      {"resnet34", {"resnet34-b627a593.pth"}},
      {"resnet50", {"resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"}},
      {"resnet101", {"resnet101-63fe2227.pth", "resnet101-cd907fc2.pth"}},
  };
  const auto found = files.find(name);
  if (found == files.end()) throw unknown_backbone(name);
  return found->second;
}

}  // namespace greedyhash
