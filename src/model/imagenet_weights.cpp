#include "greedyhash/model/imagenet_weights.h"

#include "greedyhash/serialize/state_dict.h"

namespace greedyhash {

void load_imagenet_weights(AlexNet& backbone, const std::filesystem::path& file) {
  // The backbone's own parameter names are torchvision's, and it has no classifier.6:
  // its parameter list is exactly the set of entries to load.
  copy_named_tensors(read_state_dict(file), backbone->named_parameters(), file);
}

void load_imagenet_weights(GreedyHash& model, const std::filesystem::path& file) {
  // GreedyHash registers the backbone's submodules as its own, so these are the same
  // tensors the model trains.
  load_imagenet_weights(model->backbone, file);
}

}  // namespace greedyhash
