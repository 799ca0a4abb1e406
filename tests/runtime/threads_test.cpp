#include "greedyhash/runtime/threads.h"

#include <gtest/gtest.h>

#include <thread>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

TEST(ConfigureThreads, ZeroMeansOnePerHardwareThread) {
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(configure_threads(0), hardware > 0 ? hardware : 1);
}

TEST(ConfigureThreads, ExplicitCountIsApplied) {
  EXPECT_EQ(configure_threads(1), 1);
}

TEST(ConfigureThreads, NegativeIsAnError) {
  EXPECT_THROW(configure_threads(-1), Error);
}

}  // namespace
}  // namespace greedyhash
