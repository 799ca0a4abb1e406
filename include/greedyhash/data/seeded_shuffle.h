#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace greedyhash {

// Random draws whose results are fixed on every platform and standard library.
//
// The generator is std::mt19937_64, whose output sequence the C++ standard fixes
// (its 10000th output from the default seed must be 9981545732273789042). The standard
// does not fix std::uniform_int_distribution or std::shuffle, so the bounded draw and
// the shuffle below are our own, and tests/data/fixtures/seeded_reference.py replicates
// them in Python.

// Uniform integer in [0, bound), bound >= 1, by rejection: a 64-bit draw x is accepted
// when x >= 2^64 mod bound, which leaves a whole number of copies of [0, bound) above
// the threshold, and the result is x mod bound. Unbiased; consumes one or more draws.
uint64_t draw_below(std::mt19937_64& rng, uint64_t bound);

// Fisher-Yates: for i = n-1 down to 1, swap element i with element draw_below(i + 1).
void fisher_yates_shuffle(std::vector<int64_t>& values, std::mt19937_64& rng);

// splitmix64's output function (Steele, Lea and Flood, 2014): a bijective 64-bit mix.
uint64_t mix64(uint64_t value);

// A seed for an independent stream (epoch, batch, rank, ...) derived from a parent seed:
// mix64(mix64(seed) ^ stream). Lets any epoch's draws be recomputed from (seed, epoch)
// alone, without replaying earlier epochs.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

}  // namespace greedyhash
