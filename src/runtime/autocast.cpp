#include "greedyhash/runtime/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

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
void set_autocast(bool cuda, bool enabled) {
  const auto type = cuda ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, enabled);
}
#else
bool autocast_enabled(bool cuda) {
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
c10::ScalarType autocast_dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast(bool cuda, bool enabled) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(enabled);
  }
}
#endif

}  // namespace

AutocastScope::AutocastScope(c10::Device device, const std::string& precision) {
  if (precision != "bf16") return;
  active_ = true;
  cuda_ = device.is_cuda();
  was_enabled_ = autocast_enabled(cuda_);
  set_autocast(cuda_, true);
}

std::optional<c10::ScalarType> active_autocast_dtype(c10::Device device) {
  if (!device.is_cuda() && !device.is_cpu()) return std::nullopt;
  if (!autocast_enabled(device.is_cuda())) return std::nullopt;
  return autocast_dtype(device.is_cuda());
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  set_autocast(cuda_, was_enabled_);
  at::autocast::clear_cache();
}

}  // namespace greedyhash
