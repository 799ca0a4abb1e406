#pragma once

namespace greedyhash {

// Sets LibTorch's intra-op thread count. 0 means one per hardware thread: Debian's
// LibTorch otherwise starts with a single thread. Returns the count in effect.
int configure_threads(int requested);

}  // namespace greedyhash
