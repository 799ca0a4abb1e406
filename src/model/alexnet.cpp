#include "greedyhash/model/alexnet.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include "greedyhash/model/accumulating_linear.h"

namespace greedyhash {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}

nn::MaxPool2d max_pool() {
  return nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2));
}

nn::ReLU relu() {
  return nn::ReLU(nn::ReLUOptions().inplace(true));
}

}  // namespace

AlexNetImpl::AlexNetImpl() {
  // Sequential indices are the torchvision ones: 0 conv, 1 relu, 2 pool, 3 conv, ...
  features =
      register_module("features", nn::Sequential(conv(3, 64, 11, 4, 2), relu(), max_pool(),   //
                                                 conv(64, 192, 5, 1, 2), relu(), max_pool(),  //
                                                 conv(192, 384, 3, 1, 1), relu(),             //
                                                 conv(384, 256, 3, 1, 1), relu(),             //
                                                 conv(256, 256, 3, 1, 1), relu(), max_pool()));
  avgpool = register_module("avgpool", nn::AdaptiveAvgPool2d(6));
  classifier = register_module(
      "classifier",
      nn::Sequential(nn::Dropout(0.5), AccumulatingLinear(256 * 6 * 6, kFeatureDim), relu(),
                     nn::Dropout(0.5), AccumulatingLinear(kFeatureDim, kFeatureDim), relu()));
}

torch::Tensor AlexNetImpl::forward(const torch::Tensor& images) {
  auto y = avgpool->forward(features->forward(images));
  return classifier->forward(y.flatten(1));
}

}  // namespace greedyhash
