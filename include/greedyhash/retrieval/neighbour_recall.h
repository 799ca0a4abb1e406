#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "greedyhash/retrieval/binary_codes.h"

namespace greedyhash {

// The `k` database rows most similar to each query by cosine similarity in the float
// space, exact (no approximation): Q x k int64 database indices, most similar first.
// queries Q x D and database N x D float; k must be in 1..N (greedyhash::Error otherwise).
// The products are taken a block of queries at a time, so memory is O(block x N).
at::Tensor cosine_nearest_neighbours(const at::Tensor& queries, const at::Tensor& database,
                                     int64_t k);

// How many of a query's true nearest neighbours (in the float space) its Hamming ranking
// finds: for each cut-off R, the mean over queries of |true kNN within the first R Hamming-
// ranked database items| / k. Tie-aware, as the tie-aware mAP (docs/PROTOCOL.md section
// 3.3): when the cut-off falls inside a group of items at one distance, each item of that
// group counts with the share of the group that fits (its chance of being ranked within R
// in a random order of the ties), so no tie rule decides the figure.
struct NeighbourRecall {
  int64_t k = 0;
  std::vector<int64_t> cutoffs;  // R, as requested (values above the database size: all)
  std::vector<double> recall;    // one per cut-off
};

// neighbours: Q x k int64 database indices (cosine_nearest_neighbours), one row per query
// code. Errors (greedyhash::Error): bit lengths or row counts that differ, an index out
// of range, an empty cut-off list or a cut-off < 1.
NeighbourRecall neighbour_recall(const BinaryCodes& queries, const BinaryCodes& database,
                                 const at::Tensor& neighbours, const std::vector<int64_t>& cutoffs);

}  // namespace greedyhash
