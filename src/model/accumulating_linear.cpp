#include "greedyhash/model/accumulating_linear.h"

#include <algorithm>
#include <vector>

#include <c10/core/DispatchKeySet.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include "greedyhash/runtime/autocast.h"

namespace greedyhash {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Low-precision copies of the weight, and of its gradient before it is added to the
// float32 one, are made this many bytes at a time, not whole (75 MB for AlexNet's
// largest layer in bf16).
constexpr int64_t kChunkBytes = int64_t{8} << 20;

// Calls visit(first, count) for consecutive row ranges of `weight` that take at most
// kChunkBytes each once cast to `dtype`.
template <typename Visit>
void for_each_row_chunk(const torch::Tensor& weight, c10::ScalarType dtype, Visit visit) {
  const int64_t rows = weight.size(0);
  const int64_t row_bytes = weight.size(1) * static_cast<int64_t>(c10::elementSize(dtype));
  const int64_t step = std::max<int64_t>(1, kChunkBytes / row_bytes);
  for (int64_t first = 0; first < rows; first += step) visit(first, std::min(step, rows - first));
}

std::vector<int64_t> output_sizes(const torch::Tensor& input, int64_t features) {
  auto sizes = input.sizes().vec();
  sizes.back() = features;
  return sizes;
}

// grad W (grad: rows x out, weight: out x in). When grad's dtype is not the weight's, the
// weight is cast chunk by chunk and the chunks' products are summed in float32.
torch::Tensor input_gradient(const torch::Tensor& grad, const torch::Tensor& weight) {
  const auto dtype = grad.scalar_type();
  if (dtype == weight.scalar_type()) return grad.mm(weight);
  auto sum = torch::zeros({grad.size(0), weight.size(1)}, grad.options().dtype(torch::kFloat));
  for_each_row_chunk(weight, dtype, [&](int64_t first, int64_t count) {
    sum.add_(grad.narrow(1, first, count).mm(weight.narrow(0, first, count).to(dtype)));
  });
  return sum;
}

// Adds grad^T x (grad: rows x out, x: rows x in) to `target` (out x in), in place; in
// chunks of rows when grad's dtype is not the target's, so that the low-precision product
// never exists whole.
void add_weight_gradient(torch::Tensor& target, const torch::Tensor& grad, const torch::Tensor& x) {
  if (grad.scalar_type() == target.scalar_type()) {
    target.addmm_(grad.t(), x);
    return;
  }
  for_each_row_chunk(target, grad.scalar_type(), [&](int64_t first, int64_t count) {
    target.narrow(0, first, count).add_(grad.narrow(1, first, count).t().mm(x));
  });
}

// Whether autograd itself would add a new gradient into `existing` in place.
bool accumulates_in_place(const torch::Tensor& existing, const torch::Tensor& weight) {
  return existing.defined() && !torch::GradMode::is_enabled() && !existing.requires_grad() &&
         existing.layout() == torch::kStrided && existing.device() == weight.device() &&
         existing.sizes() == weight.sizes();
}

class AccumulatingLinearFunction : public torch::autograd::Function<AccumulatingLinearFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    const auto dtype = active_autocast_dtype(input.device()).value_or(input.scalar_type());
    ctx->save_for_backward({input, weight});
    // The weight itself: its .grad is where the gradient goes.
    ctx->saved_data["weight"] = weight;
    ctx->saved_data["has_bias"] = bias.defined();
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto x = input.to(dtype);
    if (dtype == weight.scalar_type()) return torch::linear(x, weight, bias);
    // Cast the weight a chunk of output features at a time, not whole.
    auto out = torch::empty(output_sizes(input, weight.size(0)), x.options());
    auto out2d = out.view({-1, weight.size(0)});
    const auto x2d = x.reshape({-1, x.size(-1)});
    for_each_row_chunk(weight, dtype, [&](int64_t first, int64_t count) {
      const auto rows = weight.narrow(0, first, count).to(dtype);
      const auto b = bias.defined() ? bias.narrow(0, first, count).to(dtype) : bias;
      out2d.narrow(1, first, count).copy_(torch::linear(x2d, rows, b));
    });
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& grad = grad_outputs[0];
    const auto dtype = grad.scalar_type();
    const auto grad2d = grad.reshape({-1, grad.size(-1)});
    torch::Tensor grad_input, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0))
      grad_input = input_gradient(grad2d, saved[1]).reshape(saved[0].sizes());
    if (ctx->needs_input_grad(1)) {
      const auto x = saved[0].reshape({-1, saved[0].size(-1)}).to(dtype);
      torch::Tensor weight = ctx->saved_data["weight"].toTensor();
      torch::Tensor& existing = weight.mutable_grad();
      if (accumulates_in_place(existing, weight)) {
        add_weight_gradient(existing, grad2d, x);
      } else {
        grad_weight = grad2d.t().mm(x);
      }
    }
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) {
      grad_bias = grad2d.sum(0);
    }
    return {grad_input, grad_weight, grad_bias};
  }
};

}  // namespace

torch::Tensor AccumulatingLinearImpl::forward(const torch::Tensor& input) {
  if (!torch::GradMode::is_enabled() || !weight.requires_grad()) {
    return torch::nn::LinearImpl::forward(input);
  }
  return AccumulatingLinearFunction::apply(input, weight, bias);
}

}  // namespace greedyhash
