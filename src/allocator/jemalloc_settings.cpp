// Compiled into each executable (cmake/GreedyhashJemalloc.cmake).
#include <jemalloc/jemalloc.h>

#include <string>

#include "greedyhash/runtime/allocator.h"

// Read by jemalloc at start-up; MALLOC_CONF in the environment still overrides it. Freed
// memory stays with the process for reuse (no decay), also for the large blocks that
// jemalloc would otherwise give a dedicated, eagerly purged arena (oversize_threshold):
// a training step frees and allocates the same activations and gradients every time.
extern "C" {
const char* malloc_conf = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1";
}

namespace greedyhash {

namespace {

template <typename T>
T read_option(const char* name) {
  T value{};
  size_t size = sizeof value;
  mallctl(name, &value, &size, nullptr, 0);
  return value;
}

}  // namespace

std::string allocator_description() {
  return std::string("jemalloc ") + read_option<const char*>("version") + " (oversize_threshold " +
         std::to_string(read_option<size_t>("opt.oversize_threshold")) + ", dirty_decay_ms " +
         std::to_string(read_option<ssize_t>("opt.dirty_decay_ms")) + ", muzzy_decay_ms " +
         std::to_string(read_option<ssize_t>("opt.muzzy_decay_ms")) + ")";
}

}  // namespace greedyhash
