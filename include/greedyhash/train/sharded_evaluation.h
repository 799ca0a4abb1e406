#pragma once

#include <optional>

#include "greedyhash/inference/evaluation.h"
#include "greedyhash/train/distributed.h"

namespace greedyhash {

// evaluate_model across the ranks of a data-parallel job: each rank encodes an equal
// share of the images, the codes are gathered, and the main rank computes the metrics
// (returned there; the other ranks return std::nullopt). All ranks must call it.
std::optional<Evaluation> evaluate_model_sharded(GreedyHash& model, const ImageDataset& dataset,
                                                 const RetrievalLists& lists,
                                                 const EvaluationOptions& options,
                                                 DistributedContext& distributed);

}  // namespace greedyhash
