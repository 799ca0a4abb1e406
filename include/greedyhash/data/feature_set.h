#pragma once

#include <cstdint>
#include <filesystem>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// Rows of a feature matrix (embeddings, a frozen backbone's outputs) and their labels.
struct FeatureRows {
  at::Tensor features;  // N x D float32, every value finite
  at::Tensor labels;    // N x C uint8 multi-hot; undefined when the set has no labels
};

// An embedding folder, as greedyhash_train --features takes it:
//   train.npy, query.npy, database.npy   float32 or float16, N x D, the same D
//   query_labels.npy, database_labels.npy optional, both or neither: N class ids (integer)
//                                          or N x C 0/1 (integer or bool)
struct FeatureFolder {
  std::filesystem::path dir;
  FeatureRows train;
  FeatureRows query;
  FeatureRows database;
  int64_t dim() const { return train.features.size(1); }
  bool labelled() const { return query.labels.defined(); }
};

inline constexpr int64_t kMinTrainingRows = 2;  // the loss pairs rows of a batch

// One feature matrix, checked: a float32 or float16 .npy of rank 2 with at least
// `min_rows` rows and no NaN or infinite value. Errors (greedyhash::Error) are one line
// naming the file, what is wrong (the first bad row) and the fix.
at::Tensor load_feature_matrix(const std::filesystem::path& file, int64_t min_rows = 1);

// Labels for `rows` items as N x C uint8 multi-hot: a 1-D integer .npy of class ids in
// [0, 65536) (C = largest id + 1, at least `min_classes`), or a 2-D 0/1 matrix of an integer or
// bool dtype. Other shapes, dtypes, values or row counts: one-line greedyhash::Error.
at::Tensor load_label_matrix(const std::filesystem::path& file, int64_t rows,
                             int64_t min_classes = 0);

// The whole folder, checked across files too: the same D everywhere, at least
// kMinTrainingRows training rows, label rows matching their features, query and database
// labels of one width.
FeatureFolder load_feature_folder(const std::filesystem::path& dir);

}  // namespace greedyhash
