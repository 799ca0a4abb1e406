#pragma once

#include <optional>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace greedyhash {

// Mixed precision for a scope: with precision "bf16", eligible ops (convolutions,
// matrix products) run in bfloat16 on `device` (CUDA or CPU), the rest in float32, as
// torch.autocast does; "fp32" changes nothing. Scopes nest like torch.autocast: the
// destructor restores the enabled flag and dtype found on entry, and the cast cache is
// cleared only when the outermost scope ends.
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
  c10::ScalarType previous_dtype_ = c10::ScalarType::BFloat16;
};

// The lower precision autocast runs eligible ops in on `device` right now, or nothing
// when autocast is off there: for code that does its own casting (custom autograd
// functions), which autocast does not reach.
std::optional<c10::ScalarType> active_autocast_dtype(c10::Device device);

// Whether bfloat16 matrix products on `device` sum in float32, as CUDA and oneDNN do.
// LibTorch 1.13 uses oneDNN for them only on CPUs with AVX-512 (BW, VL, DQ); elsewhere
// its fallback GEMM sums in bfloat16 and a product over a few hundred terms is off by
// several percent. Measured once per device type: a sum of 512 ones is 512 in float32
// and stalls at 256 in bfloat16 (256 + 1 rounds back to 256).
bool bf16_products_sum_in_float32(c10::Device device);

}  // namespace greedyhash
