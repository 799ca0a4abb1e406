#include "hamming_scan.h"

#include <algorithm>

#include "hamming_scan_avx512.h"
#include "popcount.h"

namespace greedyhash::detail {

QueryScan::QueryScan(int bits, int64_t database_size)
    : items_at(static_cast<size_t>(bits) + 1),
      relevant_at(static_cast<size_t>(bits) + 1),
      hits(new RelevantHit[static_cast<size_t>(database_size)]) {}

ScanBlock::ScanBlock(int bits, int64_t database_size, int64_t label_sets)
    : cursor_step(static_cast<size_t>(label_sets) * kScanBlock),
      next_hit(static_cast<size_t>(kScanBlock) * (static_cast<size_t>(bits) + 1)),
      pair_counts(2 * next_hit.size()) {
  scans.reserve(kScanBlock);
  for (int t = 0; t < kScanBlock; ++t) scans.emplace_back(bits, database_size);
}

ScanDatabase::ScanDatabase(const LabeledCodes& database) : items(database) {
  if (vector_scan_applies(database)) {
    vector_scan = true;
    vector_items = make_vector_scan_database(database);
    return;
  }
  if (database.codes().words_per_code() != 1) return;
  const uint64_t* codes = database.codes().data();
  const std::vector<uint32_t>& sets = database.labels().set_indices();
  code_and_step_row.resize(2 * static_cast<size_t>(database.size()));
  for (size_t i = 0; i < sets.size(); ++i) {
    code_and_step_row[2 * i] = codes[i];
    code_and_step_row[2 * i + 1] = static_cast<uint64_t>(sets[i]) * kScanBlock;
  }
}

namespace {

// The kernels below are branch-free per item. A hit is always written and only kept
// when the item is relevant: its query's cursor then moves on by cursor_step, looked up
// by the item's label set, since relevance is unpredictable. next[d] holds the hit the
// next item at distance d makes (its place in the tie group and d, already packed), so
// an item costs one load, one add and two stores. Without hits, one counter per
// (distance, relevance) pair takes a single increment.
struct ScanArgs {
  const uint64_t* query_codes;        // kScanBlock rows
  const uint64_t* code_and_step_row;  // ScanDatabase::code_and_step_row (one-word codes)
  const uint64_t* codes;
  const uint32_t* label_set_of;
  const uint64_t* cursor_step;
  int64_t size;
  int code_words;
  int groups;  // K + 1
};

constexpr RelevantHit kNextInGroup = 1;
static_assert(make_hit(1, 0) == kNextInGroup);

template <bool kHits>
void finish_scan(QueryScan& scan, const RelevantHit* next, const uint32_t* counts,
                 uintptr_t cursor) {
  const size_t groups = scan.items_at.size();
  std::fill(scan.relevant_at.begin(), scan.relevant_at.end(), 0u);
  if constexpr (kHits) {
    scan.num_hits = reinterpret_cast<const RelevantHit*>(cursor) - scan.hits.get();
    for (size_t d = 0; d < groups; ++d) scan.items_at[d] = hit_position(next[d]);
    for (int64_t k = 0; k < scan.num_hits; ++k) ++scan.relevant_at[hit_distance(scan.hits[k])];
  } else {
    scan.num_hits = 0;
    for (size_t d = 0; d < groups; ++d) {
      scan.items_at[d] = counts[2 * d] + counts[2 * d + 1];
      scan.relevant_at[d] = counts[2 * d + 1];
    }
  }
}

// One-word codes (K <= 64: 12/24/32/48 bits). The running state sits in arrays on the
// stack, addressed with constant offsets, which leaves the registers to the cursors.
template <bool kHits>
GREEDYHASH_ALWAYS_INLINE void scan_one_word(const ScanArgs& a, ScanBlock& block) {
  constexpr int kB = kScanBlock;
  constexpr int kGroups = 65;
  RelevantHit next[kB][kGroups];
  uint32_t counts[kB][2 * kGroups] = {};
  uintptr_t cursor[kB];
  uint64_t query_code[kB];
  for (int t = 0; t < kB; ++t) {
    for (int d = 0; d < kGroups; ++d) next[t][d] = make_hit(0, static_cast<uint32_t>(d));
    cursor[t] = reinterpret_cast<uintptr_t>(block.scans[t].hits.get());
    query_code[t] = a.query_codes[t];
  }
  const uint64_t* item = a.code_and_step_row;
  const uint64_t* const end = item + 2 * a.size;
  const uint64_t* cursor_step = a.cursor_step;
  for (; item != end; item += 2) {
    const uint64_t code = item[0];
    const uint64_t* step = cursor_step + item[1];
#pragma GCC unroll 8
    for (int t = 0; t < kB; ++t) {
      const uint32_t d = static_cast<uint32_t>(__builtin_popcountll(code ^ query_code[t]));
      if constexpr (kHits) {
        const RelevantHit hit = next[t][d];
        *reinterpret_cast<RelevantHit*>(cursor[t]) = hit;
        cursor[t] += step[t];
        next[t][d] = hit + kNextInGroup;
      } else {
        ++counts[t][2 * d + step[t]];
      }
    }
  }
  for (int t = 0; t < kB; ++t) finish_scan<kHits>(block.scans[t], next[t], counts[t], cursor[t]);
}

// Codes of kCodeWords words (0: a.code_words).
template <int kCodeWords, bool kHits>
GREEDYHASH_ALWAYS_INLINE void scan_any_width(const ScanArgs& a, ScanBlock& block) {
  constexpr int kB = kScanBlock;
  const int cw = kCodeWords > 0 ? kCodeWords : a.code_words;
  const size_t groups = static_cast<size_t>(a.groups);
  RelevantHit* next[kB];
  uint32_t* counts[kB];
  uintptr_t cursor[kB];
  std::fill(block.pair_counts.begin(), block.pair_counts.end(), 0u);
  for (int t = 0; t < kB; ++t) {
    next[t] = block.next_hit.data() + t * groups;
    counts[t] = block.pair_counts.data() + 2 * t * groups;
    for (size_t d = 0; d < groups; ++d) next[t][d] = make_hit(0, static_cast<uint32_t>(d));
    cursor[t] = reinterpret_cast<uintptr_t>(block.scans[t].hits.get());
  }
  const int64_t n = a.size;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t* code = a.codes + i * cw;
    const uint64_t* step = a.cursor_step + static_cast<size_t>(a.label_set_of[i]) * kB;
    for (int t = 0; t < kB; ++t) {
      const uint32_t d =
          static_cast<uint32_t>(code_distance<kCodeWords>(a.query_codes + t * cw, code, cw));
      if constexpr (kHits) {
        const RelevantHit hit = next[t][d];
        *reinterpret_cast<RelevantHit*>(cursor[t]) = hit;
        cursor[t] += step[t];
        next[t][d] = hit + kNextInGroup;
      } else {
        ++counts[t][2 * d + step[t]];
      }
    }
  }
  for (int t = 0; t < kB; ++t) finish_scan<kHits>(block.scans[t], next[t], counts[t], cursor[t]);
}

template <int kCodeWords, bool kHits>
GREEDYHASH_ALWAYS_INLINE void scan_kernel(const ScanArgs& a, ScanBlock& block) {
  if constexpr (kCodeWords == 1) {
    scan_one_word<kHits>(a, block);
  } else {
    scan_any_width<kCodeWords, kHits>(a, block);
  }
}

template <int kCodeWords, bool kHits>
GREEDYHASH_TARGET_POPCNT void scan_popcnt(const ScanArgs& a, ScanBlock& block) {
  scan_kernel<kCodeWords, kHits>(a, block);
}

template <int kCodeWords, bool kHits>
void scan_portable(const ScanArgs& a, ScanBlock& block) {
  scan_kernel<kCodeWords, kHits>(a, block);
}

template <int kCodeWords, bool kHits>
void scan_for_cpu(const ScanArgs& a, ScanBlock& block) {
  if (cpu_has_popcnt()) {
    scan_popcnt<kCodeWords, kHits>(a, block);
  } else {
    scan_portable<kCodeWords, kHits>(a, block);
  }
}

template <int kCodeWords>
void scan_with_code_words(const ScanArgs& a, bool record_hits, ScanBlock& block) {
  if (record_hits) {
    scan_for_cpu<kCodeWords, true>(a, block);
  } else {
    scan_for_cpu<kCodeWords, false>(a, block);
  }
}

// Whether the database's distinct label set u and a query's labels have one in common.
bool shares_a_label(const LabelMasks& labels, int64_t u, const uint64_t* query_labels) {
  const uint64_t* set = labels.distinct_set(u);
  uint64_t shared = 0;
  for (int w = 0; w < labels.words_per_row(); ++w) shared |= set[w] & query_labels[w];
  return shared != 0;
}

}  // namespace

void scan_database(const LabeledCodes& queries, int64_t first, int count,
                   const ScanDatabase& prepared, bool record_hits, ScanBlock& block) {
  const LabeledCodes& database = prepared.items;
  const BinaryCodes& codes = queries.codes();
  const LabelMasks& labels = database.labels();
  if (prepared.vector_scan) {
    bool relevant_set[kVectorScanMaxLabelSets] = {};
    for (int t = 0; t < count; ++t) {
      const uint64_t* query_labels = queries.labels().row(first + t);
      for (int64_t u = 0; u < labels.num_distinct_sets(); ++u) {
        relevant_set[u] = shares_a_label(labels, u, query_labels);
      }
      scan_one_query_avx512(prepared.vector_items, codes.row(first + t)[0], relevant_set,
                            codes.bits(), record_hits, block.scans[static_cast<size_t>(t)]);
    }
    return;
  }
  const int words = codes.words_per_code();
  // A short last block repeats its last query; those extra results are ignored.
  std::vector<uint64_t> query_codes(static_cast<size_t>(kScanBlock) * words);
  for (int t = 0; t < kScanBlock; ++t) {
    const uint64_t* row = codes.row(first + std::min(t, count - 1));
    std::copy(row, row + words, query_codes.begin() + t * words);
  }
  const uint64_t step = record_hits ? sizeof(RelevantHit) : 1;
  for (int64_t u = 0; u < labels.num_distinct_sets(); ++u) {
    for (int t = 0; t < kScanBlock; ++t) {
      const uint64_t* query_labels = queries.labels().row(first + std::min(t, count - 1));
      block.cursor_step[static_cast<size_t>(u) * kScanBlock + t] =
          shares_a_label(labels, u, query_labels) ? step : 0;
    }
  }
  const ScanArgs args{query_codes.data(),
                      prepared.code_and_step_row.data(),
                      database.codes().data(),
                      labels.set_indices().data(),
                      block.cursor_step.data(),
                      database.size(),
                      words,
                      codes.bits() + 1};
  switch (words) {
    case 1:
      scan_with_code_words<1>(args, record_hits, block);
      break;
    case 2:
      scan_with_code_words<2>(args, record_hits, block);
      break;
    default:
      scan_with_code_words<0>(args, record_hits, block);
      break;
  }
}

}  // namespace greedyhash::detail
