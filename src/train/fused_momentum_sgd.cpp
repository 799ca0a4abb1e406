#include "greedyhash/train/fused_momentum_sgd.h"

#include <sstream>
#include <string>
#include <type_traits>

#include <torch/torch.h>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

// The optimiser state's key for a parameter: LibTorch 1.13 uses the TensorImpl address
// printed by an ostream (c10::guts::to_string), later versions the address itself.
template <typename State>
auto state_key(const State& /*state*/, c10::TensorImpl* impl) {
  using Key = typename State::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << impl;
    return text.str();
  } else {
    return static_cast<Key>(impl);
  }
}

}  // namespace

FusedMomentumSGD::FusedMomentumSGD(std::vector<torch::Tensor> params,
                                   torch::optim::SGDOptions options)
    : torch::optim::SGD(params, options), params_(std::move(params)) {
  if (options.dampening() != 0 || options.nesterov() || options.momentum() <= 0) {
    throw Error("FusedMomentumSGD needs momentum > 0, dampening 0 and no Nesterov; got momentum " +
                std::to_string(options.momentum()) + ", dampening " +
                std::to_string(options.dampening()) + "; use torch::optim::SGD instead");
  }
  for (auto& param : params_) {
    // LibTorch 2.x also calls the hook, with an undefined gradient, when a layer added
    // the parameter's gradient in place itself (AccumulatingLinear): nothing arrives then.
    hooks_.push_back(param.register_hook([this](const torch::Tensor& grad) {
      if (grad.defined()) prepare();
    }));
  }
}

FusedMomentumSGD::~FusedMomentumSGD() {
  for (size_t i = 0; i < params_.size(); ++i) params_[i].remove_hook(hooks_[i]);
}

torch::Tensor& FusedMomentumSGD::momentum_buffer(const torch::Tensor& param) {
  static torch::Tensor none;
  auto& states = state();
  const auto it = states.find(state_key(states, param.unsafeGetTensorImpl()));
  if (it == states.end()) return none;
  return static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer();
}

// Runs inside backward, when autograd is about to add the first parameter gradient of
// this step to its .grad. Prepares every parameter at once, .grad = m * buf + wd * p (in
// place, in buf, with m and wd of the parameter's group), so that the additions complete
// the momentum update, also those that layers such as AccumulatingLinear make in place
// before the parameter's own hook runs.
void FusedMomentumSGD::prepare() {
  if (prepared_) return;
  prepared_ = true;
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::SGDOptions&>(group.options());
    for (auto& param : group.params()) {
      auto& buffer = momentum_buffer(param);
      if (!buffer.defined()) continue;  // first step: autograd creates a plain gradient
      buffer.mul_(options.momentum());
      if (options.weight_decay() != 0) buffer.add_(param.detach(), options.weight_decay());
      param.mutable_grad() = buffer;
    }
  }
}

torch::Tensor FusedMomentumSGD::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::SGDOptions&>(group.options());
    for (auto& param : group.params()) {
      if (!param.grad().defined()) continue;
      auto& buffer = momentum_buffer(param);
      if (!buffer.defined()) {
        // First step: the buffer starts as grad + wd * p, as in torch::optim::SGD.
        auto grad = param.grad().detach();
        if (options.weight_decay() != 0) grad.add_(param.detach(), options.weight_decay());
        auto new_state = std::make_unique<torch::optim::SGDParamState>();
        new_state->momentum_buffer(grad);
        state()[state_key(state(), param.unsafeGetTensorImpl())] = std::move(new_state);
      }
      param.detach().add_(momentum_buffer(param), -options.lr());
      param.mutable_grad() = torch::Tensor();
    }
  }
  prepared_ = false;
  return loss;
}

}  // namespace greedyhash
