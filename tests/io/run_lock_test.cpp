#include "greedyhash/io/run_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "test_support.h"

namespace greedyhash {
namespace {

// flock(2) locks belong to an open file description, so a second RunFolderLock in the
// same process contends exactly as another process would.
TEST(RunFolderLock, ASecondWriterIsRefusedNamingTheHolderUntilTheFirstEnds) {
  const auto folder = fresh_test_folder("run_lock");
  const auto file = folder / "run" / "train.lock";
  std::optional<RunFolderLock> first;
  first.emplace(file);
  expect_error(
      [&] { RunFolderLock second(file); },
      {(folder / "run").string(), "process " + std::to_string(::getpid()), "--output-dir"});
  first.reset();
  EXPECT_NO_THROW(RunFolderLock again(file));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace greedyhash
