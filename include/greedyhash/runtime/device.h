#pragma once

#include <string>

#include <c10/core/Device.h>

namespace greedyhash {

// Resolves a device request: "auto" (CUDA when this LibTorch has it and a GPU is
// present, else CPU), "cpu", "cuda" or "cuda:N". Asking for CUDA where there is none
// throws greedyhash::Error instead of failing later inside a kernel.
c10::Device select_device(const std::string& request);

// The device of one worker of a data-parallel job with `world_size` workers in all,
// `local_rank` being its number on its machine. One worker: select_device(request).
// Several: "auto" and "cuda" give each worker a GPU of its own, cuda:<local_rank>, when
// GPUs are visible ("auto" falls back to the CPU); an explicit "cuda:N" is an error,
// since every worker would share GPU N (CUDA_VISIBLE_DEVICES picks which GPUs are used),
// and so is a local rank without a GPU of its own.
c10::Device select_worker_device(const std::string& request, int64_t world_size,
                                 int64_t local_rank);

// Makes `device` this process's current CUDA device, where NCCL's communicator and
// allocations that name no index go; nothing for the CPU.
void use_device(c10::Device device);

}  // namespace greedyhash
