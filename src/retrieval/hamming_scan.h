#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "greedyhash/retrieval/labeled_codes.h"

namespace greedyhash::detail {

// A relevant database item as one pass in database order sees it: its distance d to the
// query (high 32 bits) and how many items at distance d come before it, its place in the
// tie group (low 32 bits). One word, so the scan stores it with a single write, and the
// next item of the group makes the hit one larger.
using RelevantHit = uint64_t;
constexpr RelevantHit make_hit(uint32_t position_in_group, uint32_t distance) {
  return (static_cast<uint64_t>(distance) << 32) | position_in_group;
}
inline uint32_t hit_distance(RelevantHit hit) {
  return static_cast<uint32_t>(hit >> 32);
}
inline uint32_t hit_position(RelevantHit hit) {
  return static_cast<uint32_t>(hit);
}

// What one pass over the database yields for one query.
struct QueryScan {
  QueryScan(int bits, int64_t database_size);

  std::vector<uint32_t> items_at;     // [d]: database items at distance d
  std::vector<uint32_t> relevant_at;  // [d]: relevant items among them
  // Relevant items in database order (when recorded); room for the whole database, left
  // uninitialised since a scan only touches its first num_hits + 1 entries.
  std::unique_ptr<RelevantHit[]> hits;
  int64_t num_hits = 0;  // valid entries of `hits`
};

// Queries scanned together in one pass over the database: each database code is loaded
// once per block, and the queries' independent updates overlap.
constexpr int kScanBlock = 4;

// Results and scratch space of one worker thread (allocated once, reused per block).
struct ScanBlock {
  ScanBlock(int bits, int64_t database_size, int64_t label_sets);

  std::vector<QueryScan> scans;  // kScanBlock
  // [u * kScanBlock + t]: how far query t's hit cursor moves for an item of label set u
  // (0 when irrelevant).
  std::vector<uint64_t> cursor_step;
  // Running state of the general (multi-word) kernel, kScanBlock x (K + 1) each.
  std::vector<RelevantHit> next_hit;
  std::vector<uint32_t> pair_counts;  // x 2
};

// The layout scan_one_query_avx512 reads (hamming_scan_avx512.h).
struct VectorScanDatabase {
  std::vector<uint64_t> codes;      // one word per item, padded to a multiple of 64 items
  std::vector<uint8_t> label_sets;  // label-set number per item, padded likewise
  int64_t size = 0;
};

// The database as the scan reads it; built once per evaluation.
struct ScanDatabase {
  explicit ScanDatabase(const LabeledCodes& database);

  const LabeledCodes& items;
  // One-word codes only: item i's code and the offset of its label set's row in
  // ScanBlock::cursor_step, side by side, so that a single pointer walks both.
  std::vector<uint64_t> code_and_step_row;
  // Filled when the AVX-512 kernel applies (vector_scan_applies).
  bool vector_scan = false;
  VectorScanDatabase vector_items;
};

// Fills block.scans[0..count) for queries first..first+count-1 (count <= kScanBlock).
// `record_hits` also lists the relevant items, which the stable-order metrics need; the
// histograms alone are cheaper.
void scan_database(const LabeledCodes& queries, int64_t first, int count,
                   const ScanDatabase& database, bool record_hits, ScanBlock& block);

}  // namespace greedyhash::detail
