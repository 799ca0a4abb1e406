#include "greedyhash/inference/unsupervised_evaluation.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "greedyhash/inference/evaluation.h"
#include "greedyhash/retrieval/labeled_codes.h"
#include "greedyhash/retrieval/neighbour_recall.h"
#include "greedyhash/retrieval/retrieval_metrics.h"
#include "greedyhash/runtime/stopwatch.h"

namespace greedyhash {

TrueNeighbours true_neighbours(const FeatureRows& query, const FeatureRows& database,
                               const CodeEvaluationOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  TrueNeighbours truth;
  const int64_t n = database.features.size(0);
  int64_t largest = 0;
  for (const int64_t k : options.neighbours) {
    truth.ks.push_back(std::min(k, n));
    largest = std::max(largest, truth.ks.back());
  }
  // One ranking for the largest k: the smaller k are its first columns.
  const at::Tensor all = cosine_nearest_neighbours(query.features, database.features, largest);
  for (const int64_t k : truth.ks) truth.rows.push_back(all.narrow(1, 0, k).contiguous());
  truth.seconds = seconds_since(start);
  return truth;
}

nlohmann::json evaluate_feature_codes(const at::Tensor& query_codes,
                                      const at::Tensor& database_codes, const FeatureRows& query,
                                      const FeatureRows& database, const TrueNeighbours& truth,
                                      const CodeEvaluationOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const BinaryCodes queries = BinaryCodes::from_tensor(query_codes);
  const BinaryCodes items = BinaryCodes::from_tensor(database_codes);
  nlohmann::json out;
  if (query.labels.defined() && database.labels.defined()) {
    RetrievalOptions retrieval;
    retrieval.top_k = options.top_k;
    retrieval.pr_curve = false;
    out = retrieval_report_json(evaluate_retrieval(
        LabeledCodes(queries, query.labels), LabeledCodes(items, database.labels), retrieval));
  } else {
    out["bit"] = queries.bits();
    out["num_query"] = queries.size();
    out["num_database"] = items.size();
  }
  nlohmann::json recalls = nlohmann::json::array();
  for (size_t i = 0; i < truth.ks.size(); ++i) {
    const NeighbourRecall recall = neighbour_recall(queries, items, truth.rows[i], options.cutoffs);
    nlohmann::json at = nlohmann::json::object();
    for (size_t c = 0; c < recall.cutoffs.size(); ++c) {
      at[std::to_string(recall.cutoffs[c])] = recall.recall[c];
    }
    recalls.push_back({{"k", recall.k}, {"recall_at", at}});
  }
  out["neighbour_recall"] = recalls;
  out["neighbour_seconds"] = truth.seconds;
  out["metrics_seconds"] = seconds_since(start);
  return out;
}

RetrievalFeatures backbone_retrieval_features(GreedyHash& model, const ImageDataset& dataset,
                                              const RetrievalLists& lists,
                                              const EncodeOptions& options) {
  const std::vector<int64_t> needed = images_to_encode(lists);
  const at::Tensor features = encode_backbone_features(model, dataset, needed, options);
  // Positions of the listed images among the encoded ones (both lists ascending).
  const auto rows_of = [&](const std::vector<int64_t>& indices) {
    std::vector<int64_t> rows;
    rows.reserve(indices.size());
    for (const int64_t index : indices) {
      rows.push_back(std::lower_bound(needed.begin(), needed.end(), index) - needed.begin());
    }
    const auto position = at::tensor(rows, at::kLong);
    const auto dataset_rows = at::tensor(indices, at::kLong);
    return FeatureRows{features.index_select(0, position),
                       dataset.labels.index_select(0, dataset_rows)};
  };
  return {rows_of(lists.queries), rows_of(lists.database)};
}

}  // namespace greedyhash
