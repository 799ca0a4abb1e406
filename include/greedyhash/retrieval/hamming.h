#pragma once

#include <cstdint>
#include <vector>

#include "greedyhash/retrieval/binary_codes.h"

namespace greedyhash {

// Hamming distance between code i of `a` and code j of `b` (same bit length).
int hamming_distance(const BinaryCodes& a, int64_t i, const BinaryCodes& b, int64_t j);

// Distances from code `query` of `queries` to every code of `database`, in database
// order. Throws greedyhash::Error when the bit lengths differ.
std::vector<int32_t> hamming_distances(const BinaryCodes& queries, int64_t query,
                                       const BinaryCodes& database);

// The database indices ranked for code `query`: ascending distance, ties by ascending
// database index (the stable order of docs/PROTOCOL.md section 3.1). A counting sort over the K + 1
// possible distances: O(N + K) time, no comparison sort.
std::vector<int64_t> hamming_ranking(const BinaryCodes& queries, int64_t query,
                                     const BinaryCodes& database);

}  // namespace greedyhash
