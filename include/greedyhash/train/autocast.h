#pragma once

#include <string>

#include <c10/core/Device.h>

namespace greedyhash {

// Mixed precision for a scope: with precision "bf16", eligible ops (convolutions,
// matrix products) run in bfloat16 on `device` (CUDA, or CPUs with AVX512-BF16/AMX),
// the rest in float32, as torch.autocast does; "fp32" does nothing. Restores the previous
// state on destruction.
class AutocastScope {
 public:
  AutocastScope(c10::Device device, const std::string& precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
};

}  // namespace greedyhash
