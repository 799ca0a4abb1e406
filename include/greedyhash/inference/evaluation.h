#pragma once

#include <optional>

#include <nlohmann/json_fwd.hpp>

#include "greedyhash/data/split.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/retrieval/classification_accuracy.h"
#include "greedyhash/retrieval/retrieval_metrics.h"

namespace greedyhash {

struct EvaluationOptions {
  EncodeOptions encode;
  int64_t top_k = 0;   // mAP@top_k; 0 = mAP@all
  bool curves = true;  // PR curve and precision@N (the final report, not per epoch)
};

struct Evaluation {
  RetrievalReport retrieval;
  ClassificationAccuracy accuracy;  // of the K -> C classifier on the queries
  EncodedImages query;
  EncodedImages database;
  double encode_seconds = 0;
  double metrics_seconds = 0;
};

// Encodes the queries and the database of `lists` (each image once, even where the two
// lists share images) and computes the retrieval metrics and the queries' accuracy.
// test_retrieval(split) is the final evaluation, validation_retrieval(split, n) model
// selection (data/split.h).
Evaluation evaluate_model(GreedyHash& model, const ImageDataset& dataset,
                          const RetrievalLists& lists, const EvaluationOptions& options);

// The images evaluate_model encodes for `lists`: queries and database, each once, in
// index order.
std::vector<int64_t> images_to_encode(const RetrievalLists& lists);

// The metrics part of evaluate_model, from `all`, the encoded images_to_encode(lists).
Evaluation evaluate_encoded(const EncodedImages& all, const std::vector<int64_t>& needed,
                            const RetrievalLists& lists, const EvaluationOptions& options,
                            double encode_seconds);

// The precision@N cut-offs reported: 100, 500, 1000, 2000, 5000, 10000, ... below the
// database size, then the whole database.
std::vector<int64_t> precision_cutoffs(int64_t database_size);

// One line for reports when mAP and tie-aware mAP differ by more than 0.02: the order of
// tied codes (database index), not the model, then decides the mAP; "" otherwise.
std::string tie_dependence_note(const RetrievalReport& report);

// The retrieval part of eval.json: map, map_tie_aware, bit, num_query, num_database,
// queries_without_relevant, top_k, and what the report holds of map_tie_aware_top_k,
// precision/recall within a radius, pr_curve, precision_at_n and tie_note.
nlohmann::json retrieval_report_json(const RetrievalReport& report);

// eval.json's content: map, map_tie_aware, accuracy, bit, num_query, num_database,
// queries_without_relevant, top_k, map_tie_aware_top_k (when top_k is below the database
// size), precision_radius_2, recall_radius_2, queries_with_empty_radius_2, pr_curve,
// precision_at_n, timings, and tie_note when tie_dependence_note has one.
nlohmann::json evaluation_json(const Evaluation& evaluation);

}  // namespace greedyhash
