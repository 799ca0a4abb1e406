#include "greedyhash/model/greedy_sign.h"

#include <ATen/ATen.h>

namespace greedyhash {

torch::Tensor GreedySign::forward(torch::autograd::AutogradContext* /*ctx*/,
                                  const torch::Tensor& h) {
  // where() rather than sign(): torch::sign(0) is 0, which would not be a binary code.
  return at::where(h >= 0, at::ones_like(h), at::full_like(h, -1.0));
}

torch::autograd::tensor_list GreedySign::backward(torch::autograd::AutogradContext* /*ctx*/,
                                                  torch::autograd::tensor_list grad_outputs) {
  return {grad_outputs[0]};
}

torch::Tensor greedy_sign(const torch::Tensor& h) { return GreedySign::apply(h); }

}  // namespace greedyhash
