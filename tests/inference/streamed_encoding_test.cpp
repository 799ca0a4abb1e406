// The streamed image path against the in-memory one on real CIFAR-10 JPEGs: same weights,
// same images, the same codes and logits, bit for bit on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "greedyhash/data/image_folder.h"
#include "greedyhash/data/split.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/model/greedy_hash.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

const fs::path kCifarJpegs =
    fs::path(GREEDYHASH_SOURCE_DIR) / ".." / "shared" / "data" / "cifar10-jpg.tar.gz";

TEST(StreamedEncoding, CifarCodesEqualTheInMemoryPathBitForBit) {
  if (!fs::exists(kCifarJpegs)) {
    GTEST_SKIP() << kCifarJpegs << " is missing: the real CIFAR-10 JPEGs are needed (CI has them)";
  }
  const auto scratch = fresh_test_folder("streamed_encoding");
  const std::string command = "tar -xzf '" + kCifarJpegs.string() + "' -C '" + scratch.string() +
                              "' cifar10-jpg/test/airplane cifar10-jpg/test/cat "
                              "cifar10-jpg/test/ship";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const fs::path test = scratch / "cifar10-jpg" / "test";

  const ImageDataset in_memory = read_image_folder(test);
  ImageLoadOptions stream;
  stream.stream = true;
  const ImageDataset streamed = read_image_folder(test, stream);
  ASSERT_EQ(in_memory.size(), 3000);
  ASSERT_EQ(streamed.size(), 3000);
  ASSERT_FALSE(streamed.images.defined()) << "nothing decoded up front";
  EXPECT_TRUE(torch::equal(streamed.labels, in_memory.labels));

  std::vector<int64_t> all(3000);
  for (int64_t i = 0; i < 3000; ++i) all[static_cast<size_t>(i)] = i;
  const auto indices = evenly_spaced(all, 90);
  torch::manual_seed(11);
  GreedyHash model(48, 3);
  auto options = prepare_encoder(model, c10::Device(c10::kCPU), "fp32");
  options.transform = resize_transform(224);
  options.batch_size = 32;
  options.progress_label = "";
  const auto expected = encode_images(model, in_memory, indices, options);
  const auto actual = encode_images(model, streamed, indices, options);
  EXPECT_TRUE(torch::equal(actual.codes, expected.codes));
  EXPECT_TRUE(torch::equal(actual.logits, expected.logits));
  EXPECT_TRUE(torch::equal(actual.labels, expected.labels));
  // Not a trivial agreement: the outputs differ from image to image (random weights
  // give nearly the same code to every image, so the logits are compared too).
  EXPECT_GT(std::get<0>(at::unique_dim(expected.codes, 0)).size(0), 1);
  EXPECT_GT(expected.logits.std(0).mean().item<double>(), 1e-3);
}

}  // namespace
}  // namespace greedyhash
