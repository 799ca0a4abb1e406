#include "greedyhash/train/data_parallel_support.h"

#include <gtest/gtest.h>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

TEST(DataParallelSupport, RefusesResNetsUnlessInOneProcess) {
  Config config;
  config.backbone = "resnet50";
  EXPECT_THROW(check_data_parallel_support(config, 2), Error);
  EXPECT_NO_THROW(check_data_parallel_support(config, 1));
  config.freeze_backbone = true;
  EXPECT_THROW(check_data_parallel_support(config, 2), Error);
  config.backbone = "vgg16";
  EXPECT_NO_THROW(check_data_parallel_support(config, 2));
  config.backbone = "alexnet";
  EXPECT_NO_THROW(check_data_parallel_support(config, 4));
}

}  // namespace
}  // namespace greedyhash
