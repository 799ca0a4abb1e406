#include "greedyhash/runtime/threads.h"

#include <thread>

#include <ATen/Parallel.h>

#include "greedyhash/error.h"

namespace greedyhash {

int configure_threads(int requested) {
  if (requested < 0) {
    throw Error("threads must be >= 0 (0 = one per core), got " + std::to_string(requested));
  }
  int threads = requested;
  if (threads == 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  at::set_num_threads(threads);
  return at::get_num_threads();
}

}  // namespace greedyhash
