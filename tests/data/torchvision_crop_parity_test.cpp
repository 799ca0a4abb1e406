// The streamed list-file transforms against torchvision's on ImageNet-size JPEGs (CIFAR-10
// images enlarged to 500 x 375, 375 x 500, 640 x 480 and 200 x 150, with noise): the
// evaluation transform Resize(256) -> CenterCrop(224) of PIL images, as the public
// implementations run it (tools.py of DeepHash-pytorch), computed by /usr/bin/python3.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <random>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "greedyhash/data/streamed_images.h"
#include "greedyhash/io/npy.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

const char* const kTorchvisionScript = R"(
import sys
import numpy as np
import torch
from PIL import Image
from torchvision import transforms
out = sys.argv[1]
files = sys.argv[2:]
t = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
crops = []
for f in files:
    with open(f, 'rb') as handle:
        image = Image.open(handle).convert('RGB')
    crops.append(np.asarray(t(image), dtype=np.uint8).transpose(2, 0, 1))
np.save(out, np.stack(crops))
)";

TEST(TorchvisionCropParity, ResizeAndCentreCropOfImagenetSizeJpegs) {
  const fs::path archive =
      fs::path(GREEDYHASH_SOURCE_DIR) / ".." / "shared" / "data" / "cifar10-jpg.tar.gz";
  if (!fs::exists(archive)) {
    GTEST_SKIP() << "needs the real CIFAR-10 JPEGs in " << archive.lexically_normal();
  }
  if (!python_has_modules("torch torchvision numpy PIL")) {
    GTEST_SKIP() << "/usr/bin/python3 with torch, torchvision, numpy and PIL is needed to "
                    "compute torchvision's transforms";
  }
  const auto folder = fresh_test_folder("torchvision_crop_parity");
  const std::string command = "tar xzf '" + archive.string() + "' -C '" + folder.string() +
                              "' cifar10-jpg/test/horse/0000.jpg cifar10-jpg/test/ship/0001.jpg "
                              "cifar10-jpg/test/cat/0002.jpg cifar10-jpg/test/truck/0003.jpg";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::vector<std::pair<std::string, cv::Size>> sources = {{"horse/0000.jpg", {500, 375}},
                                                                 {"ship/0001.jpg", {375, 500}},
                                                                 {"cat/0002.jpg", {640, 480}},
                                                                 {"truck/0003.jpg", {200, 150}}};
  StreamedImages images;
  images.resize_size = 256;
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 4.0);
  std::string args = (folder / "torchvision.npy").string();
  for (const auto& [name, size] : sources) {
    const cv::Mat small = cv::imread((folder / "cifar10-jpg" / "test" / name).string());
    ASSERT_FALSE(small.empty()) << name;
    cv::Mat large;
    cv::resize(small, large, size, 0, 0, cv::INTER_CUBIC);
    for (auto it = large.begin<cv::Vec3b>(); it != large.end<cv::Vec3b>(); ++it) {
      for (int c = 0; c < 3; ++c) (*it)[c] = cv::saturate_cast<uchar>((*it)[c] + noise(rng));
    }
    const auto file =
        folder / (std::to_string(size.width) + "x" + std::to_string(size.height) + ".jpg");
    ASSERT_TRUE(cv::imwrite(file.string(), large, {cv::IMWRITE_JPEG_QUALITY, 90}));
    images.files.push_back(file);
    args += " " + file.string();
  }
  std::string output;
  ASSERT_EQ(run_python(folder, kTorchvisionScript, args, output), 0) << output;
  const auto theirs = load_npy(folder / "torchvision.npy").to(torch::kInt);
  const auto ours = read_streamed_rows(images, {0, 1, 2, 3}, {224, false, false}).to(torch::kInt);
  ASSERT_EQ(ours.sizes(), theirs.sizes());
  // OpenCV's area interpolation against PIL's antialiased bilinear filter (both shrink
  // 375 -> 256 and 480 -> 256 by averaging over the source pixels each output pixel
  // covers, with different weights), and bilinear enlargement 150 -> 256 against PIL's
  // bilinear: the same crop window (the sizes and offsets agree), pixel values close.
  // Measured with Debian 12's OpenCV 4.6 and Pillow 9.4: at most 3 levels apart, 0.21 to
  // 0.32 on average; the bounds leave a level of room for other library versions.
  for (int64_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(images.files[static_cast<size_t>(i)].filename().string());
    const auto diff = (ours[i] - theirs[i]).abs().to(torch::kDouble);
    EXPECT_LE(diff.mean().item<double>(), 0.5);
    EXPECT_LE(diff.max().item<double>(), 4.0);
    // A window one pixel off would be much further apart on these noisy images.
    const auto shifted = (ours[i].narrow(2, 1, 223) - theirs[i].narrow(2, 0, 223)).abs();
    EXPECT_GT(shifted.to(torch::kDouble).mean().item<double>(), 2 * diff.mean().item<double>());
  }
}

}  // namespace
}  // namespace greedyhash
