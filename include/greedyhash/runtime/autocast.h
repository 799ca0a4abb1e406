#pragma once

#include <optional>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

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

// The lower precision autocast runs eligible ops in on `device` right now, or nothing
// when autocast is off there: for code that does its own casting (custom autograd
// functions), which autocast does not reach.
std::optional<c10::ScalarType> active_autocast_dtype(c10::Device device);

}  // namespace greedyhash
