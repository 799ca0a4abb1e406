#pragma once

#include <cstdint>

// The project compiles for baseline x86-64, where __builtin_popcountll becomes a
// bit-twiddling sequence; the POPCNT instruction is several times faster. Hot loops are
// therefore compiled twice, once for a POPCNT target, and chosen at run time.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GREEDYHASH_POPCNT_DISPATCH 1
#define GREEDYHASH_TARGET_POPCNT __attribute__((target("popcnt")))
#else
#define GREEDYHASH_POPCNT_DISPATCH 0
#define GREEDYHASH_TARGET_POPCNT
#endif

#define GREEDYHASH_ALWAYS_INLINE inline __attribute__((always_inline))

namespace greedyhash::detail {

// Whether the CPU has the POPCNT instruction (checked once).
bool cpu_has_popcnt();

// Hamming distance of two codes of `words` words; kWords > 0 fixes the count at compile
// time (one word covers 12/24/32/48-bit codes).
template <int kWords>
GREEDYHASH_ALWAYS_INLINE int code_distance(const uint64_t* a, const uint64_t* b, int words) {
  if constexpr (kWords == 1) {
    return __builtin_popcountll(a[0] ^ b[0]);
  } else {
    const int n = kWords > 0 ? kWords : words;
    int d = 0;
    for (int w = 0; w < n; ++w) d += __builtin_popcountll(a[w] ^ b[w]);
    return d;
  }
}

}  // namespace greedyhash::detail
