#include "greedyhash/model/training_memory.h"

#include <cmath>
#include <map>

#include "greedyhash/model/backbone.h"

namespace greedyhash {

namespace {

struct BackboneFigures {
  BackboneSize size;
  double floats_per_pixel;  // unused for AlexNet, counted exactly below
};

// Parameters: torchvision's published totals less the 1000-class layer (e.g. ResNet-50's
// 25,557,032 - 2048 * 1000 - 1000). Floats per pixel: the outputs of every layer but the
// in-place ReLUs, summed in torchvision at 224 and 64 px, the larger ratio kept.
const BackboneFigures& figures(const std::string& backbone) {
  static const std::map<std::string, BackboneFigures> table = {
      {"alexnet", {{57003840, 4096}, 0}},    {"vgg16", {{134260544, 4096}, 309}},
      {"resnet18", {{11176512, 512}, 104}},  {"resnet34", {{21284672, 512}, 154}},
      {"resnet50", {{23508032, 2048}, 448}}, {"resnet101", {{42500160, 2048}, 652}},
  };
  check_backbone_name(backbone);
  return table.at(backbone);
}

// Output side of a convolution or pooling window over `side` pixels.
int64_t window_output(int64_t side, int64_t kernel, int64_t stride, int64_t padding) {
  return (side + 2 * padding - kernel) / stride + 1;
}

int64_t alexnet_bytes_per_image(int64_t input_size) {
  // torchvision's AlexNet: conv 11/4 pad 2, pool 3/2, conv 5 pad 2, pool 3/2, three
  // conv 3 pad 1, pool 3/2, then 256 x 6 x 6 -> 4096 -> 4096.
  const int64_t c1 = window_output(input_size, 11, 4, 2);
  const int64_t p1 = window_output(c1, 3, 2, 0);
  const int64_t p2 = window_output(p1, 3, 2, 0);
  const int64_t p3 = window_output(p2, 3, 2, 0);
  const int64_t floats = 3 * input_size * input_size + 64 * c1 * c1 + (64 + 192) * p1 * p1 +
                         (192 + 384 + 256 + 256) * p2 * p2 + 256 * p3 * p3 + 256 * 6 * 6 + 2 * 4096;
  const int64_t pool_indices = 64 * p1 * p1 + 192 * p2 * p2 + 256 * p3 * p3;
  return 2 * 4 * floats + 8 * pool_indices;
}

}  // namespace

BackboneSize backbone_size(const std::string& backbone) {
  return figures(backbone).size;
}

int64_t training_bytes_per_image(const std::string& backbone, int64_t input_size) {
  if (backbone == "alexnet") return alexnet_bytes_per_image(input_size);
  const double floats = figures(backbone).floats_per_pixel * static_cast<double>(input_size) *
                        static_cast<double>(input_size);
  return 2 * 4 * static_cast<int64_t>(std::ceil(floats));
}

int64_t training_model_bytes(const std::string& backbone, int64_t bits) {
  const BackboneSize size = backbone_size(backbone);
  return 3 * 4 * (size.parameters + size.feature_dim * bits + bits);
}

}  // namespace greedyhash
