#include "greedyhash/model/resnet.h"

#include <mutex>
#include <string>
#include <utility>

#include <ATen/Context.h>
#include <ATen/Version.h>
#include <spdlog/spdlog.h>

#include <torch/nn/init.h>

namespace greedyhash {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  nn::Conv2d layer(
      nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
  // torchvision's ResNet initialisation (BatchNorm's default, weight 1 and bias 0, is its).
  nn::init::kaiming_normal_(layer->weight, 0.0, torch::kFanOut, torch::kReLU);
  return layer;
}

// 1 x 1 convolution + BatchNorm on the shortcut where the shape changes.
nn::Sequential downsample(int64_t in, int64_t out, int64_t stride) {
  if (in == out && stride == 1) return nn::Sequential(nullptr);
  return nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out));
}

// The block's input plus its shortcut, then ReLU.
torch::Tensor add_shortcut(const torch::Tensor& y, const torch::Tensor& x,
                           nn::Sequential& shortcut) {
  return (y + (shortcut ? shortcut->forward(x) : x)).relu_();
}

// oneDNN 3.7.2 (libdnnl.so.3.6, under Debian 13's LibTorch 2.6) computes some of the ResNets' 1 x 1
// convolutions wrongly (40% off) or stops the process with SIGFPE, forward and backward, on an
// AVX-512 CPU; Python's torch 2.6 alike (docs/LIBTORCH2.md). With that version the CPU convolutions
// of this process use LibTorch's own kernels instead: slower, right.
void avoid_known_onednn_defect() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string version = at::get_mkldnn_version();
    if (version.find(" v3.7.2 ") == std::string::npos) return;
    at::globalContext().setUserEnabledMkldnn(false);
    spdlog::warn(
        "{}: known to get ResNet convolutions wrong on the CPU; LibTorch's own "
        "convolution kernels are used instead (docs/LIBTORCH2.md)",
        version);
  });
}

// Two 3 x 3 convolutions (ResNet-18/34).
class BasicBlockImpl : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride)
      : conv1(register_module("conv1", conv(in, planes, 3, stride))),
        bn1(register_module("bn1", nn::BatchNorm2d(planes))),
        conv2(register_module("conv2", conv(planes, planes, 3, 1))),
        bn2(register_module("bn2", nn::BatchNorm2d(planes))),
        shortcut(downsample(in, planes, stride)) {
    if (shortcut) register_module("downsample", shortcut);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto y = bn1->forward(conv1->forward(x)).relu_();
    y = bn2->forward(conv2->forward(y));
    return add_shortcut(y, x, shortcut);
  }

  nn::Conv2d conv1;
  nn::BatchNorm2d bn1;
  nn::Conv2d conv2;
  nn::BatchNorm2d bn2;
  nn::Sequential shortcut;
};
TORCH_MODULE(BasicBlock);

// 1 x 1, 3 x 3 (with the stride), 1 x 1 convolutions, 4x wider out (ResNet-50/101).
class BottleneckImpl : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride)
      : conv1(register_module("conv1", conv(in, planes, 1, 1))),
        bn1(register_module("bn1", nn::BatchNorm2d(planes))),
        conv2(register_module("conv2", conv(planes, planes, 3, stride))),
        bn2(register_module("bn2", nn::BatchNorm2d(planes))),
        conv3(register_module("conv3", conv(planes, planes * kExpansion, 1, 1))),
        bn3(register_module("bn3", nn::BatchNorm2d(planes * kExpansion))),
        shortcut(downsample(in, planes * kExpansion, stride)) {
    if (shortcut) register_module("downsample", shortcut);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto y = bn1->forward(conv1->forward(x)).relu_();
    y = bn2->forward(conv2->forward(y)).relu_();
    y = bn3->forward(conv3->forward(y));
    return add_shortcut(y, x, shortcut);
  }

  nn::Conv2d conv1;
  nn::BatchNorm2d bn1;
  nn::Conv2d conv2;
  nn::BatchNorm2d bn2;
  nn::Conv2d conv3;
  nn::BatchNorm2d bn3;
  nn::Sequential shortcut;
};
TORCH_MODULE(Bottleneck);

// One stage: `count` blocks of `planes`, the first with `stride`; returns the stage and
// its output channels.
template <typename Block>
std::pair<nn::Sequential, int64_t> make_layer(int64_t in, int64_t planes, int64_t count,
                                              int64_t stride) {
  nn::Sequential layer;
  for (int64_t i = 0; i < count; ++i) {
    layer->push_back(Block(in, planes, i == 0 ? stride : 1));
    in = planes * Block::Impl::kExpansion;
  }
  return {layer, in};
}

}  // namespace

ResNetImpl::ResNetImpl(std::string name, Block block, std::array<int64_t, 4> blocks_per_layer)
    : name_(std::move(name)) {
  avoid_known_onednn_defect();
  conv1 = register_module("conv1", conv(3, 64, 7, 2));
  bn1 = register_module("bn1", nn::BatchNorm2d(64));
  maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  int64_t channels = 64;
  for (size_t i = 0; i < layers.size(); ++i) {
    const int64_t planes = int64_t{64} << i;
    const int64_t stride = i == 0 ? 1 : 2;
    auto [layer, out] = block == Block::kBasic
                            ? make_layer<BasicBlock>(channels, planes, blocks_per_layer[i], stride)
                            : make_layer<Bottleneck>(channels, planes, blocks_per_layer[i], stride);
    layers[i] = register_module("layer" + std::to_string(i + 1), layer);
    channels = out;
  }
  avgpool = register_module("avgpool", nn::AdaptiveAvgPool2d(1));
  feature_dim_ = channels;
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& images) {
  auto x = maxpool->forward(bn1->forward(conv1->forward(images)).relu_());
  for (auto& layer : layers) x = layer->forward(x);
  return avgpool->forward(x).flatten(1);
}

}  // namespace greedyhash
