// Compiled into each executable where jemalloc was not found (cmake/GreedyhashJemalloc.cmake).
#include <string>

#include "greedyhash/runtime/allocator.h"

namespace greedyhash {

std::string allocator_description() {
  return "glibc malloc (built without libjemalloc-dev)";
}

}  // namespace greedyhash
