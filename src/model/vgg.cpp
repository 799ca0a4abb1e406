#include "greedyhash/model/vgg.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include "greedyhash/model/accumulating_linear.h"

namespace greedyhash {

namespace nn = torch::nn;

namespace {

// Configuration D: output channels of each 3 x 3 convolution, 0 for a 2 x 2 max pool.
constexpr int64_t kLayout[] = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                               0,  512, 512, 512, 0,   512, 512, 512, 0};

nn::Sequential make_features() {
  nn::Sequential features;
  int64_t channels = 3;
  for (const int64_t out : kLayout) {
    if (out == 0) {
      features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
      continue;
    }
    nn::Conv2d conv(nn::Conv2dOptions(channels, out, 3).padding(1));
    // torchvision's VGG initialisation.
    nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    nn::init::zeros_(conv->bias);
    features->push_back(conv);
    features->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
    channels = out;
  }
  return features;
}

AccumulatingLinear linear(int64_t in, int64_t out) {
  AccumulatingLinear layer(in, out);
  nn::init::normal_(layer->weight, 0.0, 0.01);
  nn::init::zeros_(layer->bias);
  return layer;
}

}  // namespace

Vgg16Impl::Vgg16Impl() {
  // Sequential indices are torchvision's: a ReLU after every convolution, pools between.
  features = register_module("features", make_features());
  avgpool = register_module("avgpool", nn::AdaptiveAvgPool2d(7));
  classifier = register_module(
      "classifier",
      nn::Sequential(linear(512 * 7 * 7, kFeatureDim), nn::ReLU(nn::ReLUOptions().inplace(true)),
                     nn::Dropout(0.5), linear(kFeatureDim, kFeatureDim),
                     nn::ReLU(nn::ReLUOptions().inplace(true)), nn::Dropout(0.5)));
}

torch::Tensor Vgg16Impl::forward(const torch::Tensor& images) {
  auto y = avgpool->forward(features->forward(images));
  return classifier->forward(y.flatten(1));
}

}  // namespace greedyhash
