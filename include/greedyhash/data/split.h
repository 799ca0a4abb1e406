#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// Evaluation protocols (docs/PROTOCOL.md section 2). Per class, after a seeded permutation:
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
  // Validation queries for model selection (docs/PROTOCOL.md sections 2.4 and 4), ranked
  // against the database without themselves; empty when the run has none.
  std::vector<int64_t> validation;
};

struct PerClassCounts {
  int64_t query = 0;
  int64_t train = 0;
};

// 100/500 for cifar10-1 and cifar10, 1000/5000 for cifar10-2 (Error for lists).
PerClassCounts per_class_counts(SplitProtocol protocol);

// The CIFAR split of docs/PROTOCOL.md section 2.2 on single-label `labels` (N x C multi-hot, one 1
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

// The validation queries (Split::validation) for a split, drawn from its candidates:
// the database images outside the train and query lists (CIFAR-10 (I): the 54,000
// database-only images), or, when the database has none (CIFAR-10 (II)), every image
// outside the query and train lists. Exact rule: rng = std::mt19937_64(derive_seed(seed,
// kValidationStream)); single-label data: for c = 0 .. C-1, the candidates of class c in
// ascending order, fisher_yates_shuffle(., rng), the first `per_class` of them;
// multi-label data: all candidates, shuffled, the first per_class x C. Sorted ascending.
// The query, train and database lists are not changed. A class (or the pool) with fewer
// candidates than needed throws greedyhash::Error naming the class and the counts.
inline constexpr uint64_t kValidationStream = 0x76616c6964617465ULL;  // "validate"
std::vector<int64_t> draw_validation(const Split& split, const at::Tensor& labels,
                                     int64_t per_class, uint64_t seed);

// The images one evaluation ranks: queries against a database (ascending index lists).
struct RetrievalLists {
  std::vector<int64_t> queries;
  std::vector<int64_t> database;
};

// The test evaluation: split.query against split.database.
RetrievalLists test_retrieval(const Split& split);

// Model selection: split.validation against split.database without the validation
// images, evenly_spaced to at most `database_limit` of them (0 = all).
RetrievalLists validation_retrieval(const Split& split, int64_t database_limit);

// `count` items spread evenly over `list`: list[floor(i * list.size() / count)] for
// i < count; the whole list when count is 0 or not smaller. Index lists are sorted, which
// groups CIFAR's images by class, so a prefix would hold one or two classes only.
std::vector<int64_t> evenly_spaced(const std::vector<int64_t>& list, int64_t count);

// Throws greedyhash::Error naming `where` when an index is outside [0, dataset_size).
void check_split_fits(const Split& split, int64_t dataset_size, const std::string& where);

}  // namespace greedyhash
