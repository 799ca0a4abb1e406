#include "greedyhash/data/split.h"

#include <algorithm>
#include <iterator>
#include <random>

#include <torch/types.h>

#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/error.h"

namespace greedyhash {

SplitProtocol parse_split_protocol(const std::string& name) {
  if (name == "cifar10-1") return SplitProtocol::Cifar10_1;
  if (name == "cifar10-2") return SplitProtocol::Cifar10_2;
  if (name == "cifar10") return SplitProtocol::Cifar10;
  if (name == "lists") return SplitProtocol::Lists;
  throw Error("split protocol '" + name +
              "' is unknown; expected cifar10-1, cifar10-2, cifar10 or lists");
}

std::string split_protocol_name(SplitProtocol protocol) {
  switch (protocol) {
    case SplitProtocol::Cifar10_1:
      return "cifar10-1";
    case SplitProtocol::Cifar10_2:
      return "cifar10-2";
    case SplitProtocol::Cifar10:
      return "cifar10";
    case SplitProtocol::Lists:
      return "lists";
  }
  throw std::logic_error("split_protocol_name: invalid enum value");
}

PerClassCounts per_class_counts(SplitProtocol protocol) {
  switch (protocol) {
    case SplitProtocol::Cifar10_1:
    case SplitProtocol::Cifar10:
      return {100, 500};
    case SplitProtocol::Cifar10_2:
      return {1000, 5000};
    case SplitProtocol::Lists:
      break;
  }
  throw Error(
      "split protocol 'lists' has no per-class counts; its split comes from the list files");
}

Split make_cifar_split(const at::Tensor& labels, SplitProtocol protocol, uint64_t seed) {
  return make_per_class_split(labels, protocol, seed, per_class_counts(protocol));
}

Split make_per_class_split(const at::Tensor& labels, SplitProtocol protocol, uint64_t seed,
                           PerClassCounts counts) {
  const std::string name = split_protocol_name(protocol);
  if (protocol == SplitProtocol::Lists) {
    throw Error("split protocol 'lists' cannot be drawn per class; load it from the list files");
  }
  if (!labels.defined() || labels.dim() != 2) {
    throw Error(name + " split needs an N x C label matrix");
  }
  if (counts.query < 0 || counts.train < 0) {
    throw Error(name + " split needs non-negative per-class counts");
  }
  const auto rows = labels.size(0);
  const auto classes = labels.size(1);
  const auto flat = labels.to(torch::kCPU, torch::kUInt8).contiguous();
  const uint8_t* data = flat.data_ptr<uint8_t>();

  std::vector<std::vector<int64_t>> members(static_cast<size_t>(classes));
  for (int64_t i = 0; i < rows; ++i) {
    int64_t found = -1;
    int64_t ones = 0;
    for (int64_t c = 0; c < classes; ++c) {
      if (data[i * classes + c] != 0) {
        found = c;
        ++ones;
      }
    }
    if (ones != 1) {
      throw Error(name + " split needs single-label data, but image " + std::to_string(i) +
                  " has " + std::to_string(ones) + " labels");
    }
    members[static_cast<size_t>(found)].push_back(i);
  }

  const int64_t needed = counts.query + counts.train;
  Split split;
  split.protocol = protocol;
  split.seed = seed;
  std::vector<int64_t> rest;
  std::mt19937_64 rng(seed);
  for (int64_t c = 0; c < classes; ++c) {
    auto& indices = members[static_cast<size_t>(c)];
    const auto available = static_cast<int64_t>(indices.size());
    if (available < needed) {
      throw Error(name + " split needs " + std::to_string(needed) + " images per class (" +
                  std::to_string(counts.query) + " query + " + std::to_string(counts.train) +
                  " train), but class " + std::to_string(c) + " has only " +
                  std::to_string(available));
    }
    fisher_yates_shuffle(indices, rng);
    split.query.insert(split.query.end(), indices.begin(), indices.begin() + counts.query);
    split.train.insert(split.train.end(), indices.begin() + counts.query, indices.begin() + needed);
    rest.insert(rest.end(), indices.begin() + needed, indices.end());
  }
  switch (protocol) {
    case SplitProtocol::Cifar10_1:
      split.database = split.train;
      split.database.insert(split.database.end(), rest.begin(), rest.end());
      break;
    case SplitProtocol::Cifar10_2:
      split.database = split.train;
      break;
    default:
      split.database = rest;
      break;
  }
  std::sort(split.query.begin(), split.query.end());
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.database.begin(), split.database.end());
  return split;
}

namespace {

// Sorted `all` without the sorted `removed`.
std::vector<int64_t> without(const std::vector<int64_t>& all, const std::vector<int64_t>& removed) {
  std::vector<int64_t> rest;
  std::set_difference(all.begin(), all.end(), removed.begin(), removed.end(),
                      std::back_inserter(rest));
  return rest;
}

std::vector<int64_t> validation_candidates(const Split& split, int64_t dataset_size) {
  std::vector<int64_t> excluded;
  std::set_union(split.query.begin(), split.query.end(), split.train.begin(), split.train.end(),
                 std::back_inserter(excluded));
  std::vector<int64_t> candidates = without(split.database, excluded);
  if (!candidates.empty()) return candidates;
  std::vector<int64_t> all(static_cast<size_t>(dataset_size));
  for (int64_t i = 0; i < dataset_size; ++i) all[static_cast<size_t>(i)] = i;
  return without(all, excluded);
}

}  // namespace

std::vector<int64_t> draw_validation(const Split& split, const at::Tensor& labels,
                                     int64_t per_class, uint64_t seed) {
  if (per_class <= 0) return {};
  if (!labels.defined() || labels.dim() != 2) {
    throw Error("validation split needs an N x C label matrix");
  }
  const int64_t classes = labels.size(1);
  const auto flat = labels.to(torch::kCPU, torch::kUInt8).contiguous();
  const uint8_t* data = flat.data_ptr<uint8_t>();
  const std::vector<int64_t> candidates = validation_candidates(split, labels.size(0));
  const auto label_count = [&](int64_t i) {
    int64_t count = 0;
    for (int64_t c = 0; c < classes; ++c) count += data[i * classes + c] != 0;
    return count;
  };
  const bool single_label = std::all_of(candidates.begin(), candidates.end(),
                                        [&](int64_t i) { return label_count(i) == 1; });

  std::mt19937_64 rng(derive_seed(seed, kValidationStream));
  std::vector<int64_t> validation;
  const auto take = [&](std::vector<int64_t> pool, int64_t wanted, const std::string& what) {
    if (static_cast<int64_t>(pool.size()) < wanted) {
      throw Error("validation split needs " + std::to_string(wanted) + " images " + what +
                  " outside the query and train lists, but there are only " +
                  std::to_string(pool.size()) + "; pass a smaller --val-per-class (0 = none)");
    }
    fisher_yates_shuffle(pool, rng);
    validation.insert(validation.end(), pool.begin(), pool.begin() + wanted);
  };
  if (single_label) {
    for (int64_t c = 0; c < classes; ++c) {
      std::vector<int64_t> members;
      for (const int64_t i : candidates) {
        if (data[i * classes + c] != 0) members.push_back(i);
      }
      take(std::move(members), per_class, "of class " + std::to_string(c));
    }
  } else {
    take(candidates, per_class * classes, "(" + std::to_string(per_class) + " per class)");
  }
  std::sort(validation.begin(), validation.end());
  return validation;
}

RetrievalLists test_retrieval(const Split& split) {
  return {split.query, split.database};
}

RetrievalLists validation_retrieval(const Split& split, int64_t database_limit) {
  return {split.validation, evenly_spaced(without(split.database, split.validation), database_limit)};
}

std::vector<int64_t> evenly_spaced(const std::vector<int64_t>& list, int64_t count) {
  const auto size = static_cast<int64_t>(list.size());
  if (count <= 0 || count >= size) return list;
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) kept.push_back(list[static_cast<size_t>(i * size / count)]);
  return kept;
}

void check_split_fits(const Split& split, int64_t dataset_size, const std::string& where) {
  const auto check = [&](const std::vector<int64_t>& list, const char* list_name) {
    for (const auto index : list) {
      if (index < 0 || index >= dataset_size) {
        throw Error(where + ": " + list_name + " index " + std::to_string(index) +
                    " is outside the data set of " + std::to_string(dataset_size) +
                    " images; the split is larger than the data");
      }
    }
  };
  check(split.query, "query");
  check(split.train, "train");
  check(split.database, "database");
  check(split.validation, "validation");
}

}  // namespace greedyhash
