#include "greedyhash/inference/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "greedyhash/retrieval/binary_codes.h"
#include "greedyhash/retrieval/labeled_codes.h"
#include "greedyhash/runtime/stopwatch.h"

namespace greedyhash {

namespace {

// Positions of `wanted` (ascending) inside `all` (ascending, a superset).
std::vector<int64_t> positions_in(const std::vector<int64_t>& all,
                                  const std::vector<int64_t>& wanted) {
  std::vector<int64_t> rows;
  rows.reserve(wanted.size());
  for (const int64_t index : wanted) {
    rows.push_back(std::lower_bound(all.begin(), all.end(), index) - all.begin());
  }
  return rows;
}

LabeledCodes labeled_codes(const EncodedImages& encoded) {
  return LabeledCodes(BinaryCodes::from_tensor(encoded.codes), encoded.labels);
}

}  // namespace

std::vector<int64_t> precision_cutoffs(int64_t database_size) {
  std::vector<int64_t> cutoffs;
  for (int64_t n : {100, 500, 1000, 2000, 5000, 10000, 20000, 50000}) {
    if (n < database_size) cutoffs.push_back(n);
  }
  cutoffs.push_back(database_size);
  return cutoffs;
}

Evaluation evaluate_encoded(const EncodedImages& all, const std::vector<int64_t>& needed,
                            const RetrievalLists& lists, const EvaluationOptions& options,
                            double encode_seconds) {
  Evaluation evaluation;
  evaluation.query = select_rows(all, positions_in(needed, lists.queries));
  evaluation.database = select_rows(all, positions_in(needed, lists.database));
  evaluation.encode_seconds = encode_seconds;

  const auto start = std::chrono::steady_clock::now();
  RetrievalOptions retrieval;
  retrieval.top_k = options.top_k;
  retrieval.tie_aware = true;
  retrieval.pr_curve = options.curves;
  if (options.curves) {
    retrieval.precision_at = precision_cutoffs(static_cast<int64_t>(lists.database.size()));
  }
  evaluation.retrieval = evaluate_retrieval(labeled_codes(evaluation.query),
                                            labeled_codes(evaluation.database), retrieval);
  evaluation.accuracy = classification_accuracy(evaluation.query.logits, evaluation.query.labels);
  evaluation.metrics_seconds = seconds_since(start);
  return evaluation;
}

std::vector<int64_t> images_to_encode(const RetrievalLists& lists) {
  std::vector<int64_t> needed;
  std::set_union(lists.queries.begin(), lists.queries.end(), lists.database.begin(),
                 lists.database.end(), std::back_inserter(needed));
  return needed;
}

Evaluation evaluate_model(GreedyHash& model, const ImageDataset& dataset,
                          const RetrievalLists& lists, const EvaluationOptions& options) {
  const std::vector<int64_t> needed = images_to_encode(lists);
  const auto start = std::chrono::steady_clock::now();
  const EncodedImages all = encode_images(model, dataset, needed, options.encode);
  return evaluate_encoded(all, needed, lists, options, seconds_since(start));
}

std::string tie_dependence_note(const RetrievalReport& report) {
  // mAP@K is compared with the tie-aware mAP@K when there is a cut-off.
  const auto& tie_aware =
      report.map_tie_aware_top_k ? report.map_tie_aware_top_k : report.map_tie_aware;
  if (!tie_aware) return "";
  const double gap = report.map.map - tie_aware->map;
  if (std::abs(gap) <= 0.02) return "";
  char note[320];
  std::snprintf(note, sizeof note,
                "mAP %.4f and tie-aware mAP %.4f differ by %.4f: many codes tie, and the tie "
                "order (database index), not the model, decides that part of the mAP; compare "
                "models on the tie-aware mAP",
                report.map.map, tie_aware->map, std::abs(gap));
  return note;
}

nlohmann::json retrieval_report_json(const RetrievalReport& r) {
  nlohmann::json out;
  out["map"] = r.map.map;
  out["map_tie_aware"] = r.map_tie_aware ? nlohmann::json(r.map_tie_aware->map) : nlohmann::json();
  out["bit"] = r.bits;
  out["num_query"] = r.num_queries;
  out["num_database"] = r.database_size;
  out["top_k"] = r.map.top_k;
  out["queries_without_relevant"] = r.map.num_queries_without_relevant;
  if (r.map_tie_aware_top_k) out["map_tie_aware_top_k"] = r.map_tie_aware_top_k->map;
  if (r.within_radius) {
    const std::string radius = std::to_string(r.within_radius->radius);
    out["precision_radius_" + radius] = r.within_radius->precision;
    out["recall_radius_" + radius] = r.within_radius->recall;
    out["queries_with_empty_radius_" + radius] = r.within_radius->num_queries_retrieving_nothing;
  }
  if (r.pr_curve) {
    nlohmann::json radius = nlohmann::json::array();
    for (size_t d = 0; d < r.pr_curve->precision.size(); ++d) radius.push_back(d);
    out["pr_curve"] = {
        {"radius", radius}, {"precision", r.pr_curve->precision}, {"recall", r.pr_curve->recall}};
  }
  if (!r.precision_at_n.n.empty()) {
    out["precision_at_n"] = {{"n", r.precision_at_n.n}, {"precision", r.precision_at_n.precision}};
  }
  if (const std::string note = tie_dependence_note(r); !note.empty()) out["tie_note"] = note;
  return out;
}

nlohmann::json evaluation_json(const Evaluation& evaluation) {
  nlohmann::json out = retrieval_report_json(evaluation.retrieval);
  out["accuracy"] = evaluation.accuracy.accuracy;
  out["encode_seconds"] = evaluation.encode_seconds;
  out["metrics_seconds"] = evaluation.metrics_seconds;
  return out;
}

}  // namespace greedyhash
