#include "greedyhash/retrieval/neighbour_recall.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>

#include "greedyhash/error.h"
#include "greedyhash/retrieval/hamming.h"
#include "run_workers.h"

namespace greedyhash {

namespace {

constexpr int64_t kQueryBlock = 256;  // 256 x N floats of products at a time

// Rows scaled to length 1 (an all-zero row stays zero: similarity 0 to everything).
at::Tensor unit_rows(const at::Tensor& rows) {
  const auto floats = rows.to(at::kFloat);
  return floats / floats.norm(2, {1}, true).clamp_min(1e-12);
}

// Tie-aware count of `neighbours` within the first `cutoff` items for one query.
// `at_distance[d]`: database items at distance d; `hits[d]`: true neighbours among them.
double expected_hits(const std::vector<int64_t>& at_distance, const std::vector<int64_t>& hits,
                     int64_t cutoff) {
  double found = 0;
  int64_t before = 0;
  for (size_t d = 0; d < at_distance.size() && before < cutoff; ++d) {
    const int64_t group = at_distance[d];
    if (group == 0) continue;
    const int64_t room = std::min(group, cutoff - before);
    found += static_cast<double>(hits[d]) * static_cast<double>(room) / static_cast<double>(group);
    before += group;
  }
  return found;
}

}  // namespace

at::Tensor cosine_nearest_neighbours(const at::Tensor& queries, const at::Tensor& database,
                                     int64_t k) {
  if (queries.dim() != 2 || database.dim() != 2 || queries.size(1) != database.size(1)) {
    throw Error("cosine neighbours: queries and database must be matrices of one width");
  }
  if (k < 1 || k > database.size(0)) {
    throw Error("cosine neighbours: k = " + std::to_string(k) + " must be in 1.." +
                std::to_string(database.size(0)) + " (the database size)");
  }
  const auto db = unit_rows(database);
  const auto q = unit_rows(queries);
  auto out = at::empty({q.size(0), k}, at::kLong);
  for (int64_t start = 0; start < q.size(0); start += kQueryBlock) {
    const int64_t rows = std::min(kQueryBlock, q.size(0) - start);
    const auto similarity = at::mm(q.narrow(0, start, rows), db.t());
    out.narrow(0, start, rows).copy_(std::get<1>(similarity.topk(k, 1, true, true)));
  }
  return out;
}

NeighbourRecall neighbour_recall(const BinaryCodes& queries, const BinaryCodes& database,
                                 const at::Tensor& neighbours,
                                 const std::vector<int64_t>& cutoffs) {
  if (neighbours.dim() != 2 || neighbours.size(0) != queries.size() ||
      neighbours.scalar_type() != at::kLong) {
    throw Error("neighbour recall: expected " + std::to_string(queries.size()) +
                " rows of int64 neighbour indices, one per query");
  }
  if (cutoffs.empty() || *std::min_element(cutoffs.begin(), cutoffs.end()) < 1) {
    throw Error("neighbour recall: cut-offs must be >= 1");
  }
  const auto index = neighbours.contiguous();
  if (index.numel() > 0 &&
      (index.min().item<int64_t>() < 0 || index.max().item<int64_t>() >= database.size())) {
    throw Error("neighbour recall: a neighbour index is outside the database");
  }
  const int64_t k = index.size(1);
  const int64_t num_queries = queries.size();
  const size_t groups = static_cast<size_t>(database.bits()) + 1;
  // Per-query values first, summed afterwards in query order: the same result for any
  // number of workers.
  std::vector<double> per_query(static_cast<size_t>(num_queries) * cutoffs.size(), 0.0);
  std::atomic<int64_t> next{0};
  const int64_t* rows = index.data_ptr<int64_t>();
  detail::run_workers(std::min<int64_t>(at::get_num_threads(), num_queries), [&] {
    std::vector<int64_t> at_distance(groups), hits(groups);
    for (int64_t q = next++; q < num_queries; q = next++) {
      const std::vector<int32_t> distances = hamming_distances(queries, q, database);
      std::fill(at_distance.begin(), at_distance.end(), 0);
      std::fill(hits.begin(), hits.end(), 0);
      for (const int32_t d : distances) ++at_distance[static_cast<size_t>(d)];
      for (int64_t j = 0; j < k; ++j) ++hits[static_cast<size_t>(distances[rows[q * k + j]])];
      for (size_t c = 0; c < cutoffs.size(); ++c) {
        per_query[static_cast<size_t>(q) * cutoffs.size() + c] =
            expected_hits(at_distance, hits, cutoffs[c]) / static_cast<double>(k);
      }
    }
  });
  NeighbourRecall result{k, cutoffs, std::vector<double>(cutoffs.size(), 0.0)};
  for (int64_t q = 0; q < num_queries; ++q) {
    for (size_t c = 0; c < cutoffs.size(); ++c) {
      result.recall[c] += per_query[static_cast<size_t>(q) * cutoffs.size() + c];
    }
  }
  for (double& r : result.recall) r /= static_cast<double>(std::max<int64_t>(num_queries, 1));
  return result;
}

}  // namespace greedyhash
