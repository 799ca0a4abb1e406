#pragma once

#include <chrono>

namespace greedyhash {

// Wall-clock seconds from `start` (a steady_clock reading) to now.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace greedyhash
