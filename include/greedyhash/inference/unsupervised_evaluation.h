#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include "greedyhash/data/feature_set.h"
#include "greedyhash/data/split.h"
#include "greedyhash/inference/encoder.h"

namespace greedyhash {

// How codes made from features (by unsupervised GreedyHash or a baseline: LSH, PCA-sign,
// ITQ) are judged: mAP when the features have labels, and always the neighbour recall
// (retrieval/neighbour_recall.h) against the exact cosine neighbours in the float space.
struct CodeEvaluationOptions {
  int64_t top_k = 0;                            // mAP@top_k; 0 = all
  std::vector<int64_t> neighbours{10, 100};     // k: true neighbours per query
  std::vector<int64_t> cutoffs{10, 100, 1000};  // R: Hamming-ranked items looked at
};

// The true neighbours of each query, for every k of the options (capped at the database
// size), most similar first: the costly part (Q x N products), computed once per feature
// set and shared by every method and seed evaluated on it.
struct TrueNeighbours {
  std::vector<int64_t> ks;
  std::vector<at::Tensor> rows;  // Q x k int64 database indices, one per k
  double seconds = 0;
};
TrueNeighbours true_neighbours(const FeatureRows& query, const FeatureRows& database,
                               const CodeEvaluationOptions& options);

// eval.json's fields for codes (N x K, +-1 or continuous: bit j = value >= 0) of the
// queries and the database: those of retrieval_report_json when the rows have labels
// (accuracy is not: these methods have no classifier), else bit/num_query/num_database;
// then "neighbour_recall": [{"k": 10, "recall_at": {"10": r, "100": r, "1000": r}}, ...] and
// "neighbour_seconds", "metrics_seconds".
nlohmann::json evaluate_feature_codes(const at::Tensor& query_codes,
                                      const at::Tensor& database_codes, const FeatureRows& query,
                                      const FeatureRows& database, const TrueNeighbours& truth,
                                      const CodeEvaluationOptions& options);

// A run's queries and database (`lists`) as a frozen backbone sees them, for an
// unsupervised image run: each image's backbone features (encode_backbone_features, each
// image once) with its labels.
struct RetrievalFeatures {
  FeatureRows query;
  FeatureRows database;
};
RetrievalFeatures backbone_retrieval_features(GreedyHash& model, const ImageDataset& dataset,
                                              const RetrievalLists& lists,
                                              const EncodeOptions& options);

}  // namespace greedyhash
