#include "greedyhash/train/initial_model.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "greedyhash/model/imagenet_weights.h"
#include "greedyhash/model/memory_format.h"

namespace greedyhash {

GreedyHash initial_model(const Config& config, int64_t num_classes, c10::Device device,
                         spdlog::logger& log) {
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  GreedyHash model(config.bit, num_classes, config.backbone);
  const std::string& hub_file = torchvision_weight_files(config.backbone).front();
  if (const auto weights = resolve_pretrained(config.pretrained, config.backbone)) {
    // The reader's errors first (no such file, not a torch.save file, damaged records),
    // then the digest its name promises.
    load_imagenet_weights(model, *weights);
    const std::string digest = checked_weights_sha256(*weights);
    log.info("{} backbone initialised from ImageNet weights {} (SHA-256 {}...)", config.backbone,
             weights->string(), digest.substr(0, 12));
  } else if (config.pretrained == "auto") {
    log.warn(
        "--pretrained auto: no {} in {} (torchvision's cache): the {} backbone starts from "
        "random initialisation; the paper's mAP needs those ImageNet weights",
        hub_file, torch_hub_checkpoint_dir().string(), config.backbone);
  } else {
    log.warn(
        "no --pretrained weights: the {} backbone starts from random initialisation; the "
        "paper's mAP needs torchvision's ImageNet weights ({})",
        config.backbone, hub_file);
  }
  if (config.freeze_backbone) {
    model->freeze_backbone();
    log.info("backbone frozen: only hash_layer and code_classifier train");
  }
  model->to(device);
  use_channels_last(*model);
  return model;
}

}  // namespace greedyhash
