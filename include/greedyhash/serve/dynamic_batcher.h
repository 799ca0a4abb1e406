#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace greedyhash {

// Groups jobs that arrive together into batches for one worker thread, as serving systems
// batch inference: a batch starts with the oldest waiting job and takes the jobs that
// arrive within `max_wait` of it, up to `max_batch`. The jobs accepted but not yet
// processed are bounded by `capacity`: try_submit refuses beyond it at once, so that a
// burst is answered "busy" instead of queueing without end.
template <typename Job>
class DynamicBatcher {
 public:
  using Batch = std::vector<std::shared_ptr<Job>>;
  // Called on the worker thread with each batch (1..max_batch jobs, in arrival order). It
  // must complete every job of the batch (the caller's jobs carry their own promise).
  using Process = std::function<void(Batch&)>;

  DynamicBatcher(size_t capacity, size_t max_batch, std::chrono::microseconds max_wait,
                 Process process)
      : capacity_(capacity),
        max_batch_(max_batch),
        max_wait_(max_wait),
        process_(std::move(process)),
        worker_([this] { run(); }) {}

  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Processes what was accepted, then stops the worker.
  ~DynamicBatcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }

  // false when `capacity` jobs are waiting or being processed.
  bool try_submit(std::shared_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (waiting_.size() + in_process_ >= capacity_) return false;
      waiting_.push_back(std::move(job));
    }
    wake_.notify_all();
    return true;
  }

  // Jobs accepted and not yet processed.
  size_t depth() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waiting_.size() + in_process_;
  }

 private:
  void run() {
    for (;;) {
      Batch batch = next_batch();
      if (batch.empty()) return;
      process_(batch);
      std::lock_guard<std::mutex> lock(mutex_);
      in_process_ -= batch.size();
    }
  }

  // Waits for a job, then up to max_wait from the moment it is taken for the batch to fill;
  // empty when stopping with nothing left.
  Batch next_batch() {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
    if (waiting_.empty()) return {};
    const auto deadline = std::chrono::steady_clock::now() + max_wait_;
    wake_.wait_until(lock, deadline, [&] { return stopping_ || waiting_.size() >= max_batch_; });
    Batch batch;
    while (!waiting_.empty() && batch.size() < max_batch_) {
      batch.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    in_process_ += batch.size();
    return batch;
  }

  const size_t capacity_;
  const size_t max_batch_;
  const std::chrono::microseconds max_wait_;
  const Process process_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> waiting_;
  size_t in_process_ = 0;
  bool stopping_ = false;
  std::thread worker_;  // last: starts once every other member is ready
};

}  // namespace greedyhash
