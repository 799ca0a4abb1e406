#include "greedyhash/runtime/device.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

TEST(SelectDevice, CpuIsAlwaysAvailable) {
  EXPECT_TRUE(select_device("cpu").is_cpu());
}

TEST(SelectDevice, AutoPicksCudaOnlyWhenPresent) {
  EXPECT_EQ(select_device("auto").is_cuda(), torch::cuda::is_available());
}

TEST(SelectDevice, ExplicitCudaWithoutAGpuIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is present";
  try {
    select_device("cuda");
    FAIL() << "expected greedyhash::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos) << e.what();
  }
}

TEST(SelectDevice, UnknownNamesAreRejected) {
  EXPECT_THROW(select_device("gpu"), Error);
  EXPECT_THROW(select_device(""), Error);
}

// Several workers: an explicit GPU index would put them all on one GPU. Checked before
// CUDA's presence, so this holds on any machine.
TEST(SelectWorkerDevice, ExplicitGpuIndexWithSeveralWorkersIsAnError) {
  try {
    select_worker_device("cuda:1", 2, 0);
    FAIL() << "expected greedyhash::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
}

TEST(SelectWorkerDevice, CpuWorkersAndTheSingleProcessCase) {
  EXPECT_TRUE(select_worker_device("cpu", 4, 3).is_cpu());
  EXPECT_TRUE(select_worker_device("cpu", 1, 0).is_cpu());
  if (torch::cuda::is_available()) {
    EXPECT_EQ(select_worker_device("cuda", 2, 0), c10::Device(c10::kCUDA, 0));
    EXPECT_EQ(select_worker_device("cuda:0", 1, 0), c10::Device(c10::kCUDA, 0));
  } else {
    EXPECT_TRUE(select_worker_device("auto", 2, 1).is_cpu());
    EXPECT_THROW(select_worker_device("cuda", 2, 1), Error);
  }
}

}  // namespace
}  // namespace greedyhash
