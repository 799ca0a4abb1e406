#pragma once

#include <cstdint>

#include "hamming_scan.h"

namespace greedyhash::detail {

// Whether this CPU runs scan_one_query_avx512 (AVX-512 F, BW, VBMI, VPOPCNTDQ; checked
// once), and the database suits it: codes of one word, at most 64 distinct label sets.
// The environment variable GREEDYHASH_PORTABLE_SCAN (any value) turns it off, so that
// tests and benchmarks can run the portable kernel on the same machine.
bool vector_scan_applies(const LabeledCodes& database);

constexpr int64_t kVectorScanMaxLabelSets = 64;

VectorScanDatabase make_vector_scan_database(const LabeledCodes& database);

// One query's scan (the same results as the portable kernels): the distances of 64
// database items as 64 bytes in one register, two registers per pass; an item's place in
// its tie group is the running count of its distance plus the items of that distance
// before it in the pass (byte compares and popcounts), so there is no per-item
// read-modify-write.
// relevant_set[u]: whether label set u shares a label with the query.
void scan_one_query_avx512(const VectorScanDatabase& database, uint64_t query_code,
                           const bool* relevant_set, int bits, bool record_hits, QueryScan& scan);

}  // namespace greedyhash::detail
