#include "greedyhash/model/training_memory.h"

#include <gtest/gtest.h>

namespace greedyhash {
namespace {

TEST(TrainingMemory, PerImageAt224IsTheHandCount) {
  // At 224 px the feature maps are 55 (conv1), 27, 13 and 6 px. Floats kept: input
  // 3*224^2 = 150,528; conv1 64*55^2 = 193,600; pool1 + conv2 (64+192)*27^2 = 186,624;
  // pool2 + conv3..5 (192+384+256+256)*13^2 = 183,872; pool3 256*6^2 = 9,216; avgpool
  // 9,216; fc6 + fc7 8,192: 741,248 floats, x 4 bytes x 2 (values and gradients). Pool
  // indices: 64*27^2 + 192*13^2 + 256*6^2 = 88,320 int64.
  EXPECT_EQ(training_bytes_per_image("alexnet", 224), 741248 * 8 + 88320 * 8);
  // At 63 px, AlexNet's smallest input, the last pooling leaves 1 x 1.
  // conv1 15, pool1 7, pool2 3, pool3 1: 3*3969 + 64*225 + 256*49 + 1088*9 + 256 + 9216 + 8192.
  EXPECT_EQ(training_bytes_per_image("alexnet", 63),
            (11907 + 14400 + 12544 + 9792 + 256 + 9216 + 8192) * 8 + (64 * 49 + 192 * 9 + 256) * 8);
}

TEST(TrainingMemory, ModelIsThreeCopiesOfAlexNetsParameters) {
  // torchvision's AlexNet has 61,100,840 parameters; without its 4096 -> 1000 layer
  // (4,097,000) that is 57,003,840. The 48-bit hash layer adds 4096 * 48 + 48.
  EXPECT_EQ(training_model_bytes("alexnet", 48), int64_t{3} * 4 * (57003840 + 4096 * 48 + 48));
}

}  // namespace
}  // namespace greedyhash
