#include "greedyhash/retrieval/retrieval_metrics.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"

namespace greedyhash {
namespace {

// ---------------------------------------------------------------------------------------
// A deliberately simple reference: +-1 float codes, distance (K - <a, b>) / 2, a stable
// sort of the database indices, textbook AP over the ranked list.

struct Reference {
  std::vector<double> distance;  // per database item
  std::vector<bool> relevant;    // per database item
  std::vector<int64_t> order;    // stable ranking
};

Reference reference_for(const torch::Tensor& query_pm1, const torch::Tensor& query_labels,
                        const torch::Tensor& db_pm1, const torch::Tensor& db_labels) {
  Reference r;
  const auto dot = torch::mv(db_pm1.to(torch::kDouble), query_pm1.to(torch::kDouble));
  const auto shared = torch::mv(db_labels.to(torch::kDouble), query_labels.to(torch::kDouble));
  const int64_t n = db_pm1.size(0);
  for (int64_t i = 0; i < n; ++i) {
    r.distance.push_back((static_cast<double>(db_pm1.size(1)) - dot[i].item<double>()) / 2);
    r.relevant.push_back(shared[i].item<double>() > 0);
  }
  r.order.resize(static_cast<size_t>(n));
  std::iota(r.order.begin(), r.order.end(), 0);
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](int64_t a, int64_t b) { return r.distance[a] < r.distance[b]; });
  return r;
}

// Textbook AP of a ranked relevance list, over its first `top_k` entries.
double textbook_ap(const std::vector<bool>& relevant_in_rank_order, size_t top_k) {
  double sum = 0.0;
  int found = 0;
  for (size_t pos = 1; pos <= std::min(top_k, relevant_in_rank_order.size()); ++pos) {
    if (relevant_in_rank_order[pos - 1]) {
      ++found;
      sum += static_cast<double>(found) / static_cast<double>(pos);
    }
  }
  return found > 0 ? sum / found : 0.0;
}

std::vector<bool> ranked_relevance(const Reference& r) {
  std::vector<bool> out;
  for (const int64_t i : r.order) out.push_back(r.relevant[static_cast<size_t>(i)]);
  return out;
}

// Expected AP@top_k over random orders inside each tie group, summed position by
// position. Rank top_k falls into group c, whose first m places are inside the top K; the
// number x of its relevant items there is hypergeometric (binomial coefficients from
// lgamma). Given x, a relevant item of a group of n places holding x relevant ones lands
// on place t with probability x/n, with (t - 1)(x - 1)/(n - 1) of the others before it on
// average. (The enumeration tests below check this against all orders.)
double reference_tie_aware_ap(const Reference& r, int bits, int64_t top_k) {
  std::vector<int64_t> n(static_cast<size_t>(bits) + 1, 0);
  std::vector<int64_t> rel(static_cast<size_t>(bits) + 1, 0);
  for (size_t i = 0; i < r.distance.size(); ++i) {
    ++n[static_cast<size_t>(r.distance[i])];
    rel[static_cast<size_t>(r.distance[i])] += r.relevant[i];
  }
  // Sum over places 1..places of a group with `hits` relevant items after `before` items,
  // `relevant_before` of them relevant.
  const auto group_sum = [](int64_t places, int64_t hits, int64_t before, int64_t relevant_before) {
    double sum = 0.0;
    for (int64_t t = 1; t <= places; ++t) {
      const double others =
          places > 1 ? static_cast<double>((t - 1) * (hits - 1)) / (places - 1) : 0.0;
      sum += static_cast<double>(hits) / places * (relevant_before + 1 + others) / (before + t);
    }
    return sum;
  };
  const auto log_choose = [](int64_t a, int64_t b) {
    return std::lgamma(a + 1.0) - std::lgamma(b + 1.0) - std::lgamma(a - b + 1.0);
  };
  double whole = 0.0;
  int64_t before = 0;
  int64_t relevant_before = 0;
  size_t c = 0;
  while (before + n[c] < top_k) {
    whole += group_sum(n[c], rel[c], before, relevant_before);
    before += n[c];
    relevant_before += rel[c];
    ++c;
  }
  const int64_t m = top_k - before;
  double expected = 0.0;
  for (int64_t x = 0; x <= std::min(rel[c], m); ++x) {
    if (m - x > n[c] - rel[c] || relevant_before + x == 0) continue;
    const double p =
        std::exp(log_choose(rel[c], x) + log_choose(n[c] - rel[c], m - x) - log_choose(n[c], m));
    expected += p * (whole + group_sum(m, x, before, relevant_before)) / (relevant_before + x);
  }
  return expected;
}

// Precision and recall within Hamming radius `radius` of one query, by looking at every
// item: precision 0 when nothing is retrieved, recall 0 when nothing is relevant.
struct RadiusReference {
  double precision = 0.0;
  double recall = 0.0;
  bool retrieved_nothing = false;
};

RadiusReference reference_within_radius(const Reference& r, int radius) {
  int64_t retrieved = 0;
  int64_t retrieved_relevant = 0;
  int64_t relevant = 0;
  for (size_t i = 0; i < r.distance.size(); ++i) {
    relevant += r.relevant[i];
    if (r.distance[i] <= radius) {
      ++retrieved;
      retrieved_relevant += r.relevant[i];
    }
  }
  RadiusReference out;
  out.retrieved_nothing = retrieved == 0;
  if (retrieved > 0) out.precision = static_cast<double>(retrieved_relevant) / retrieved;
  if (relevant > 0) out.recall = static_cast<double>(retrieved_relevant) / relevant;
  return out;
}

struct RandomSet {
  torch::Tensor pm1;     // N x K float +-1
  torch::Tensor labels;  // N x C uint8
};

// Codes near a few shared centres (heavy ties), labels single- or multi-label; some
// multi-label rows are empty, so some items are relevant to nothing.
RandomSet random_set(int64_t n, int bits, int64_t classes, bool multi_label,
                     const torch::Tensor& centres) {
  RandomSet s;
  const auto pick = torch::randint(centres.size(0), {n}, torch::kLong);
  const auto flips = (torch::rand({n, bits}) < 0.1).to(torch::kFloat);
  s.pm1 = centres.index_select(0, pick) * (1 - 2 * flips);
  if (multi_label) {
    s.labels = (torch::rand({n, classes}) < 0.3).to(torch::kUInt8);
  } else {
    s.labels =
        torch::one_hot(torch::randint(classes, {n}, torch::kLong), classes).to(torch::kUInt8);
  }
  return s;
}

LabeledCodes labeled(const RandomSet& s) {
  return LabeledCodes(BinaryCodes::from_tensor(s.pm1), s.labels);
}

// Every metric of evaluate_retrieval, mAP@K (stable and tie-aware) and precision/recall
// within several Hamming radii against the reference, query by query.
void check_against_reference(int bits, int64_t classes, bool multi_label) {
  SCOPED_TRACE("bits " + std::to_string(bits) + ", classes " + std::to_string(classes) +
               (multi_label ? ", multi-label" : ", single-label"));
  torch::manual_seed(1000 + bits + multi_label);
  const auto centres = torch::randint(2, {4, bits}).to(torch::kFloat) * 2 - 1;
  const int64_t num_db = 301;
  const RandomSet q = random_set(21, bits, classes, multi_label, centres);
  const RandomSet db = random_set(num_db, bits, classes, multi_label, centres);
  const LabeledCodes queries = labeled(q);
  const LabeledCodes database = labeled(db);

  RetrievalOptions options;
  options.precision_at = {1, 10, 100, 301, 0, 1000};
  const RetrievalReport report = evaluate_retrieval(queries, database, options);
  const std::vector<size_t> top_ks = {1, 7, 150, 301};
  std::vector<MeanAveragePrecision> at_k;
  std::vector<MeanAveragePrecision> tie_at_k;
  for (const size_t k : top_ks) {
    at_k.push_back(mean_average_precision(queries, database, static_cast<int64_t>(k)));
    tie_at_k.push_back(
        tie_aware_mean_average_precision(queries, database, static_cast<int64_t>(k)));
  }
  const std::vector<int> radii = {0, 1, 2, 3, bits / 4, bits, bits + 5};
  std::vector<RadiusPrecisionRecall> within;
  for (const int radius : radii) {
    within.push_back(precision_recall_within_radius(queries, database, radius));
  }

  double map = 0.0;
  double map_tie = 0.0;
  std::vector<double> map_at_k(top_ks.size(), 0.0);
  std::vector<double> map_tie_at_k(top_ks.size(), 0.0);
  std::vector<int64_t> tie_at_k_without_relevant(top_ks.size(), 0);
  std::vector<RadiusPrecisionRecall> within_sum(radii.size());
  std::vector<double> p_at_n(options.precision_at.size(), 0.0);
  std::vector<double> precision_sum(static_cast<size_t>(bits) + 1, 0.0);
  std::vector<int64_t> precision_queries(static_cast<size_t>(bits) + 1, 0);
  std::vector<double> recall_sum(static_cast<size_t>(bits) + 1, 0.0);
  int64_t recall_queries = 0;
  int64_t without_relevant = 0;
  for (int64_t i = 0; i < q.pm1.size(0); ++i) {
    const Reference r = reference_for(q.pm1[i], q.labels[i], db.pm1, db.labels);
    const std::vector<bool> ranked = ranked_relevance(r);
    const double ap = textbook_ap(ranked, ranked.size());
    EXPECT_NEAR(report.map.ap[static_cast<size_t>(i)], ap, 1e-12) << "query " << i;
    map += ap;
    const int64_t total_relevant = std::count(ranked.begin(), ranked.end(), true);
    without_relevant += total_relevant == 0;
    const double tie = reference_tie_aware_ap(r, bits, num_db);
    EXPECT_NEAR(report.map_tie_aware->ap[static_cast<size_t>(i)], tie, 1e-12) << i;
    map_tie += tie;
    for (size_t k = 0; k < top_ks.size(); ++k) {
      const double ap_k = textbook_ap(ranked, top_ks[k]);
      EXPECT_NEAR(at_k[k].ap[static_cast<size_t>(i)], ap_k, 1e-12) << i << " @" << top_ks[k];
      map_at_k[k] += ap_k;
      const double tie_k = reference_tie_aware_ap(r, bits, static_cast<int64_t>(top_ks[k]));
      EXPECT_NEAR(tie_at_k[k].ap[static_cast<size_t>(i)], tie_k, 1e-12) << i << " @" << top_ks[k];
      map_tie_at_k[k] += tie_k;
      // No relevant item within the top K in any tie order: none closer than the distance
      // at rank K, nor at that distance.
      const double cut_distance = r.distance[static_cast<size_t>(r.order[top_ks[k] - 1])];
      bool any = false;
      for (size_t j = 0; j < r.distance.size(); ++j) {
        any = any || (r.relevant[j] && r.distance[j] <= cut_distance);
      }
      tie_at_k_without_relevant[k] += !any;
    }
    for (size_t t = 0; t < radii.size(); ++t) {
      const RadiusReference w = reference_within_radius(r, radii[t]);
      within_sum[t].precision += w.precision;
      within_sum[t].recall += w.recall;
      within_sum[t].num_queries_retrieving_nothing += w.retrieved_nothing;
    }
    for (size_t t = 0; t < options.precision_at.size(); ++t) {
      size_t n = static_cast<size_t>(options.precision_at[t]);
      if (n == 0 || n > ranked.size()) n = ranked.size();
      p_at_n[t] += static_cast<double>(std::count(ranked.begin(), ranked.begin() + n, true)) /
                   static_cast<double>(n);
    }
    for (int radius = 0; radius <= bits; ++radius) {
      int64_t retrieved = 0;
      int64_t hits = 0;
      for (size_t j = 0; j < r.distance.size(); ++j) {
        if (r.distance[j] <= radius) {
          ++retrieved;
          hits += r.relevant[j];
        }
      }
      if (retrieved > 0) {
        precision_sum[radius] += static_cast<double>(hits) / retrieved;
        ++precision_queries[radius];
      }
      if (total_relevant > 0) recall_sum[radius] += static_cast<double>(hits) / total_relevant;
    }
    recall_queries += total_relevant > 0;
  }
  const double num_queries = static_cast<double>(q.pm1.size(0));
  EXPECT_NEAR(report.map.map, map / num_queries, 1e-12);
  EXPECT_EQ(report.map.top_k, num_db);
  EXPECT_EQ(report.map.num_queries_without_relevant, without_relevant);
  EXPECT_NEAR(report.map_tie_aware->map, map_tie / num_queries, 1e-12);
  for (size_t k = 0; k < top_ks.size(); ++k) {
    EXPECT_NEAR(at_k[k].map, map_at_k[k] / num_queries, 1e-12) << "@" << top_ks[k];
    EXPECT_EQ(at_k[k].top_k, static_cast<int64_t>(top_ks[k]));
    EXPECT_NEAR(tie_at_k[k].map, map_tie_at_k[k] / num_queries, 1e-12) << "@" << top_ks[k];
    EXPECT_EQ(tie_at_k[k].top_k, static_cast<int64_t>(top_ks[k]));
    EXPECT_TRUE(tie_at_k[k].tie_aware);
    EXPECT_EQ(tie_at_k[k].num_queries_without_relevant, tie_at_k_without_relevant[k]);
  }
  // K = the database size is the tie-aware mAP@all.
  EXPECT_NEAR(tie_at_k.back().map, report.map_tie_aware->map, 1e-12);
  EXPECT_FALSE(report.map_tie_aware_top_k.has_value());  // top_k = all
  for (size_t t = 0; t < radii.size(); ++t) {
    SCOPED_TRACE("radius " + std::to_string(radii[t]));
    EXPECT_EQ(within[t].radius, radii[t]);
    EXPECT_NEAR(within[t].precision, within_sum[t].precision / num_queries, 1e-12);
    EXPECT_NEAR(within[t].recall, within_sum[t].recall / num_queries, 1e-12);
    EXPECT_EQ(within[t].num_queries_retrieving_nothing,
              within_sum[t].num_queries_retrieving_nothing);
    if (radii[t] == 2) {
      ASSERT_TRUE(report.within_radius.has_value());
      EXPECT_EQ(report.within_radius->radius, 2);
      EXPECT_NEAR(report.within_radius->precision, within_sum[t].precision / num_queries, 1e-12);
      EXPECT_NEAR(report.within_radius->recall, within_sum[t].recall / num_queries, 1e-12);
      EXPECT_EQ(report.within_radius->num_queries_retrieving_nothing,
                within_sum[t].num_queries_retrieving_nothing);
    }
  }
  EXPECT_EQ(report.precision_at_n.n, (std::vector<int64_t>{1, 10, 100, 301, 301, 301}));
  for (size_t t = 0; t < p_at_n.size(); ++t) {
    EXPECT_NEAR(report.precision_at_n.precision[t], p_at_n[t] / num_queries, 1e-12) << t;
  }
  const PrecisionRecallCurve& curve = *report.pr_curve;
  ASSERT_EQ(curve.precision.size(), static_cast<size_t>(bits) + 1);
  for (int radius = 0; radius <= bits; ++radius) {
    EXPECT_EQ(curve.num_queries_retrieving[radius], precision_queries[radius]);
    const double p =
        precision_queries[radius] > 0 ? precision_sum[radius] / precision_queries[radius] : 0.0;
    EXPECT_NEAR(curve.precision[radius], p, 1e-12) << "radius " << radius;
    EXPECT_NEAR(curve.recall[radius], recall_sum[radius] / recall_queries, 1e-12) << radius;
  }
}

TEST(RetrievalMetrics, MatchesASimpleReferenceOnRandomData) {
  for (const int bits : {8, 12, 24, 32, 48, 64, 100, 128}) {
    for (const bool multi_label : {false, true}) check_against_reference(bits, 5, multi_label);
  }
}

TEST(RetrievalMetrics, MatchesTheReferenceForLongCodesAndManyClasses) {
  // Codes of four words and label sets of two words take the general paths; one-word
  // codes with more than 64 distinct label sets the portable one-word kernel.
  check_against_reference(200, 70, true);
  check_against_reference(1024, 3, false);
  check_against_reference(48, 70, true);
}

// The one-word cases above run the AVX-512 kernel where the CPU has it; this test names
// that path, the next one runs the portable kernel on every CPU.
TEST(RetrievalMetrics, MatchesTheReferenceWithTheAvx512Kernel) {
  if (!cpu_has_avx512_scan()) {
    GTEST_SKIP() << "this CPU lacks AVX-512 F/BW/VBMI/VPOPCNTDQ: the vector scan kernel does "
                    "not run here (the portable kernel is tested below)";
  }
  ASSERT_EQ(std::getenv("GREEDYHASH_PORTABLE_SCAN"), nullptr);
  for (const int bits : {8, 12, 24, 32, 48, 64}) {
    for (const bool multi_label : {false, true}) check_against_reference(bits, 5, multi_label);
  }
}

TEST(RetrievalMetrics, MatchesTheReferenceWithThePortableKernel) {
  const ScopedEnv portable("GREEDYHASH_PORTABLE_SCAN", "1");
  for (const int bits : {8, 12, 24, 32, 48, 64}) {
    for (const bool multi_label : {false, true}) check_against_reference(bits, 5, multi_label);
  }
}

// ---------------------------------------------------------------------------------------
// Hand-worked: K = 4 bits, the query is all -1 with label {0}; item i has code with
// d_i entries +1, so its distance is d_i.
//   item  d  labels   relevant
//   0     2  {0, 1}   yes
//   1     0  {1}      no
//   2     1  {0}      yes
//   3     2  {2}      no
//   4     1  {0, 2}   yes
//   5     4  {0}      yes
// Stable ranking (d, then index): 1, 2, 4, 0, 3, 5; relevant at ranks 2, 3, 4, 6.
//   AP@all = (1/2 + 2/3 + 3/4 + 4/6) / 4 = (31/12) / 4 = 31/48
//   AP@3: ranks 1..3 hold 2 relevant items: (1/2 + 2/3) / 2 = 7/12
//   AP@1: rank 1 is irrelevant: 0 (and the query counts as having no relevant item)
// Tie-aware: d=1 holds two relevant items (ranks 2, 3, either order): 1/2 + 2/3;
//   d=2 holds one relevant of two (ranks 4, 5, j = 3): (3/4 + 3/5) / 2 = 27/40;
//   d=4: 4/6. AP = (1/2 + 2/3 + 27/40 + 2/3) / 4 = (301/120) / 4 = 301/480.
//   Tie-aware AP@4 cuts group d=2 after its first place: it holds the relevant item (rank
//   4, j = 3) or not, each with probability 1/2; d=1 adds 1/2 + 2/3 = 7/6 either way:
//   ((7/6) / 2 + (7/6 + 3/4) / 3) / 2 = (7/12 + 23/36) / 2 = 11/18. Tie-aware AP@2: d=1
//   is all relevant, so rank 2 is: 1/2. Tie-aware AP@1: d=0 is irrelevant: 0.
// Radius r retrieves d <= r: r=0 {1}: P 0, R 0; r=1 {1,2,4}: P 2/3, R 1/2;
//   r=2 and 3 {1,2,4,0,3}: P 3/5, R 3/4; r=4 all: P 4/6, R 1.
// Precision@N: N=1 -> 0, N=2 -> 1/2, N=4 -> 3/4, N=6 -> 4/6.

LabeledCodes hand_worked_database() {
  const auto codes = torch::tensor({{1, 1, -1, -1},
                                    {-1, -1, -1, -1},
                                    {1, -1, -1, -1},
                                    {-1, -1, 1, 1},
                                    {-1, -1, -1, 1},
                                    {1, 1, 1, 1}},
                                   torch::kInt8);
  const auto labels = torch::tensor(
      {{1, 1, 0}, {0, 1, 0}, {1, 0, 0}, {0, 0, 1}, {1, 0, 1}, {1, 0, 0}}, torch::kUInt8);
  return LabeledCodes(BinaryCodes::from_tensor(codes), labels);
}

LabeledCodes hand_worked_query() {
  return LabeledCodes(BinaryCodes::from_tensor(torch::full({1, 4}, -1, torch::kInt8)),
                      torch::tensor({{1, 0, 0}}, torch::kUInt8));
}

TEST(RetrievalMetrics, HandWorkedSixItemDatabase) {
  const LabeledCodes db = hand_worked_database();
  const LabeledCodes q = hand_worked_query();
  EXPECT_NEAR(mean_average_precision(q, db).map, 31.0 / 48.0, 1e-15);
  EXPECT_NEAR(mean_average_precision(q, db, 3).map, 7.0 / 12.0, 1e-15);
  const MeanAveragePrecision at1 = mean_average_precision(q, db, 1);
  EXPECT_EQ(at1.map, 0.0);
  EXPECT_EQ(at1.num_queries_without_relevant, 1);
  const MeanAveragePrecision tie = tie_aware_mean_average_precision(q, db);
  EXPECT_NEAR(tie.map, 301.0 / 480.0, 1e-15);
  EXPECT_TRUE(tie.tie_aware);
  EXPECT_NEAR(tie_aware_mean_average_precision(q, db, 4).map, 11.0 / 18.0, 1e-15);
  EXPECT_NEAR(tie_aware_mean_average_precision(q, db, 2).map, 0.5, 1e-15);
  const MeanAveragePrecision tie_at1 = tie_aware_mean_average_precision(q, db, 1);
  EXPECT_EQ(tie_at1.map, 0.0);
  EXPECT_EQ(tie_at1.num_queries_without_relevant, 1);
  EXPECT_EQ(tie_at1.top_k, 1);

  const PrecisionRecallCurve curve = precision_recall_curve(q, db);
  const std::vector<double> precision = {0.0, 2.0 / 3, 3.0 / 5, 3.0 / 5, 4.0 / 6};
  const std::vector<double> recall = {0.0, 0.5, 0.75, 0.75, 1.0};
  for (size_t r = 0; r < precision.size(); ++r) {
    EXPECT_NEAR(curve.precision[r], precision[r], 1e-15) << r;
    EXPECT_NEAR(curve.recall[r], recall[r], 1e-15) << r;
    EXPECT_EQ(curve.num_queries_retrieving[r], 1);
  }
  for (size_t r = 0; r < precision.size(); ++r) {
    const RadiusPrecisionRecall within = precision_recall_within_radius(q, db, static_cast<int>(r));
    EXPECT_NEAR(within.precision, precision[r], 1e-15) << r;
    EXPECT_NEAR(within.recall, recall[r], 1e-15) << r;
    EXPECT_EQ(within.num_queries_retrieving_nothing, 0);
  }
  const PrecisionAtN p = precision_at_n(q, db, {1, 2, 4, 6});
  EXPECT_EQ(p.precision, (std::vector<double>{0.0, 0.5, 0.75, 4.0 / 6}));
}

TEST(RetrievalMetrics, TopKSmallerEqualAndLargerThanTheDatabase) {
  const LabeledCodes db = hand_worked_database();
  const LabeledCodes q = hand_worked_query();
  const MeanAveragePrecision all = mean_average_precision(q, db, 0);
  EXPECT_EQ(all.top_k, 6);
  for (const int64_t k : {6, 7, 1000}) {
    const MeanAveragePrecision m = mean_average_precision(q, db, k);
    EXPECT_EQ(m.map, all.map) << k;
    EXPECT_EQ(m.top_k, 6) << k;
  }
  // Top 4: ranks 2, 3, 4 relevant: (1/2 + 2/3 + 3/4) / 3 = (23/12) / 3 = 23/36.
  EXPECT_NEAR(mean_average_precision(q, db, 4).map, 23.0 / 36.0, 1e-15);
  EXPECT_EQ(mean_average_precision(q, db, 4).top_k, 4);
}

TEST(RetrievalMetrics, RadiusWithNothingRetrievedIsLeftOutOfThePrecisionMean) {
  // Query A (code 00) retrieves item 0 at radius 0; query B (code 11) retrieves nothing
  // before radius 1. Both have label {0}; item 0 {0}, item 1 {1}.
  const LabeledCodes db(BinaryCodes::from_tensor(torch::tensor({{-1, -1}, {1, -1}})),
                        torch::tensor({{1, 0}, {0, 1}}, torch::kUInt8));
  const LabeledCodes q(BinaryCodes::from_tensor(torch::tensor({{-1, -1}, {1, 1}})),
                       torch::tensor({{1, 0}, {1, 0}}, torch::kUInt8));
  const PrecisionRecallCurve curve = precision_recall_curve(q, db);
  // r=0: only A retrieves (item 0, relevant): precision mean over 1 query = 1.
  EXPECT_EQ(curve.num_queries_retrieving[0], 1);
  EXPECT_EQ(curve.precision[0], 1.0);
  EXPECT_EQ(curve.recall[0], 0.5);  // A: 1, B: 0
  // r=1: A retrieves both (1/2), B retrieves item 1 (0/1): (1/2 + 0) / 2.
  EXPECT_EQ(curve.num_queries_retrieving[1], 2);
  EXPECT_EQ(curve.precision[1], 0.25);
  // Within radius 0 (docs/PROTOCOL.md section 3.5), B's empty result counts with
  // precision 0: (1 + 0) / 2.
  const RadiusPrecisionRecall within = precision_recall_within_radius(q, db, 0);
  EXPECT_EQ(within.precision, 0.5);
  EXPECT_EQ(within.recall, 0.5);
  EXPECT_EQ(within.num_queries_retrieving_nothing, 1);
}

// ---------------------------------------------------------------------------------------
// Ties: tie-aware AP@K equals the mean of textbook AP@K over every order inside the groups.

struct TiedItem {
  int distance;
  bool relevant;
};

// The query: all -1, label {0}. Database item i: its first items[i].distance bits +1 (so
// that is its distance), label {0} when relevant, else {1}.
LabeledCodes query_at_origin(int bits) {
  return LabeledCodes(BinaryCodes::from_tensor(torch::full({1, bits}, -1, torch::kInt8)),
                      torch::tensor({{1, 0}}, torch::kUInt8));
}

LabeledCodes database_at_distances(const std::vector<TiedItem>& items, int bits) {
  const int64_t n = static_cast<int64_t>(items.size());
  auto codes = torch::full({n, bits}, -1, torch::kInt8);
  auto labels = torch::zeros({n, 2}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const TiedItem& item = items[static_cast<size_t>(i)];
    if (item.distance > 0) codes[i].narrow(0, 0, item.distance).fill_(1);
    labels[i][item.relevant ? 0 : 1] = 1;
  }
  return LabeledCodes(BinaryCodes::from_tensor(codes), labels);
}

Reference reference_of(const std::vector<TiedItem>& items) {
  Reference r;
  for (const TiedItem& item : items) {
    r.distance.push_back(item.distance);
    r.relevant.push_back(item.relevant);
  }
  r.order.resize(items.size());
  std::iota(r.order.begin(), r.order.end(), 0);
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](int64_t a, int64_t b) { return r.distance[a] < r.distance[b]; });
  return r;
}

struct OverAllOrders {
  std::vector<double> mean_ap_at;  // [K - 1]: mean of textbook AP@K over the orders
  double lowest_ap = 1.0;          // of AP@all
  double highest_ap = 0.0;
  int64_t orders = 0;
};

// Visits every order within each distance group. It permutes the items (positions), not
// their relevance flags: next_permutation over flags would skip equal-looking orders and
// weight the rest unevenly.
OverAllOrders over_all_orders(const std::vector<TiedItem>& items, int bits) {
  std::vector<std::vector<bool>> groups(static_cast<size_t>(bits) + 1);
  for (const TiedItem& item : items) {
    groups[static_cast<size_t>(item.distance)].push_back(item.relevant);
  }
  std::vector<std::vector<int>> perm(groups.size());
  for (size_t d = 0; d < groups.size(); ++d) {
    perm[d].resize(groups[d].size());
    std::iota(perm[d].begin(), perm[d].end(), 0);
  }
  OverAllOrders out;
  out.mean_ap_at.assign(items.size(), 0.0);
  const std::function<void(size_t)> visit = [&](size_t d) {
    if (d == groups.size()) {
      std::vector<bool> ranked;
      for (size_t g = 0; g < groups.size(); ++g) {
        for (const int k : perm[g]) ranked.push_back(groups[g][static_cast<size_t>(k)]);
      }
      for (size_t k = 1; k <= ranked.size(); ++k) out.mean_ap_at[k - 1] += textbook_ap(ranked, k);
      const double ap = textbook_ap(ranked, ranked.size());
      out.lowest_ap = std::min(out.lowest_ap, ap);
      out.highest_ap = std::max(out.highest_ap, ap);
      ++out.orders;
      return;
    }
    do {
      visit(d + 1);
    } while (std::next_permutation(perm[d].begin(), perm[d].end()));
  };
  visit(0);
  for (double& ap : out.mean_ap_at) ap /= static_cast<double>(out.orders);
  return out;
}

TEST(RetrievalMetrics, TieAwareApIsTheAverageOverAllOrdersWithinTies) {
  // 3 bits. d=0: 1 item (irrelevant); d=1: 3 items (2 relevant); d=2: 4 items (1
  // relevant); d=3: 2 items (1 relevant). Items are listed out of distance order on purpose.
  const std::vector<TiedItem> items = {{2, false}, {1, true},  {3, true},  {0, false}, {2, true},
                                       {1, false}, {2, false}, {3, false}, {1, true},  {2, false}};
  const LabeledCodes q = query_at_origin(3);
  const LabeledCodes db = database_at_distances(items, 3);
  const OverAllOrders all = over_all_orders(items, 3);
  ASSERT_EQ(all.orders, 288);                       // 1! * 3! * 4! * 2!
  EXPECT_LT(all.lowest_ap + 0.05, all.highest_ap);  // the tie order does matter here

  const double tie = tie_aware_mean_average_precision(q, db).map;
  EXPECT_NEAR(tie, all.mean_ap_at.back(), 1e-12);
  // Every cut-off, inside groups (K = 2, 3, 5..7, 9) and at their ends.
  for (int64_t k = 1; k <= 10; ++k) {
    EXPECT_NEAR(tie_aware_mean_average_precision(q, db, k).map, all.mean_ap_at[k - 1], 1e-12)
        << "@" << k;
  }

  // The stable order is one of those orders; reversing the database changes it (and the
  // AP) but not the tie-aware value.
  const double stable = mean_average_precision(q, db).map;
  const LabeledCodes db_reversed =
      database_at_distances(std::vector<TiedItem>(items.rbegin(), items.rend()), 3);
  EXPECT_NE(mean_average_precision(q, db_reversed).map, stable);
  EXPECT_NEAR(tie_aware_mean_average_precision(q, db_reversed).map, tie, 1e-15);
  EXPECT_NEAR(tie_aware_mean_average_precision(q, db_reversed, 6).map, all.mean_ap_at[5], 1e-15);
  EXPECT_GE(stable, all.lowest_ap);
  EXPECT_LE(stable, all.highest_ap);
}

TEST(RetrievalMetrics, TieAwareApAtKIsTheAverageOverAllOrdersOnSmallRandomCases) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 60; ++trial) {
    const int bits = 1 + static_cast<int>(rng() % 4);
    const size_t n = 1 + rng() % 8;
    const double relevant_share = 0.1 + 0.8 * std::uniform_real_distribution<double>()(rng);
    std::vector<TiedItem> items;
    for (size_t i = 0; i < n; ++i) {
      items.push_back({static_cast<int>(rng() % (static_cast<unsigned>(bits) + 1)),
                       std::uniform_real_distribution<double>()(rng) < relevant_share});
    }
    SCOPED_TRACE("trial " + std::to_string(trial));
    const LabeledCodes q = query_at_origin(bits);
    const LabeledCodes db = database_at_distances(items, bits);
    const OverAllOrders all = over_all_orders(items, bits);
    const Reference reference = reference_of(items);
    for (int64_t k = 1; k <= static_cast<int64_t>(n); ++k) {
      const MeanAveragePrecision tie = tie_aware_mean_average_precision(q, db, k);
      EXPECT_NEAR(tie.map, all.mean_ap_at[k - 1], 1e-12) << "@" << k;
      EXPECT_EQ(tie.num_queries_without_relevant, all.mean_ap_at[k - 1] == 0.0) << "@" << k;
      // The test's own reference, used on larger data above, is right too.
      EXPECT_NEAR(reference_tie_aware_ap(reference, bits, k), all.mean_ap_at[k - 1], 1e-12);
    }
  }
}

TEST(RetrievalMetrics, TieAwareApAtKIsThePlainApAtKWithoutTies) {
  std::mt19937 rng(14);
  for (int trial = 0; trial < 5; ++trial) {
    // 40 items at 40 different distances out of 0..64, in random database order.
    std::vector<int> distances(65);
    std::iota(distances.begin(), distances.end(), 0);
    std::shuffle(distances.begin(), distances.end(), rng);
    std::vector<TiedItem> items;
    for (size_t i = 0; i < 40; ++i) items.push_back({distances[i], rng() % 3 == 0});
    const LabeledCodes q = query_at_origin(64);
    const LabeledCodes db = database_at_distances(items, 64);
    for (int64_t k = 1; k <= 40; ++k) {
      EXPECT_NEAR(tie_aware_mean_average_precision(q, db, k).map,
                  mean_average_precision(q, db, k).map, 1e-12)
          << "trial " << trial << " @" << k;
    }
  }
}

TEST(RetrievalMetrics, QueriesWithoutRelevantItemsCountAsZero) {
  // Query 0 shares label 0 with item 0 (distance 0): AP 1. Query 1 has no label: AP 0.
  const LabeledCodes db(BinaryCodes::from_tensor(torch::tensor({{1, 1}, {-1, -1}})),
                        torch::tensor({{1, 0}, {0, 1}}, torch::kUInt8));
  const LabeledCodes q(BinaryCodes::from_tensor(torch::tensor({{1, 1}, {1, 1}})),
                       torch::tensor({{1, 0}, {0, 0}}, torch::kUInt8));
  const RetrievalReport report = evaluate_retrieval(q, db);
  EXPECT_EQ(report.map.ap, (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(report.map.map, 0.5);
  EXPECT_EQ(report.map.num_queries_without_relevant, 1);
  EXPECT_EQ(report.map_tie_aware->num_queries_without_relevant, 1);
  EXPECT_EQ(report.map_tie_aware->map, 0.5);
  // Recall averages over the one query that has relevant items.
  EXPECT_EQ(report.pr_curve->recall[0], 1.0);
  // Within radius 2 both items are retrieved. Query 0: precision 1/2, recall 1; query 1:
  // precision 0, and recall 0 as its AP is 0, counted in both means.
  EXPECT_EQ(report.within_radius->precision, 0.25);
  EXPECT_EQ(report.within_radius->recall, 0.5);
  EXPECT_EQ(report.within_radius->num_queries_retrieving_nothing, 0);
  // Tie-aware @1: query 0 has item 0 at rank 1 in every order; query 1 has nothing.
  EXPECT_EQ(tie_aware_mean_average_precision(q, db, 1).num_queries_without_relevant, 1);
  EXPECT_EQ(tie_aware_mean_average_precision(q, db, 1).map, 0.5);
}

TEST(RetrievalMetrics, SameResultsForAnyThreadCount) {
  torch::manual_seed(5);
  const auto centres = torch::randint(2, {6, 24}).to(torch::kFloat) * 2 - 1;
  const LabeledCodes q = labeled(random_set(203, 24, 4, true, centres));
  const LabeledCodes db = labeled(random_set(500, 24, 4, true, centres));
  RetrievalOptions options;
  options.precision_at = {10, 0};
  options.top_k = 120;
  const int threads_before = at::get_num_threads();
  at::set_num_threads(1);
  const RetrievalReport one = evaluate_retrieval(q, db, options);
  at::set_num_threads(3);
  const RetrievalReport three = evaluate_retrieval(q, db, options);
  at::set_num_threads(threads_before);
  EXPECT_EQ(one.map.ap, three.map.ap);
  EXPECT_EQ(one.map.map, three.map.map);
  EXPECT_EQ(one.map_tie_aware->map, three.map_tie_aware->map);
  EXPECT_EQ(one.map_tie_aware_top_k->ap, three.map_tie_aware_top_k->ap);
  EXPECT_EQ(one.map_tie_aware_top_k->map, three.map_tie_aware_top_k->map);
  EXPECT_EQ(one.within_radius->precision, three.within_radius->precision);
  EXPECT_EQ(one.within_radius->recall, three.within_radius->recall);
  EXPECT_EQ(one.pr_curve->precision, three.pr_curve->precision);
  EXPECT_EQ(one.pr_curve->recall, three.pr_curve->recall);
  EXPECT_EQ(one.precision_at_n.precision, three.precision_at_n.precision);
}

TEST(RetrievalMetrics, SingleMetricFunctionsAgreeWithEvaluateRetrieval) {
  torch::manual_seed(6);
  const auto centres = torch::randint(2, {3, 70}).to(torch::kFloat) * 2 - 1;
  const LabeledCodes q = labeled(random_set(9, 70, 3, false, centres));
  const LabeledCodes db = labeled(random_set(80, 70, 3, false, centres));
  RetrievalOptions options;
  options.top_k = 20;
  options.precision_at = {5, 50};
  const RetrievalReport report = evaluate_retrieval(q, db, options);
  EXPECT_EQ(report.num_queries, 9);
  EXPECT_EQ(report.database_size, 80);
  EXPECT_EQ(report.bits, 70);
  EXPECT_EQ(report.map.ap, mean_average_precision(q, db, 20).ap);
  EXPECT_EQ(report.map_tie_aware->ap, tie_aware_mean_average_precision(q, db).ap);
  EXPECT_EQ(report.map_tie_aware->top_k, 80);
  EXPECT_EQ(report.map_tie_aware_top_k->ap, tie_aware_mean_average_precision(q, db, 20).ap);
  EXPECT_EQ(report.map_tie_aware_top_k->top_k, 20);
  const RadiusPrecisionRecall within = precision_recall_within_radius(q, db, 2);
  EXPECT_EQ(report.within_radius->precision, within.precision);
  EXPECT_EQ(report.within_radius->recall, within.recall);
  EXPECT_EQ(report.within_radius->num_queries_retrieving_nothing,
            within.num_queries_retrieving_nothing);
  EXPECT_EQ(report.pr_curve->precision, precision_recall_curve(q, db).precision);
  EXPECT_EQ(report.precision_at_n.precision, precision_at_n(q, db, {5, 50}).precision);
  RetrievalOptions bare;
  bare.tie_aware = false;
  bare.pr_curve = false;
  bare.hamming_radius.reset();
  bare.top_k = 20;
  const RetrievalReport minimal = evaluate_retrieval(q, db, bare);
  EXPECT_FALSE(minimal.map_tie_aware.has_value());
  EXPECT_FALSE(minimal.map_tie_aware_top_k.has_value());
  EXPECT_FALSE(minimal.pr_curve.has_value());
  EXPECT_FALSE(minimal.within_radius.has_value());
  EXPECT_TRUE(minimal.precision_at_n.n.empty());
}

TEST(RetrievalMetrics, Errors) {
  const auto labels3 = torch::tensor({{1, 0, 0}}, torch::kUInt8);
  const LabeledCodes q12(BinaryCodes(1, 12), labels3);
  const LabeledCodes db24(BinaryCodes(1, 24), labels3);
  const LabeledCodes db12_c4(BinaryCodes(1, 12), torch::tensor({{1, 0, 0, 0}}, torch::kUInt8));
  const LabeledCodes empty_db(BinaryCodes(0, 12), torch::zeros({0, 3}, torch::kUInt8));
  const LabeledCodes db12(BinaryCodes(2, 12), torch::ones({2, 3}, torch::kUInt8));
  expect_error_containing([&] { mean_average_precision(q12, db24); },
                          "query codes have 12 bits but database codes have 24");
  expect_error_containing([&] { tie_aware_mean_average_precision(q12, db12_c4); },
                          "query labels have 3 classes but database labels have 4");
  expect_error_containing([&] { precision_recall_curve(q12, empty_db); }, "database is empty");
  expect_error_containing([&] { mean_average_precision(empty_db, db12); }, "query set is empty");
  expect_error_containing([&] { mean_average_precision(q12, db12, -1); }, "top_k must be >= 0");
  expect_error_containing([&] { precision_at_n(q12, db12, {10, -5}); }, "must be >= 0");
  expect_error_containing([&] { precision_recall_within_radius(q12, db12, -1); },
                          "Hamming radius must be >= 0, got -1");
  expect_error_containing([&] { tie_aware_mean_average_precision(q12, db12, -3); },
                          "top_k must be >= 0");
}

}  // namespace
}  // namespace greedyhash
