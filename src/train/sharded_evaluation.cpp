#include "greedyhash/train/sharded_evaluation.h"

#include <chrono>

#include <ATen/ATen.h>

#include "greedyhash/runtime/stopwatch.h"

namespace greedyhash {

std::optional<Evaluation> evaluate_model_sharded(GreedyHash& model, const ImageDataset& dataset,
                                                 const RetrievalLists& lists,
                                                 const EvaluationOptions& options,
                                                 DistributedContext& distributed) {
  const std::vector<int64_t> needed = images_to_encode(lists);
  const auto n = static_cast<int64_t>(needed.size());
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int64_t> shard =
      padded_shard(needed, distributed.rank(), distributed.world_size());
  const EncodedImages mine = encode_images(model, dataset, shard, options.encode);
  // Gathered in rank order, the shards are `needed` followed by the padding.
  EncodedImages all;
  all.codes = distributed.all_gather_rows(mine.codes).narrow(0, 0, n);
  all.logits = distributed.all_gather_rows(mine.logits).narrow(0, 0, n);
  all.labels = distributed.all_gather_rows(mine.labels).narrow(0, 0, n);
  if (!distributed.is_main()) return std::nullopt;
  return evaluate_encoded(all, needed, lists, options, seconds_since(start));
}

}  // namespace greedyhash
