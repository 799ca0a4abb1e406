#include <gtest/gtest.h>
#include <torch/torch.h>

#include <numeric>

#include "cuda_test_support.h"
#include "greedyhash/data/batch_loader.h"
#include "greedyhash/data/device_transform.h"

namespace greedyhash {
namespace {

// Resize, then a random crop and flip: the same seed draws the same windows and flips
// on both devices.
TransformOptions resize_crop_flip() {
  TransformOptions options;
  options.resize = 72;
  options.crop = 64;
  options.random_crop = true;
  options.random_flip = true;
  return options;
}

// On the CPU a separable resize kernel of our own runs, on CUDA at::upsample_bilinear2d:
// both must give the same images (normalised values are within about +-2.7).
TEST(DeviceTransformOnCuda, ResizeCropAndFlipMatchTheCpu) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto device = device_under_test();
  const auto images = random_cifar_like_dataset(6, 4).images;
  for (const auto& options : {resize_transform(64), resize_crop_flip()}) {
    const auto on_cpu = transform_batch(images, options, 17);
    const auto on_device = transform_batch(images.to(device), options, 17);
    EXPECT_EQ(on_device.device(), device);
    EXPECT_TRUE(close_to_cpu(on_device, on_cpu, 0, 1e-4)) << "resize " << options.resize;
  }
}

TEST(DeviceTransformOnCuda, GatherToDeviceSendsTheRowsAsked) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto images = random_cifar_like_dataset(8, 6).images;
  const auto rows = torch::tensor({5, 0, 5, 7}, torch::kLong);
  const auto sent = gather_to_device(images, rows, device_under_test());
  EXPECT_EQ(sent.device(), device_under_test());
  EXPECT_TRUE(torch::equal(sent.cpu(), images.index_select(0, rows)));
}

// The loader prepares batches on a side stream on CUDA (prefetch thread); the consumer's
// stream must see them complete. Two shuffled epochs with random crops and flips, the
// consumer doing work of its own between batches, against a CPU loader.
TEST(BatchLoaderOnCuda, DeliversTheCpuBatches) {
  GREEDYHASH_SKIP_WITHOUT_CUDA();
  const auto device = device_under_test();
  const ImageDataset dataset = random_cifar_like_dataset(23, 8);
  std::vector<int64_t> indices(23);
  std::iota(indices.begin(), indices.end(), 0);
  BatchLoaderOptions options;
  options.batch_size = 5;
  options.shuffle = true;
  options.seed = 9;
  options.transform = resize_crop_flip();
  options.prefetch = 2;
  BatchLoader on_cpu(dataset, indices, options);
  options.device = device;
  BatchLoader on_device(dataset, indices, options);
  ASSERT_EQ(on_device.batches_per_epoch(), 5);

  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    on_cpu.start_epoch(epoch);
    on_device.start_epoch(epoch);
    int64_t batches = 0;
    while (auto expected = on_cpu.next()) {
      auto batch = on_device.next();
      ASSERT_TRUE(batch.has_value()) << "epoch " << epoch << " ended early";
      EXPECT_EQ(batch->images.device(), device);
      EXPECT_EQ(batch->labels.device(), device);
      EXPECT_TRUE(torch::equal(batch->indices, expected->indices));
      EXPECT_TRUE(torch::equal(batch->labels.cpu(), expected->labels));
      EXPECT_TRUE(close_to_cpu(batch->images, expected->images, 0, 1e-4))
          << "epoch " << epoch << " batch " << batches;
      // Work on the consumer's stream while the next batch is being prepared.
      (void)torch::matmul(batch->images.flatten(1), batch->images.flatten(1).t()).sum();
      ++batches;
    }
    EXPECT_FALSE(on_device.next().has_value());
    EXPECT_EQ(batches, 5);
  }
}

}  // namespace
}  // namespace greedyhash
