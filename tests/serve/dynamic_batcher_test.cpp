#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "greedyhash/serve/dynamic_batcher.h"

namespace greedyhash {
namespace {

using namespace std::chrono_literals;

struct Job {
  int value = 0;
  std::promise<size_t> batch_size;  // the size of the batch the job was processed in
};

// A gate the processing thread waits at until the test opens it.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(DynamicBatcher, JobsArrivingTogetherAreOneBatchUpToMaxBatch) {
  std::vector<std::vector<int>> batches;
  std::mutex mutex;
  std::vector<std::shared_ptr<Job>> jobs;
  std::vector<std::future<size_t>> sizes;
  {
    // A long wait: every job below is submitted well within it.
    DynamicBatcher<Job> batcher(100, 4, 2s, [&](DynamicBatcher<Job>::Batch& batch) {
      std::vector<int> values;
      for (auto& job : batch) values.push_back(job->value);
      {
        std::lock_guard<std::mutex> lock(mutex);
        batches.push_back(values);
      }
      for (auto& job : batch) job->batch_size.set_value(batch.size());
    });
    for (int i = 0; i < 6; ++i) {
      auto job = std::make_shared<Job>();
      job->value = i;
      sizes.push_back(job->batch_size.get_future());
      ASSERT_TRUE(batcher.try_submit(job));
    }
    // The first four fill a batch at once, without waiting out the 2 s.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(sizes[0].get(), 4u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  }  // the destructor processes the last two without waiting out their window either
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0], (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(batches[1], (std::vector<int>{4, 5}));
  EXPECT_EQ(sizes[5].get(), 2u);
}

TEST(DynamicBatcher, ALoneJobWaitsAtMostMaxWait) {
  DynamicBatcher<Job> batcher(10, 8, 50ms, [](DynamicBatcher<Job>::Batch& batch) {
    for (auto& job : batch) job->batch_size.set_value(batch.size());
  });
  auto job = std::make_shared<Job>();
  auto size = job->batch_size.get_future();
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(batcher.try_submit(job));
  EXPECT_EQ(size.get(), 1u);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 45ms);
  EXPECT_LT(waited, 5s);
}

TEST(DynamicBatcher, RefusesBeyondCapacityCountingTheBatchInProcess) {
  Gate gate;
  std::atomic<bool> entered{false};
  std::atomic<int> processed{0};
  DynamicBatcher<Job> batcher(3, 2, 0ms, [&](DynamicBatcher<Job>::Batch& batch) {
    entered = true;
    gate.wait();
    processed += static_cast<int>(batch.size());
  });
  std::vector<std::shared_ptr<Job>> jobs;
  for (int i = 0; i < 3; ++i) {
    jobs.push_back(std::make_shared<Job>());
    EXPECT_TRUE(batcher.try_submit(jobs.back())) << i;
  }
  // Two in process at the gate and one waiting: three in all, the capacity.
  while (!entered) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(batcher.depth(), 3u);
  EXPECT_FALSE(batcher.try_submit(std::make_shared<Job>()));
  gate.release();
  for (int i = 0; i < 200 && batcher.depth() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(batcher.depth(), 0u);
  EXPECT_EQ(processed.load(), 3);
  EXPECT_TRUE(batcher.try_submit(std::make_shared<Job>()));
}

}  // namespace
}  // namespace greedyhash
