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

}  // namespace
}  // namespace greedyhash
