#include "greedyhash/data/feature_set.h"

#include <ATen/ATen.h>

#include <string>

#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"

namespace greedyhash {

namespace fs = std::filesystem;

namespace {

std::string shape_text(const at::Tensor& t) {
  std::string text;
  for (const int64_t size : t.sizes()) text += (text.empty() ? "" : " x ") + std::to_string(size);
  return text.empty() ? "a scalar" : text;
}

// The first row holding a NaN or an infinity, or -1.
int64_t first_non_finite_row(const at::Tensor& matrix) {
  const auto bad = matrix.isfinite().logical_not().any(1).nonzero();
  return bad.size(0) == 0 ? -1 : bad[0][0].item<int64_t>();
}

at::Tensor class_ids_to_multi_hot(const at::Tensor& ids, const fs::path& file,
                                  int64_t min_classes) {
  constexpr int64_t kMaxClasses = 65536;
  const auto longs = ids.to(at::kLong);
  const int64_t low = longs.numel() == 0 ? 0 : longs.min().item<int64_t>();
  const int64_t high = longs.numel() == 0 ? 0 : longs.max().item<int64_t>();
  if (low < 0 || high >= kMaxClasses) {
    throw Error(file.string() + ": class ids must be in 0.." + std::to_string(kMaxClasses - 1) +
                ", found " + std::to_string(low < 0 ? low : high) + "; number the classes from 0");
  }
  const int64_t classes = std::max(high + 1, min_classes);
  auto multi_hot = at::zeros({longs.size(0), classes}, at::kByte);
  multi_hot.scatter_(1, longs.view({-1, 1}), 1);
  return multi_hot;
}

}  // namespace

at::Tensor load_feature_matrix(const fs::path& file, int64_t min_rows) {
  if (!fs::exists(file)) {
    throw Error("no feature file " + file.string() +
                "; save an N x D float32 matrix there with numpy.save");
  }
  const at::Tensor raw = load_npy(file);
  if (raw.scalar_type() != at::kFloat && raw.scalar_type() != at::kHalf) {
    throw Error(file.string() + ": features must be float32 or float16, found " +
                std::string(c10::toString(raw.scalar_type())) +
                "; convert with numpy's astype(numpy.float32)");
  }
  if (raw.dim() != 2) {
    throw Error(file.string() + ": features must be a matrix (N x D), found shape " +
                shape_text(raw) + "; reshape to one row per item");
  }
  if (raw.size(1) == 0) throw Error(file.string() + ": features have 0 columns; D must be >= 1");
  if (raw.size(0) < min_rows) {
    throw Error(file.string() + ": " + std::to_string(raw.size(0)) + " rows, at least " +
                std::to_string(min_rows) + " needed");
  }
  at::Tensor features = raw.to(at::kFloat).contiguous();
  if (const int64_t row = first_non_finite_row(features); row >= 0) {
    throw Error(file.string() + ": row " + std::to_string(row) +
                " holds NaN or infinity; remove or repair that row");
  }
  return features;
}

at::Tensor load_label_matrix(const fs::path& file, int64_t rows, int64_t min_classes) {
  const at::Tensor raw = load_npy(file);
  if (at::isFloatingType(raw.scalar_type())) {
    throw Error(file.string() +
                ": labels must be integer class ids or a 0/1 matrix of an integer "
                "or bool dtype, found " +
                std::string(c10::toString(raw.scalar_type())) +
                "; convert with numpy's astype(numpy.int64)");
  }
  if (raw.dim() < 1 || raw.dim() > 2 || raw.size(0) != rows) {
    throw Error(file.string() + ": expected " + std::to_string(rows) +
                " labels (N class ids or an N x C 0/1 matrix, one row per feature row), found "
                "shape " +
                shape_text(raw));
  }
  if (raw.dim() == 1) return class_ids_to_multi_hot(raw, file, min_classes);
  const auto values = raw.to(at::kLong);
  if (values.numel() > 0 &&
      (values.min().item<int64_t>() < 0 || values.max().item<int64_t>() > 1)) {
    throw Error(file.string() + ": a 2-D label matrix must hold only 0 and 1 (multi-hot rows)");
  }
  return values.to(at::kByte).contiguous();
}

FeatureFolder load_feature_folder(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    throw Error("no feature folder " + dir.string() +
                "; pass a folder with train.npy, query.npy and database.npy");
  }
  FeatureFolder folder;
  folder.dir = dir;
  folder.train.features = load_feature_matrix(dir / "train.npy", kMinTrainingRows);
  folder.query.features = load_feature_matrix(dir / "query.npy");
  folder.database.features = load_feature_matrix(dir / "database.npy");
  const int64_t dim = folder.dim();
  for (const auto& [name, rows] :
       {std::pair{"query.npy", &folder.query}, std::pair{"database.npy", &folder.database}}) {
    if (rows->features.size(1) != dim) {
      throw Error((dir / name).string() + " has " + std::to_string(rows->features.size(1)) +
                  " columns but train.npy has " + std::to_string(dim) +
                  "; all three must come from the same embedding model");
    }
  }
  const fs::path query_labels = dir / "query_labels.npy";
  const fs::path database_labels = dir / "database_labels.npy";
  if (fs::exists(query_labels) != fs::exists(database_labels)) {
    const fs::path missing = fs::exists(query_labels) ? database_labels : query_labels;
    throw Error("no " + missing.string() +
                ": labels are given for both queries and database, or for neither");
  }
  if (fs::exists(query_labels)) {
    folder.query.labels = load_label_matrix(query_labels, folder.query.features.size(0));
    folder.database.labels = load_label_matrix(database_labels, folder.database.features.size(0),
                                               folder.query.labels.size(1));
    // Class ids: the larger id of the two files decides C, for both.
    const int64_t classes = folder.database.labels.size(1);
    if (folder.query.labels.size(1) < classes && load_npy(query_labels).dim() == 1) {
      folder.query.labels =
          at::constant_pad_nd(folder.query.labels, {0, classes - folder.query.labels.size(1)});
    }
    if (folder.query.labels.size(1) != classes) {
      throw Error(query_labels.string() + " has " + std::to_string(folder.query.labels.size(1)) +
                  " label columns but " + database_labels.string() + " has " +
                  std::to_string(classes) + "; both must use the same classes");
    }
  }
  return folder;
}

}  // namespace greedyhash
