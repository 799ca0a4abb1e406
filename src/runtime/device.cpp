#include "greedyhash/runtime/device.h"

#include <torch/cuda.h>

#include "greedyhash/error.h"

namespace greedyhash {

c10::Device select_device(const std::string& request) {
  if (request == "auto") {
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (request == "cpu") return c10::Device(c10::kCPU);
  if (request.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw Error("device '" + request +
                  "' requested, but this LibTorch build has no CUDA or no GPU is visible; "
                  "use --device cpu or --device auto");
    }
    c10::Device device(c10::kCPU);
    try {
      device = c10::Device(request);
    } catch (const c10::Error&) {
      throw Error("device '" + request + "' is not a device name; use auto, cpu, cuda or cuda:N");
    }
    const auto count = static_cast<c10::DeviceIndex>(torch::cuda::device_count());
    if (device.has_index() && device.index() >= count) {
      throw Error("device '" + request + "' does not exist: " + std::to_string(count) +
                  " GPU(s) visible");
    }
    return device.has_index() ? device : c10::Device(c10::kCUDA, 0);
  }
  throw Error("device '" + request + "' is not a device name; use auto, cpu, cuda or cuda:N");
}

}  // namespace greedyhash
