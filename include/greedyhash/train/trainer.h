#pragma once

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "greedyhash/data/run_data.h"
#include "greedyhash/io/config.h"
#include "greedyhash/io/run_files.h"

namespace spdlog {
class logger;
}

namespace greedyhash {

class DistributedContext;

struct TrainingSummary {
  int64_t first_epoch = 0;  // epochs already done before this call (resume)
  int64_t epochs_done = 0;
  std::string selection;  // how best.pt was chosen: "validation", "query" or "last epoch"
  double best_map = -1;   // the selection mAP of best.pt; -1: never evaluated
  int64_t best_epoch = 0;
  nlohmann::json last_record;  // the last line of metrics.jsonl
};

// Trains GreedyHash as docs/PROTOCOL.md section 1 describes (SGD, step LR, CE + alpha *
// quantisation) on data.split's training images and writes the run folder: last.pt and its resume
// state after every epoch, metrics.jsonl, and best.pt, the epoch with the highest mAP on
// the set config.select names (the validation queries against the rest of the database,
// or, for comparison with the public code, the test queries), evaluated every
// config.eval_every epochs. With resume, continues from last.pt and its state: same
// epoch, momentum, LR schedule and RNG streams, so on the CPU an interrupted run ends
// with the weights of an uninterrupted one.
// A NaN/inf loss stops with greedyhash::Error naming epoch and step; the checkpoints of
// the last finished epoch stay as they were.
//
// With a `distributed` context of world size N > 1 this is one of N data-parallel
// workers: --batch-size is per process (global batch = N x batch_size, as with PyTorch's
// DDP); each rank takes a disjoint shard of every epoch's order; gradients are averaged
// over ranks before every SGD step, so all replicas take the same step; evaluation
// encodes shards in parallel. Rank 0 alone writes checkpoints, state and metrics, and
// alone knows the mAP (best_map/best_epoch/last_record of the summary are rank 0's).
// Dropout masks are drawn per (seed, epoch, rank), so a distributed resume is exact too.
// A rank that fails tells the others (DistributedContext::report_failure), which stop.
TrainingSummary train_model(const Config& config, RunData data, const RunFiles& files, bool resume,
                            spdlog::logger& log, DistributedContext* distributed = nullptr);

}  // namespace greedyhash
