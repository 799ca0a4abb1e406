#pragma once

#include <random>

#include "greedyhash/index/binary_index.h"
#include "greedyhash/retrieval/binary_codes.h"

// Skips a test that needs FAISS in a build without it.
#define GREEDYHASH_REQUIRE_FAISS()      \
  if (!::greedyhash::faiss_available()) \
  GTEST_SKIP() << "built without FAISS (GREEDYHASH_WITH_FAISS)"

namespace greedyhash {

// n uniformly random codes of `bits` bits, reproducible from `seed`.
inline BinaryCodes random_codes(int64_t n, int bits, uint64_t seed) {
  std::mt19937_64 rng(seed);
  BinaryCodes codes(n, bits);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < bits; ++j) codes.set_bit(i, j, (rng() >> 29) & 1u);
  }
  return codes;
}

}  // namespace greedyhash
