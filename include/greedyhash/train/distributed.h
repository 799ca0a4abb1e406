#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace greedyhash {

// Where this process sits in a data-parallel job and how to reach the others.
struct DistributedOptions {
  int64_t rank = 0;
  int64_t world_size = 1;  // 1: a single process, no rendezvous, every collective a no-op
  int64_t local_rank = 0;  // rank on this machine: picks cuda:<local_rank>
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  // Bound on the rendezvous and on every collective: a peer that died or never came
  // makes the others fail with greedyhash::Error after at most this long.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
};

// Reads the variables torchrun sets: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT, plus GREEDYHASH_DIST_TIMEOUT_S (seconds, default 1800). Without RANK and
// WORLD_SIZE: a single process. Malformed or inconsistent values -> greedyhash::Error.
DistributedOptions distributed_options_from_env();

// The data-parallel engine on c10d primitives: TCPStore rendezvous (rank 0 hosts the
// store) and a process group, ProcessGroupNCCL when the device is CUDA and LibTorch was
// built with NCCL, ProcessGroupGloo otherwise. All ranks must call the collectives in the
// same order. Every failure of a peer (exit, kill, lost connection, timeout) surfaces as
// a one-line greedyhash::Error. A rank that fails on its own (a NaN loss, bad data, a
// full disk) calls report_failure(); a watchdog thread on every other rank sees that in
// the store within a second and ends its process with a one-line message, wherever it
// is blocked (NCCL, unlike Gloo, never notices a vanished peer before its timeout).
class DistributedContext {
 public:
  // A single process (world size 1).
  DistributedContext();
  // Joins the job described by `options` (blocks until all ranks arrived or the timeout).
  // `device` is where the tensors handed to the collectives live.
  DistributedContext(const DistributedOptions& options, c10::Device device);
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int64_t rank() const;
  int64_t world_size() const;
  bool is_main() const { return rank() == 0; }  // the rank that writes files
  bool enabled() const { return world_size() > 1; }
  std::string backend_name() const;  // "gloo", "nccl" or "none"

  // Overwrites `tensors` on every rank with rank 0's values (in place), in one collective
  // per dtype and device.
  void broadcast(const std::vector<at::Tensor>& tensors);
  // Replaces each parameter's .grad with its mean over ranks. Gradients are flattened
  // into buckets of at most `bucket_bytes` (a parameter larger than that gets a bucket
  // alone) and all buckets are reduced concurrently. A missing gradient counts as zeros,
  // so ranks that skipped a parameter still agree.
  // Under FusedMomentumSGD, .grad holds m * buf + wd * p + g here, not g (see its header). The mean
  // is still exact because it is linear and m * buf + wd * p is the same on every rank
  // (check_identical verifies the replicas each epoch): mean(m * buf + wd * p + g_r) = m * buf + wd
  // * p + mean(g_r). Only linear maps of .grad are allowed between backward and step for that
  // reason.
  void average_gradients(const std::vector<at::Tensor>& parameters,
                         int64_t bucket_bytes = int64_t{25} << 20);
  // Concatenates every rank's `rows` (same shape on every rank) along dim 0 in rank
  // order; the result is on every rank, on the device `rows` came from (the collective
  // itself runs on the backend's device: NCCL takes CUDA tensors only).
  at::Tensor all_gather_rows(const at::Tensor& rows);
  // Throws greedyhash::Error when the tensors (of 4- or 8-byte elements: float32 weights,
  // BatchNorm's int64 batch counter) differ between ranks in any bit that changes a
  // per-tensor sum of their bit patterns: replicas drifted apart.
  void check_identical(const std::vector<at::Tensor>& tensors);
  void barrier();

  // Tells the other ranks that this one failed (`message`, one line), so that they stop
  // instead of waiting for it until the collective timeout. Never throws.
  void report_failure(const std::string& message) noexcept;

  // Seconds spent waiting on the gradient all-reduce so far.
  double reduce_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The slice of `items` that `rank` of `world_size` handles in a sharded pass: contiguous
// blocks of ceil(n / world_size), the last ones padded by repeating the final item so
// every rank has the same count (collectives need equal sizes). Concatenating all
// shards in rank order and keeping the first n gives `items` back.
std::vector<int64_t> padded_shard(const std::vector<int64_t>& items, int64_t rank,
                                  int64_t world_size);

}  // namespace greedyhash
