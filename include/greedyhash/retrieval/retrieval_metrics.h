#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "greedyhash/retrieval/labeled_codes.h"

namespace greedyhash {

// Retrieval metrics over Hamming ranking, as docs/PROTOCOL.md section 3 defines them. An item is
// relevant to a query when they share at least one label. Every function makes one pass
// over the database per query (a few queries at a time), without any sort: the ranks
// follow from per-distance counts (a counting sort). Memory is O(N + K) per worker thread,
// never a query x database matrix. Queries run in parallel on at::get_num_threads()
// workers (see configure_threads), and the results are bit-identical for any thread count:
// per-query values are kept, and sums are taken in a fixed order (within blocks of 16 queries, then
// over the blocks).
//
// Errors (greedyhash::Error): different bit lengths or class counts between queries and
// database, an empty query set or database, top_k, an N or a Hamming radius < 0.

// Mean average precision. AP(q) = (1/R_q) sum_j j / p_j over the relevant items at
// 1-based rank positions p_1 < p_2 < ..., R_q = number of relevant items considered.
struct MeanAveragePrecision {
  double map = 0.0;        // mean of `ap` over all queries (queries with AP 0 included)
  std::vector<double> ap;  // AP of each query, in query order
  int64_t top_k = 0;       // ranks considered: the database size for mAP@all
  // Queries with no relevant item among the considered ranks (their AP is 0); tie-aware:
  // in every order of the ties.
  int64_t num_queries_without_relevant = 0;
  bool tie_aware = false;
};

// Precision and recall when retrieving every item within Hamming radius r, for
// r = 0..K (index r). Both are means of per-query values:
// - precision[r] averages over the queries that retrieve at least one item within r
//   (num_queries_retrieving[r] of them); a query retrieving nothing has no precision and
//   is left out, rather than counted as 0 or 1. With no such query, precision[r] = 0.
// - recall[r] averages over the queries that have at least one relevant item in the
//   database (a query without any has no recall); 0 when there is none.
struct PrecisionRecallCurve {
  std::vector<double> precision;
  std::vector<double> recall;
  std::vector<int64_t> num_queries_retrieving;
};

// Precision and recall when retrieving every item within Hamming radius `radius` (the
// "P@H<=2" of HashNet, DPSH and others at radius 2), as docs/PROTOCOL.md section 3.5
// defines them. Unlike PrecisionRecallCurve, both are means over all queries:
// - a query that retrieves nothing has precision 0 (num_queries_retrieving_nothing of them);
// - a query with no relevant item in the database has recall 0, as its AP is 0 in mAP.
struct RadiusPrecisionRecall {
  int radius = 0;
  double precision = 0.0;
  double recall = 0.0;
  int64_t num_queries_retrieving_nothing = 0;
};

// Precision of the first N items of the stable ranking, averaged over all queries.
struct PrecisionAtN {
  std::vector<int64_t> n;         // as requested, 0 and values above the size -> size
  std::vector<double> precision;  // (relevant items among the first n) / n, mean
};

struct RetrievalOptions {
  int64_t top_k = 0;  // mAP@top_k; 0 (or >= database size) means mAP@all
  bool tie_aware = true;
  bool pr_curve = true;
  std::optional<int> hamming_radius = 2;  // precision/recall within this radius
  std::vector<int64_t> precision_at;      // N values for precision@N; 0 means all
};

struct RetrievalReport {
  int64_t num_queries = 0;
  int64_t database_size = 0;
  int bits = 0;
  MeanAveragePrecision map;  // stable order (distance, then database index), @top_k
  // Expected AP over all orders within each tie group (McSherry & Najork, ECIR 2008),
  // over the whole database (mAP@all), whatever top_k is ...
  std::optional<MeanAveragePrecision> map_tie_aware;
  // ... and @top_k, when top_k is below the database size.
  std::optional<MeanAveragePrecision> map_tie_aware_top_k;
  std::optional<PrecisionRecallCurve> pr_curve;
  std::optional<RadiusPrecisionRecall> within_radius;
  PrecisionAtN precision_at_n;  // empty when options.precision_at is
};

// Whether this CPU has what the AVX-512 kernel of the metrics' database scan needs (F, BW,
// VBMI, VPOPCNTDQ); it then serves one-word codes (up to 64 bits) with at most 64 distinct
// label sets unless GREEDYHASH_PORTABLE_SCAN is set. Other cases take the portable kernel.
bool cpu_has_avx512_scan();

// All metrics the options ask for, from one pass over the database per query.
RetrievalReport evaluate_retrieval(const LabeledCodes& queries, const LabeledCodes& database,
                                   const RetrievalOptions& options = {});

// mAP@top_k (0 = all) in the stable order: ascending distance, ties by database index.
MeanAveragePrecision mean_average_precision(const LabeledCodes& queries,
                                            const LabeledCodes& database, int64_t top_k = 0);

// Tie-aware mAP@top_k (0 = all): independent of any tie rule.
MeanAveragePrecision tie_aware_mean_average_precision(const LabeledCodes& queries,
                                                      const LabeledCodes& database,
                                                      int64_t top_k = 0);

PrecisionRecallCurve precision_recall_curve(const LabeledCodes& queries,
                                            const LabeledCodes& database);

RadiusPrecisionRecall precision_recall_within_radius(const LabeledCodes& queries,
                                                     const LabeledCodes& database, int radius);

PrecisionAtN precision_at_n(const LabeledCodes& queries, const LabeledCodes& database,
                            const std::vector<int64_t>& ns);

}  // namespace greedyhash
