#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// Evaluation protocols (docs/PROTOCOL.md). Per class, after a seeded permutation:
//   cifar10-1  100 query, 500 train; database = everything but the queries (59,000)
//   cifar10-2  1,000 query, 5,000 train; database = train (50,000)
//   cifar10    100 query, 500 train; database = everything but query and train (54,000)
//   lists      list-file data sets: query/train/database given by the lists themselves
enum class SplitProtocol { Cifar10_1, Cifar10_2, Cifar10, Lists };

// "cifar10-1", "cifar10-2", "cifar10", "lists"; anything else throws greedyhash::Error.
SplitProtocol parse_split_protocol(const std::string& name);
std::string split_protocol_name(SplitProtocol protocol);

// Index lists into an ImageDataset. Every list is sorted by ascending dataset index
// (never class by class): that order is neutral with respect to the classes, which
// matters because retrieval breaks Hamming-distance ties by database position.
struct Split {
  SplitProtocol protocol = SplitProtocol::Cifar10_1;
  uint64_t seed = 0;
  std::vector<int64_t> query;
  std::vector<int64_t> train;
  std::vector<int64_t> database;
};

struct PerClassCounts {
  int64_t query = 0;
  int64_t train = 0;
};

// 100/500 for cifar10-1 and cifar10, 1000/5000 for cifar10-2 (Error for lists).
PerClassCounts per_class_counts(SplitProtocol protocol);

// The CIFAR split of docs/PROTOCOL.md on single-label `labels` (N x C multi-hot, one 1
// per row). Exact rule, so that it can be replicated elsewhere:
//   rng = std::mt19937_64(seed), one generator for the whole split;
//   for c = 0 .. C-1: take the indices of class c in ascending order, permute them with
//   fisher_yates_shuffle(., rng) (seeded_shuffle.h), give the first counts.query to the
//   query set, the next counts.train to the training set, the rest to "database-only";
//   database = train + database-only (cifar10-1), train (cifar10-2) or database-only
//   (cifar10); finally every list is sorted ascending.
// A class with fewer than query + train images ("split larger than the data"),
// multi-label rows or a non-2-D label tensor throw greedyhash::Error.
Split make_cifar_split(const at::Tensor& labels, SplitProtocol protocol, uint64_t seed);

// Same rule with other per-class counts (small synthetic tests, other data sets).
Split make_per_class_split(const at::Tensor& labels, SplitProtocol protocol, uint64_t seed,
                           PerClassCounts counts);

// Throws greedyhash::Error naming `where` when an index is outside [0, dataset_size).
void check_split_fits(const Split& split, int64_t dataset_size, const std::string& where);

}  // namespace greedyhash
