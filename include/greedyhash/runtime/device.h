#pragma once

#include <string>

#include <c10/core/Device.h>

namespace greedyhash {

// Resolves a device request: "auto" (CUDA when this LibTorch has it and a GPU is
// present, else CPU), "cpu", "cuda" or "cuda:N". Asking for CUDA where there is none
// throws greedyhash::Error instead of failing later inside a kernel.
c10::Device select_device(const std::string& request);

}  // namespace greedyhash
