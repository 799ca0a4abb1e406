#pragma once

#include <string>

namespace greedyhash {

// The memory allocator this program runs on and its settings, for logs and benchmark
// records: "jemalloc 5.3.0-... (oversize_threshold 0, dirty_decay_ms -1, ...)" or "glibc
// malloc ...". Defined in src/allocator/, which every executable compiles in.
std::string allocator_description();

}  // namespace greedyhash
