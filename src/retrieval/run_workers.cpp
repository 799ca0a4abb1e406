#include "run_workers.h"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>

namespace greedyhash::detail {

void run_workers(int64_t workers, const std::function<void()>& worker) {
#ifdef INTRA_OP_PARALLEL
  at::parallel_for(0, workers, 1, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) worker();
  });
#else
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto guarded = [&] {
    try {
      worker();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int64_t w = 1; w < workers; ++w) threads.emplace_back(guarded);
  guarded();
  for (std::thread& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
#endif
}

}  // namespace greedyhash::detail
