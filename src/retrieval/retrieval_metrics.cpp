#include "greedyhash/retrieval/retrieval_metrics.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <string>
#include <utility>

#include <ATen/Parallel.h>

#include "greedyhash/error.h"
#include "hamming_scan.h"
#include "run_workers.h"

namespace greedyhash {

namespace {

// Queries are processed in fixed blocks; sums are taken within a block in query order
// and then over blocks in block order, so they do not depend on how at::parallel_for
// hands blocks to threads.
constexpr int64_t kQueryBlock = 2 * detail::kScanBlock;

struct Plan {
  bool stable_map = true;
  int64_t top_k = 0;  // resolved: 1..N
  bool tie_aware = false;
  bool pr_curve = false;
  std::optional<int> radius;
  std::vector<int64_t> precision_at;  // resolved: 1..N
};

void validate(const LabeledCodes& queries, const LabeledCodes& database) {
  if (queries.codes().bits() != database.codes().bits()) {
    throw Error("query codes have " + std::to_string(queries.codes().bits()) +
                " bits but database codes have " + std::to_string(database.codes().bits()) +
                "; encode both with the same model");
  }
  if (queries.labels().num_classes() != database.labels().num_classes()) {
    throw Error("query labels have " + std::to_string(queries.labels().num_classes()) +
                " classes but database labels have " +
                std::to_string(database.labels().num_classes()));
  }
  if (database.size() == 0) throw Error("the database is empty; nothing to retrieve");
  if (queries.size() == 0) throw Error("the query set is empty; no mAP to compute");
  if (database.size() >= int64_t{std::numeric_limits<uint32_t>::max()}) {
    throw Error("the database has " + std::to_string(database.size()) +
                " items; at most 2^32 - 2 are supported");
  }
}

int64_t resolve_count(int64_t requested, int64_t database_size, const char* what) {
  if (requested < 0) {
    throw Error(std::string(what) + " must be >= 0 (0 = the whole database), got " +
                std::to_string(requested));
  }
  return (requested == 0 || requested > database_size) ? database_size : requested;
}

// H[n] = 1 + 1/2 + ... + 1/n, in extended precision: the tie-aware AP takes differences
// H[b] - H[a] that are small next to H itself.
std::vector<long double> harmonic_numbers(int64_t n) {
  std::vector<long double> h(static_cast<size_t>(n) + 1, 0.0L);
  for (int64_t i = 1; i <= n; ++i) {
    h[static_cast<size_t>(i)] = h[static_cast<size_t>(i) - 1] + 1.0L / static_cast<long double>(i);
  }
  return h;
}

// The tie group (distance) that holds rank n (1..N): the first n ranks are the groups
// before it, whole, and its first n - items_before[d] items.
size_t group_holding_rank(const std::vector<int64_t>& items_before, int64_t n) {
  size_t d = 0;
  while (d + 1 < items_before.size() && items_before[d + 1] < n) ++d;
  return d;
}

// Expected sum of j / p over the relevant items of one tie group, over all its orders
// (McSherry & Najork 2008). A group of n items, r of them relevant, follows `before`
// items of which `relevant_before` are relevant. At place t (1..n) of the group, an item
// is relevant with probability r/n; given that, the expected number of relevant items
// among the t - 1 places before it is (t - 1)(r - 1)/(n - 1) (hypergeometric). So the
// sum is
//   (r/n) * sum_{t=1..n} (A + b (t - 1)) / (before + t),  A = relevant_before + 1,
//                                                         b = (r - 1)/(n - 1),
// and writing A + b (t - 1) = b (before + t) + (A - b (before + 1)) turns it into
//   (r/n) * (b n + (A - b (before + 1)) (H[before + n] - H[before])).
// For n = 1 only t = 1 occurs and any b gives the same value; b = 0 avoids 0/0.
long double expected_precision_sum(int64_t n, int64_t r, int64_t before, int64_t relevant_before,
                                   const std::vector<long double>& harmonic) {
  if (r == 0) return 0.0L;
  const long double b = n > 1 ? static_cast<long double>(r - 1) / (n - 1) : 0.0L;
  const long double a = static_cast<long double>(relevant_before + 1);
  const long double dh =
      harmonic[static_cast<size_t>(before + n)] - harmonic[static_cast<size_t>(before)];
  return static_cast<long double>(r) / n * (b * n + (a - b * (before + 1)) * dh);
}

// Hypergeometric probabilities this far below the most likely one are left out.
constexpr long double kNegligibleWeight = 1e-30L;

struct TieAwareAp {
  double ap = 0.0;
  bool any_relevant = false;  // a relevant item within the top K in some order (else AP 0)
};

// Tie-aware AP@K: the expected AP@K over all orders within each tie group. Rank K falls
// into group c (group_holding_rank) of n items, r of them relevant, after B items of which
// R_B are relevant; the first m = K - B places of c are inside the top K. The number X of
// relevant items in those m places is hypergeometric,
//   P(X = x) = C(r, x) C(n - r, m - x) / C(n, m),   max(0, m - n + r) <= x <= min(r, m),
// and sets the denominator R_B + x of AP@K. Given X = x, the relevant places are a
// uniformly random x-subset of the m, so those places add expected_precision_sum(m, x, B,
// R_B). The groups before c add S (the sum of their expected_precision_sum) whatever the
// order within c. Hence
//   E[AP@K] = sum_x P(X = x) (S + expected_precision_sum(m, x, B, R_B)) / (R_B + x),
// a term being 0 where R_B + x = 0 (no relevant item within the top K: AP 0). At K = N,
// X = r and this is the tie-aware AP@all. The sum starts at the most likely x and walks
// outwards with the ratios of consecutive probabilities until they fall below
// kNegligibleWeight of it; the distribution is log-concave, so the part left out is below
// 1e-30 N, far under double precision for any database this code takes.
TieAwareAp tie_aware_average_precision(const std::vector<uint32_t>& items_at,
                                       const std::vector<uint32_t>& relevant_at,
                                       const std::vector<int64_t>& items_before,
                                       const std::vector<int64_t>& relevant_before, int64_t top_k,
                                       const std::vector<long double>& harmonic) {
  const size_t c = group_holding_rank(items_before, top_k);
  long double whole_groups = 0.0L;
  for (size_t d = 0; d < c; ++d) {
    whole_groups += expected_precision_sum(items_at[d], relevant_at[d], items_before[d],
                                           relevant_before[d], harmonic);
  }
  const int64_t n = items_at[c];
  const int64_t r = relevant_at[c];
  const int64_t before = items_before[c];
  const int64_t relevant_b = relevant_before[c];
  const int64_t m = top_k - before;
  const int64_t lowest = std::max<int64_t>(0, m - (n - r));
  const int64_t highest = std::min(r, m);
  if (relevant_b + highest == 0) return {};
  const auto ap_given = [&](int64_t x) {
    if (relevant_b + x == 0) return 0.0L;
    return (whole_groups + expected_precision_sum(m, x, before, relevant_b, harmonic)) /
           static_cast<long double>(relevant_b + x);
  };
  using LD = long double;
  const auto mode =
      std::clamp(static_cast<int64_t>(LD(m + 1) * LD(r + 1) / LD(n + 2)), lowest, highest);
  long double weight_sum = 1.0L;
  long double expectation = ap_given(mode);
  long double weight = 1.0L;
  for (int64_t x = mode; x < highest && weight >= kNegligibleWeight; ++x) {
    weight *= LD(r - x) * LD(m - x) / (LD(x + 1) * LD(n - r - m + x + 1));  // P(x+1)/P(x)
    weight_sum += weight;
    expectation += weight * ap_given(x + 1);
  }
  weight = 1.0L;
  for (int64_t x = mode; x > lowest && weight >= kNegligibleWeight; --x) {
    weight *= LD(x) * LD(n - r - m + x) / (LD(r - x + 1) * LD(m - x + 1));  // P(x-1)/P(x)
    weight_sum += weight;
    expectation += weight * ap_given(x - 1);
  }
  return {static_cast<double>(expectation / weight_sum), true};
}

// Per-block partial sums of the curve-like metrics.
struct BlockSums {
  std::vector<double> precision_sum;  // [r]
  std::vector<int64_t> precision_queries;
  std::vector<double> recall_sum;
  int64_t recall_queries = 0;
  std::vector<double> precision_at_sum;  // [index into plan.precision_at]
  double radius_precision_sum = 0.0;
  double radius_recall_sum = 0.0;
  int64_t radius_retrieving_nothing = 0;
};

struct QueryResults {
  std::vector<double> ap;
  std::vector<uint8_t> ap_had_relevant;
  std::vector<double> ap_tie_aware;
  std::vector<uint8_t> any_relevant;
  std::vector<double> ap_tie_aware_top_k;
  std::vector<uint8_t> tie_aware_top_k_had_relevant;
};

class Evaluator {
 public:
  Evaluator(const LabeledCodes& queries, const LabeledCodes& database, Plan plan)
      : queries_(queries),
        database_(database),
        plan_(std::move(plan)),
        bits_(database.codes().bits()) {}

  RetrievalReport run() {
    const int64_t num_queries = queries_.size();
    if (plan_.tie_aware) harmonic_ = harmonic_numbers(database_.size());
    record_hits_ = plan_.stable_map || !plan_.precision_at.empty();
    if (record_hits_) {
      reciprocal_.resize(static_cast<size_t>(database_.size()) + 1);
      reciprocal_[0] = 0.0;
      for (size_t p = 1; p < reciprocal_.size(); ++p) reciprocal_[p] = 1.0 / static_cast<double>(p);
    }
    results_.ap.assign(static_cast<size_t>(num_queries), 0.0);
    results_.ap_had_relevant.assign(static_cast<size_t>(num_queries), 0);
    results_.ap_tie_aware.assign(static_cast<size_t>(num_queries), 0.0);
    results_.any_relevant.assign(static_cast<size_t>(num_queries), 0);
    if (tie_aware_top_k()) {
      results_.ap_tie_aware_top_k.assign(static_cast<size_t>(num_queries), 0.0);
      results_.tie_aware_top_k_had_relevant.assign(static_cast<size_t>(num_queries), 0);
    }
    const int64_t num_blocks = (num_queries + kQueryBlock - 1) / kQueryBlock;
    blocks_.assign(static_cast<size_t>(num_blocks), BlockSums{});

    // Each worker takes the next unclaimed block until none is left, so that a worker
    // slowed down by other processes on a shared machine does not hold up the others.
    // Results do not depend on who computed a block.
    const detail::ScanDatabase prepared(database_);
    std::atomic<int64_t> next_block{0};
    const int64_t workers = std::min<int64_t>(at::get_num_threads(), num_blocks);
    detail::run_workers(workers, [&] {
      detail::ScanBlock scan_block(bits_, database_.size(), database_.labels().num_distinct_sets());
      Scratch scratch(bits_);
      for (int64_t block = next_block++; block < num_blocks; block = next_block++) {
        BlockSums& sums = blocks_[static_cast<size_t>(block)];
        init_block(sums);
        const int64_t end = std::min(num_queries, (block + 1) * kQueryBlock);
        for (int64_t q = block * kQueryBlock; q < end; q += detail::kScanBlock) {
          const int count = static_cast<int>(std::min<int64_t>(detail::kScanBlock, end - q));
          detail::scan_database(queries_, q, count, prepared, record_hits_, scan_block);
          for (int t = 0; t < count; ++t) {
            evaluate_query(q + t, scan_block.scans[static_cast<size_t>(t)], scratch, sums);
          }
        }
      }
    });
    return report();
  }

 private:
  struct Scratch {
    explicit Scratch(int bits)
        : items_before(static_cast<size_t>(bits) + 1),
          relevant_before(static_cast<size_t>(bits) + 1),
          next_j(static_cast<size_t>(bits) + 1),
          first_rank(static_cast<size_t>(bits) + 1),
          is_cut(static_cast<size_t>(bits) + 1) {}
    std::vector<int64_t> items_before;
    std::vector<int64_t> relevant_before;
    std::vector<int64_t> next_j;
    std::vector<int64_t> first_rank;
    std::vector<int64_t> first_n_relevant;
    std::vector<uint32_t> cut_group;
    std::vector<int64_t> cut_position;
    std::vector<uint8_t> is_cut;
  };

  void init_block(BlockSums& sums) const {
    if (plan_.pr_curve) {
      sums.precision_sum.assign(static_cast<size_t>(bits_) + 1, 0.0);
      sums.precision_queries.assign(static_cast<size_t>(bits_) + 1, 0);
      sums.recall_sum.assign(static_cast<size_t>(bits_) + 1, 0.0);
    }
    sums.precision_at_sum.assign(plan_.precision_at.size(), 0.0);
  }

  void evaluate_query(int64_t q, const detail::QueryScan& scan, Scratch& s, BlockSums& sums) {
    const size_t groups = static_cast<size_t>(bits_) + 1;
    int64_t before = 0;
    int64_t relevant_before = 0;
    for (size_t d = 0; d < groups; ++d) {
      s.items_before[d] = before;
      s.relevant_before[d] = relevant_before;
      before += scan.items_at[d];
      relevant_before += scan.relevant_at[d];
    }
    const int64_t total_relevant = relevant_before;
    results_.any_relevant[static_cast<size_t>(q)] = total_relevant > 0;

    if (record_hits_) stable_order_metrics(q, scan, s, sums);
    if (plan_.tie_aware) tie_aware_metrics(q, scan, s);
    if (plan_.radius) within_radius(scan, s, total_relevant, sums);
    if (plan_.pr_curve) {
      int64_t retrieved = 0;
      int64_t retrieved_relevant = 0;
      for (size_t d = 0; d < groups; ++d) {
        retrieved += scan.items_at[d];
        retrieved_relevant += scan.relevant_at[d];
        if (retrieved > 0) {
          sums.precision_sum[d] += static_cast<double>(retrieved_relevant) / retrieved;
          ++sums.precision_queries[d];
        }
        if (total_relevant > 0) {
          sums.recall_sum[d] += static_cast<double>(retrieved_relevant) / total_relevant;
        }
      }
      if (total_relevant > 0) ++sums.recall_queries;
    }
  }

  // Tie-aware AP@all, and @top_k when that is less.
  void tie_aware_metrics(int64_t q, const detail::QueryScan& scan, const Scratch& s) {
    const auto ap_at = [&](int64_t k) {
      return tie_aware_average_precision(scan.items_at, scan.relevant_at, s.items_before,
                                         s.relevant_before, k, harmonic_);
    };
    results_.ap_tie_aware[static_cast<size_t>(q)] = ap_at(database_.size()).ap;
    if (tie_aware_top_k()) {
      const TieAwareAp at_k = ap_at(plan_.top_k);
      results_.ap_tie_aware_top_k[static_cast<size_t>(q)] = at_k.ap;
      results_.tie_aware_top_k_had_relevant[static_cast<size_t>(q)] = at_k.any_relevant;
    }
  }

  // Everything within the radius is retrieved: the distance histograms up to it suffice.
  void within_radius(const detail::QueryScan& scan, const Scratch& s, int64_t total_relevant,
                     BlockSums& sums) const {
    const size_t last = static_cast<size_t>(std::min(*plan_.radius, bits_));
    const int64_t retrieved = s.items_before[last] + scan.items_at[last];
    const int64_t relevant = s.relevant_before[last] + scan.relevant_at[last];
    if (retrieved > 0) {
      sums.radius_precision_sum += static_cast<double>(relevant) / retrieved;
    } else {
      ++sums.radius_retrieving_nothing;
    }
    if (total_relevant > 0) {
      sums.radius_recall_sum += static_cast<double>(relevant) / total_relevant;
    }
  }

  bool tie_aware_top_k() const { return plan_.tie_aware && plan_.top_k < database_.size(); }

  // AP@top_k and precision@N in the stable order. A relevant item at distance d that
  // has m items of its tie group before it (in database order) sits at rank
  // p = items_before[d] + m + 1 and is relevant item number
  // j = relevant_before[d] + (relevant items of the group before it) + 1.
  void stable_order_metrics(int64_t q, const detail::QueryScan& scan, Scratch& s, BlockSums& sums) {
    const size_t groups = static_cast<size_t>(bits_) + 1;
    for (size_t d = 0; d < groups; ++d) {
      s.next_j[d] = s.relevant_before[d] + 1;
      s.first_rank[d] = s.items_before[d] + 1;
    }
    double sum = 0.0;
    int64_t considered = 0;
    if (plan_.top_k == database_.size()) {
      sum_precisions<true>(scan, s, sum, considered);
    } else {
      sum_precisions<false>(scan, s, sum, considered);
    }
    results_.ap[static_cast<size_t>(q)] = considered > 0 ? sum / considered : 0.0;
    results_.ap_had_relevant[static_cast<size_t>(q)] = considered > 0;
    if (!plan_.precision_at.empty()) precision_at_n(scan, s, sums);
  }

  // sum = sum of j / p over the hits within top_k, considered = their number.
  // j / p is taken as j * (1 / p) from a table: a multiplication instead of a division
  // per relevant item, at most one rounding step away. Four partial sums, always
  // combined in the same pattern, keep the additions from waiting on each other.
  template <bool kAllRanks>
  void sum_precisions(const detail::QueryScan& scan, Scratch& s, double& sum,
                      int64_t& considered) const {
    const detail::RelevantHit* hits = scan.hits.get();
    const int64_t num_hits = scan.num_hits;
    const double* reciprocal = reciprocal_.data();
    int64_t* next_j = s.next_j.data();
    const int64_t* first_rank = s.first_rank.data();
    const int64_t top_k = plan_.top_k;
    int64_t counted = 0;
    const auto term = [&](int64_t k) {
      const uint32_t d = detail::hit_distance(hits[k]);
      const int64_t j = next_j[d]++;
      const int64_t p = first_rank[d] + detail::hit_position(hits[k]);
      if constexpr (kAllRanks) {
        return static_cast<double>(j) * reciprocal[p];
      } else {
        const bool in_top = p <= top_k;
        counted += in_top;
        return in_top ? static_cast<double>(j) * reciprocal[p] : 0.0;
      }
    };
    double s0 = 0.0;
    double s1 = 0.0;
    double s2 = 0.0;
    double s3 = 0.0;
    int64_t k = 0;
    for (; k + 4 <= num_hits; k += 4) {
      s0 += term(k);
      s1 += term(k + 1);
      s2 += term(k + 2);
      s3 += term(k + 3);
    }
    for (; k < num_hits; ++k) s0 += term(k);
    sum = (s0 + s1) + (s2 + s3);
    considered = kAllRanks ? num_hits : counted;
  }

  // The first N ranks hold every item closer than the distance d* at which rank N falls,
  // and the first N - items_before[d*] items of group d*. So precision@N needs only the
  // relevant items of the cut groups d*, which arrive in group order.
  void precision_at_n(const detail::QueryScan& scan, Scratch& s, BlockSums& sums) const {
    const size_t num_n = plan_.precision_at.size();
    s.cut_group.resize(num_n);
    s.cut_position.resize(num_n);
    s.first_n_relevant.assign(num_n, 0);
    std::fill(s.is_cut.begin(), s.is_cut.end(), 0);
    for (size_t t = 0; t < num_n; ++t) {
      const int64_t n = plan_.precision_at[t];
      const size_t d = group_holding_rank(s.items_before, n);
      s.cut_group[t] = static_cast<uint32_t>(d);
      s.cut_position[t] = n - s.items_before[d];
      s.first_n_relevant[t] = s.relevant_before[d];
      s.is_cut[d] = 1;
    }
    for (int64_t k = 0; k < scan.num_hits; ++k) {
      const detail::RelevantHit hit = scan.hits[k];
      const uint32_t d = detail::hit_distance(hit);
      if (!s.is_cut[d]) continue;
      for (size_t t = 0; t < num_n; ++t) {
        s.first_n_relevant[t] +=
            s.cut_group[t] == d && detail::hit_position(hit) < s.cut_position[t];
      }
    }
    for (size_t t = 0; t < num_n; ++t) {
      sums.precision_at_sum[t] +=
          static_cast<double>(s.first_n_relevant[t]) / plan_.precision_at[t];
    }
  }

  static MeanAveragePrecision summarise(const std::vector<double>& ap,
                                        const std::vector<uint8_t>& had_relevant, int64_t top_k,
                                        bool tie_aware) {
    MeanAveragePrecision m;
    m.ap = ap;
    m.top_k = top_k;
    m.tie_aware = tie_aware;
    double sum = 0.0;
    for (size_t q = 0; q < ap.size(); ++q) {
      sum += ap[q];
      m.num_queries_without_relevant += had_relevant[q] == 0;
    }
    m.map = sum / static_cast<double>(ap.size());
    return m;
  }

  RetrievalReport report() const {
    RetrievalReport r;
    r.num_queries = queries_.size();
    r.database_size = database_.size();
    r.bits = bits_;
    const double num_queries = static_cast<double>(queries_.size());
    if (plan_.stable_map) {
      r.map = summarise(results_.ap, results_.ap_had_relevant, plan_.top_k, false);
    }
    if (plan_.tie_aware) {
      r.map_tie_aware =
          summarise(results_.ap_tie_aware, results_.any_relevant, database_.size(), true);
    }
    if (tie_aware_top_k()) {
      r.map_tie_aware_top_k = summarise(results_.ap_tie_aware_top_k,
                                        results_.tie_aware_top_k_had_relevant, plan_.top_k, true);
    }
    if (plan_.radius) r.within_radius = within_radius_means(num_queries);
    if (plan_.pr_curve) {
      PrecisionRecallCurve curve;
      const size_t groups = static_cast<size_t>(bits_) + 1;
      std::vector<double> precision_sum(groups, 0.0);
      std::vector<double> recall_sum(groups, 0.0);
      curve.num_queries_retrieving.assign(groups, 0);
      int64_t recall_queries = 0;
      for (const BlockSums& block : blocks_) {
        for (size_t d = 0; d < groups; ++d) {
          precision_sum[d] += block.precision_sum[d];
          recall_sum[d] += block.recall_sum[d];
          curve.num_queries_retrieving[d] += block.precision_queries[d];
        }
        recall_queries += block.recall_queries;
      }
      curve.precision.resize(groups);
      curve.recall.resize(groups);
      for (size_t d = 0; d < groups; ++d) {
        const int64_t retrieving = curve.num_queries_retrieving[d];
        curve.precision[d] = retrieving > 0 ? precision_sum[d] / retrieving : 0.0;
        curve.recall[d] = recall_queries > 0 ? recall_sum[d] / recall_queries : 0.0;
      }
      r.pr_curve = std::move(curve);
    }
    r.precision_at_n.n = plan_.precision_at;
    r.precision_at_n.precision.assign(plan_.precision_at.size(), 0.0);
    for (const BlockSums& block : blocks_) {
      for (size_t t = 0; t < plan_.precision_at.size(); ++t) {
        r.precision_at_n.precision[t] += block.precision_at_sum[t];
      }
    }
    for (double& p : r.precision_at_n.precision) p /= num_queries;
    return r;
  }

  RadiusPrecisionRecall within_radius_means(double num_queries) const {
    RadiusPrecisionRecall w;
    w.radius = *plan_.radius;
    for (const BlockSums& block : blocks_) {
      w.precision += block.radius_precision_sum;
      w.recall += block.radius_recall_sum;
      w.num_queries_retrieving_nothing += block.radius_retrieving_nothing;
    }
    w.precision /= num_queries;
    w.recall /= num_queries;
    return w;
  }

  const LabeledCodes& queries_;
  const LabeledCodes& database_;
  const Plan plan_;
  const int bits_;
  bool record_hits_ = false;
  std::vector<long double> harmonic_;
  std::vector<double> reciprocal_;  // [p] = 1 / p
  // Written by worker threads at disjoint indices (per query, per block).
  QueryResults results_;
  std::vector<BlockSums> blocks_;
};

Plan make_plan(const LabeledCodes& queries, const LabeledCodes& database, bool stable_map,
               const RetrievalOptions& options) {
  validate(queries, database);
  Plan plan;
  plan.stable_map = stable_map;
  plan.top_k = resolve_count(options.top_k, database.size(), "top_k");
  plan.tie_aware = options.tie_aware;
  plan.pr_curve = options.pr_curve;
  if (options.hamming_radius && *options.hamming_radius < 0) {
    throw Error("the Hamming radius must be >= 0, got " + std::to_string(*options.hamming_radius));
  }
  plan.radius = options.hamming_radius;
  for (const int64_t n : options.precision_at) {
    plan.precision_at.push_back(resolve_count(n, database.size(), "precision@N's N"));
  }
  return plan;
}

// Options asking for mAP@top_k alone; the single-metric functions switch one more on.
RetrievalOptions only_map(int64_t top_k = 0) {
  RetrievalOptions options;
  options.top_k = top_k;
  options.tie_aware = false;
  options.pr_curve = false;
  options.hamming_radius.reset();
  return options;
}

RetrievalReport run_plan(const LabeledCodes& queries, const LabeledCodes& database, bool stable_map,
                         const RetrievalOptions& options) {
  return Evaluator(queries, database, make_plan(queries, database, stable_map, options)).run();
}

}  // namespace

RetrievalReport evaluate_retrieval(const LabeledCodes& queries, const LabeledCodes& database,
                                   const RetrievalOptions& options) {
  return run_plan(queries, database, true, options);
}

MeanAveragePrecision mean_average_precision(const LabeledCodes& queries,
                                            const LabeledCodes& database, int64_t top_k) {
  return run_plan(queries, database, true, only_map(top_k)).map;
}

MeanAveragePrecision tie_aware_mean_average_precision(const LabeledCodes& queries,
                                                      const LabeledCodes& database, int64_t top_k) {
  RetrievalOptions options = only_map(top_k);
  options.tie_aware = true;
  RetrievalReport report = run_plan(queries, database, false, options);
  return report.map_tie_aware_top_k ? std::move(*report.map_tie_aware_top_k)
                                    : std::move(*report.map_tie_aware);
}

PrecisionRecallCurve precision_recall_curve(const LabeledCodes& queries,
                                            const LabeledCodes& database) {
  RetrievalOptions options = only_map();
  options.pr_curve = true;
  return *run_plan(queries, database, false, options).pr_curve;
}

RadiusPrecisionRecall precision_recall_within_radius(const LabeledCodes& queries,
                                                     const LabeledCodes& database, int radius) {
  RetrievalOptions options = only_map();
  options.hamming_radius = radius;
  return *run_plan(queries, database, false, options).within_radius;
}

PrecisionAtN precision_at_n(const LabeledCodes& queries, const LabeledCodes& database,
                            const std::vector<int64_t>& ns) {
  RetrievalOptions options = only_map();
  options.precision_at = ns;
  return run_plan(queries, database, false, options).precision_at_n;
}

}  // namespace greedyhash
