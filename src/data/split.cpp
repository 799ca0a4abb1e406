#include "greedyhash/data/split.h"

#include <torch/types.h>
#include <algorithm>
#include <random>

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
}

}  // namespace greedyhash
