#pragma once

#include <torch/nn/modules/linear.h>

namespace greedyhash {

// torch::nn::Linear (same parameters, names, initialisation and forward) whose backward
// adds the weight gradient straight into weight.grad() when that tensor already exists,
// as autograd's own accumulation would, instead of first computing it into a new tensor.
// For AlexNet's 9216 x 4096 layer that new tensor is 151 MB, the largest allocation of a
// training step. With FusedMomentumSGD, weight.grad() is the prepared momentum buffer by
// then, so the gradient lands in the buffer and no weight-sized temporary is made; with
// torch::optim::SGD after zero_grad() it lands in the zeroed gradient.
//
// Under autocast the products run in autocast's precision, as torch::linear's would, but
// the weight is cast a few MB at a time, never whole, and autocast keeps no copy of it.
// Tensor hooks on the weight see an undefined gradient when it was added in place.
class AccumulatingLinearImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  torch::Tensor forward(const torch::Tensor& input);
};
TORCH_MODULE(AccumulatingLinear);

}  // namespace greedyhash
