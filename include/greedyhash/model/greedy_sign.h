#pragma once

#include <torch/csrc/autograd/custom_function.h>
#include <torch/types.h>

namespace greedyhash {

// The greedy hash layer of Su et al. (NeurIPS 2018). Forward: b = sign(h) with
// sign(0) = +1, so codes are always in {-1, +1}. Backward: the identity
// (dL/dh = dL/db); updating h with the gradient taken at the discrete b is what moves
// h towards the optimal discrete solution.
class GreedySign : public torch::autograd::Function<GreedySign> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h);
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_outputs);
};

// sign(h) in {-1, +1}, differentiable with the straight-through gradient above.
torch::Tensor greedy_sign(const torch::Tensor& h);

}  // namespace greedyhash
