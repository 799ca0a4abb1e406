#include "greedyhash/runtime/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/types.h>
#include <torch/version.h>

#include <mutex>

namespace greedyhash {

namespace {

// LibTorch 2.4 replaced the per-device setters with ones taking the device type and
// deprecated the old ones; keep both versions warning-free.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) {
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
}
c10::ScalarType autocast_dtype(bool cuda) {
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
}
void set_autocast(bool cuda, bool enabled, c10::ScalarType dtype) {
  const auto type = cuda ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(type, dtype);
  at::autocast::set_autocast_enabled(type, enabled);
}
#else
bool autocast_enabled(bool cuda) {
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
c10::ScalarType autocast_dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast(bool cuda, bool enabled, c10::ScalarType dtype) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif

bool measure_bf16_sum_in_float32(c10::Device device) {
  torch::NoGradGuard no_grad;
  // 16 x 512 x 16: LibTorch 1.13 leaves products of at most 16^3 multiply-adds to its
  // fallback GEMM even where oneDNN is used.
  const auto options = torch::TensorOptions(device).dtype(torch::kBFloat16);
  const auto product = torch::ones({16, 512}, options).mm(torch::ones({512, 16}, options));
  return product[0][0].item<float>() == 512.f;
}

}  // namespace

AutocastScope::AutocastScope(c10::Device device, const std::string& precision) {
  if (precision != "bf16") return;
  active_ = true;
  cuda_ = device.is_cuda();
  was_enabled_ = autocast_enabled(cuda_);
  previous_dtype_ = autocast_dtype(cuda_);
  set_autocast(cuda_, true, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Casts cached by an outer scope stay valid until it ends, as in torch.autocast.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(cuda_, was_enabled_, previous_dtype_);
}

std::optional<c10::ScalarType> active_autocast_dtype(c10::Device device) {
  if (!device.is_cuda() && !device.is_cpu()) return std::nullopt;
  if (!autocast_enabled(device.is_cuda())) return std::nullopt;
  return autocast_dtype(device.is_cuda());
}

bool bf16_products_sum_in_float32(c10::Device device) {
  static std::once_flag cpu_once, cuda_once;
  static bool cpu = false, cuda = false;
  if (device.is_cuda()) {
    std::call_once(cuda_once, [&] { cuda = measure_bf16_sum_in_float32(device); });
    return cuda;
  }
  std::call_once(cpu_once, [&] { cpu = measure_bf16_sum_in_float32(torch::kCPU); });
  return cpu;
}

}  // namespace greedyhash
