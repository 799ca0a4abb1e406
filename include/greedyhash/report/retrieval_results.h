#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// One retrieved item, as greedyhash_predict and greedyhash_search show it.
struct RetrievalHit {
  int distance = 0;  // Hamming distance to the query
  std::string item;  // an image file, or a CIFAR-10 binary record (data_batch_3.bin#417)
  at::Tensor image;  // 3 x H x W uint8, for the mosaic
  std::optional<bool> relevant;  // shares a label with the query; unknown without labels
};

// One line per hit on stdout, by rank: "   1. d=3   match <item>" ("match"/"miss" only
// when relevance is known).
void print_retrieval_results(const std::vector<RetrievalHit>& hits);

// The query's tile, then one per hit captioned with its distance and framed green
// (relevant), red (not) or grey (unknown); see save_mosaic.
void save_retrieval_mosaic(const std::filesystem::path& path, const at::Tensor& query_image,
                           const std::vector<RetrievalHit>& hits);

}  // namespace greedyhash
