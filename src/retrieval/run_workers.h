#pragma once

#include <cstdint>
#include <functional>

namespace greedyhash::detail {

// Runs `worker` on `workers` threads at once (the calling thread is one of them) and
// returns when all have finished; an exception from a worker is rethrown here.
//
// Through at::parallel_for when this translation unit has LibTorch's OpenMP backend
// (compiled with -fopenmp). Without it, at::parallel_for runs its body on the calling
// thread only, so plain std::threads are used instead.
void run_workers(int64_t workers, const std::function<void()>& worker);

}  // namespace greedyhash::detail
