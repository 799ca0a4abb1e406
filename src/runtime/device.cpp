#include "greedyhash/runtime/device.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
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

c10::Device select_worker_device(const std::string& request, int64_t world_size,
                                 int64_t local_rank) {
  if (world_size <= 1) return select_device(request);
  if (request.rfind("cuda:", 0) == 0) {
    throw Error("device '" + request + "' names one GPU for all " + std::to_string(world_size) +
                " workers; use --device cuda (worker k of each machine takes cuda:k) and "
                "CUDA_VISIBLE_DEVICES to choose the GPUs");
  }
  const c10::Device device = select_device(request);
  if (!device.is_cuda()) return device;
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (local_rank >= count) {
    throw Error("worker with LOCAL_RANK " + std::to_string(local_rank) +
                " has no GPU of its own (" + std::to_string(count) +
                " visible); start at most one worker per GPU on each machine");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

void use_device(c10::Device device) {
  if (device.is_cuda()) c10::impl::getDeviceGuardImpl(c10::kCUDA)->setDevice(device);
}

}  // namespace greedyhash
