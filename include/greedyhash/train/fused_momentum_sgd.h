#pragma once

#include <vector>

#include <torch/optim/sgd.h>

namespace greedyhash {

// SGD with momentum and weight decay (dampening 0, no Nesterov) that keeps no gradient
// tensors of its own: each parameter's gradient is accumulated by autograd straight into
// its momentum buffer. Per step, with m = momentum and wd = weight decay:
//
//   torch::optim::SGD:  buf = m * buf + (grad + wd * p);  p -= lr * buf
//   this optimiser:     buf = (m * buf + wd * p) + grad;  p -= lr * buf
//
// the same update up to float rounding. When backward delivers its first parameter
// gradient, a hook prepares m * buf + wd * p for every parameter and installs it as the
// parameter's .grad; step() applies the update and detaches .grad again, so zero_grad()
// has nothing to clear. Saves the memory of all gradients (and SGD's weight-decay
// temporary): for AlexNet, about 380 MB at the optimiser step.
//
// A drop-in for torch::optim::SGD (same options, state and serialisation, so
// save_training_state / load_training_state work). Differences: between backward and
// step() a parameter's .grad holds buf, not the gradient; the first step (no buffers yet)
// behaves like torch::optim::SGD; every parameter is taken to get a gradient in each
// backward pass (one that gets none still moves by its decayed momentum). Must outlive every
// backward pass through its parameters (the hooks refer to it); its destructor removes them.
class FusedMomentumSGD : public torch::optim::SGD {
 public:
  FusedMomentumSGD(std::vector<torch::Tensor> params, torch::optim::SGDOptions options);
  ~FusedMomentumSGD() override;
  FusedMomentumSGD(const FusedMomentumSGD&) = delete;
  FusedMomentumSGD& operator=(const FusedMomentumSGD&) = delete;

  // Between the first parameter gradient of a backward pass and step(), .grad holds
  // m * buf + wd * p + (the gradient so far), not the gradient. Code that reads gradients
  // there must be linear in them (an all-reduce mean is; clipping or a norm is not) or
  // must not run under this optimiser.
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  void prepare();
  torch::Tensor& momentum_buffer(const torch::Tensor& param);

  std::vector<torch::Tensor> params_;  // the constructor's, whose hooks this owns
  std::vector<unsigned> hooks_;
  bool prepared_ = false;
};

}  // namespace greedyhash
