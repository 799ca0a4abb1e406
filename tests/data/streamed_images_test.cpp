#include "greedyhash/data/streamed_images.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "greedyhash/data/device_transform.h"
#include "greedyhash/data/image_decoding.h"
#include "greedyhash/data/seeded_shuffle.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// A PNG of random pixels (lossless, so that every reader sees the same bytes).
fs::path write_random_png(const fs::path& path, int height, int width, uint32_t seed) {
  std::mt19937 rng(seed);
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) image.at<cv::Vec3b>(y, x)[c] = static_cast<uint8_t>(rng());
    }
  }
  EXPECT_TRUE(cv::imwrite(path.string(), image));
  return path;
}

std::vector<fs::path> random_pngs(const fs::path& folder, int count, int height, int width) {
  std::vector<fs::path> files;
  for (int i = 0; i < count; ++i) {
    files.push_back(write_random_png(folder / ("img" + std::to_string(i) + ".png"), height, width,
                                     static_cast<uint32_t>(100 + i)));
  }
  return files;
}

StreamedImages streamed_files(std::vector<fs::path> files, int64_t resize_size = 0) {
  StreamedImages images;
  images.files = std::move(files);
  images.resize_size = resize_size;
  return images;
}

TEST(StreamedImages, RowsEqualTheInMemoryDecoding) {
  const auto folder = fresh_test_folder("streamed_rows");
  const auto files = random_pngs(folder, 9, 20, 20);
  const auto in_memory = decode_image_files(files);
  const StreamedImages streamed = streamed_files(files);
  const std::vector<int64_t> rows = {4, 0, 8, 8, 3};
  const auto batch = read_streamed_rows(streamed, rows, {});
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{5, 3, 20, 20}));
  for (size_t k = 0; k < rows.size(); ++k) {
    EXPECT_TRUE(torch::equal(batch[static_cast<int64_t>(k)], in_memory[rows[k]])) << k;
  }
  EXPECT_TRUE(torch::equal(read_streamed_image(streamed, 7), in_memory[7]));

  // Non-square images: the whole image scaled to shorter side 16, centre 16 crop, is the
  // in-memory path's centre square.
  const auto wide = random_pngs(fresh_test_folder("streamed_rows_wide"), 4, 30, 47);
  const auto squares = decode_image_files(wide, {16, 0});
  const StreamedImages scaled = streamed_files(wide, 16);
  EXPECT_TRUE(torch::equal(read_streamed_rows(scaled, {0, 1, 2, 3}, {16, false, false}), squares));
  EXPECT_EQ(read_streamed_image(scaled, 2).sizes(), (std::vector<int64_t>{3, 16, 25}));
}

// Pixel (y, x) of a 30 x 60 image holds (R, G) = (4 x, 8 y): a crop tells where it was cut.
TEST(StreamedImages, RandomCropSpansTheWholeImageByTheTransformRule) {
  const auto folder = fresh_test_folder("streamed_crop");
  cv::Mat image(30, 60, CV_8UC3);
  for (int y = 0; y < 30; ++y) {
    for (int x = 0; x < 60; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(0, 8 * y, 4 * x);
  }
  ASSERT_TRUE(cv::imwrite((folder / "grid.png").string(), image));
  const StreamedImages streamed = streamed_files({folder / "grid.png"});
  std::set<int64_t> lefts;
  std::set<int64_t> tops;
  int flips = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    const auto crop = read_streamed_rows(streamed, {0, 0}, {20, true, true}, seed);
    std::mt19937_64 rng(seed);
    for (int64_t k = 0; k < 2; ++k) {
      const auto top = static_cast<int64_t>(draw_below(rng, 11));
      const auto left = static_cast<int64_t>(draw_below(rng, 41));
      const bool flip = draw_below(rng, 2) == 1;
      tops.insert(top);
      lefts.insert(left);
      flips += flip;
      for (int64_t r = 0; r < 20; r += 7) {
        for (int64_t c = 0; c < 20; c += 3) {
          const int64_t x = flip ? left + 19 - c : left + c;
          ASSERT_EQ(crop[k][0][r][c].item<int64_t>(), 4 * x) << seed << " " << k;
          ASSERT_EQ(crop[k][1][r][c].item<int64_t>(), 8 * (top + r)) << seed << " " << k;
        }
      }
    }
  }
  // Every position of the 60 x 30 image, not of a pre-cut 30 x 30 square.
  EXPECT_EQ(lefts.size(), 41u);
  EXPECT_EQ(tops.size(), 11u);
  EXPECT_GT(flips, 300);
  EXPECT_LT(flips, 500);
}

TEST(StreamedImages, CropAndFlipEqualTheDeviceTransformOnSquares) {
  const auto files = random_pngs(fresh_test_folder("streamed_device"), 10, 12, 12);
  const auto in_memory = decode_image_files(files);
  TransformOptions transform;
  transform.crop = 8;
  transform.random_crop = true;
  transform.random_flip = true;
  TransformOptions rest = transform;
  rest.crop = 0;
  rest.random_crop = false;
  rest.random_flip = false;
  const std::vector<int64_t> rows = {9, 2, 5, 0, 7, 1};
  for (const uint64_t seed : {1u, 77u, 4242u}) {
    const auto expected =
        transform_batch(in_memory.index_select(0, torch::tensor(rows)), transform, seed);
    const auto streamed = read_streamed_rows(streamed_files(files), rows, {8, true, true}, seed);
    EXPECT_TRUE(torch::equal(transform_batch(streamed, rest, seed), expected)) << seed;
  }
}

TEST(StreamedImages, BadFilesAreNamedErrors) {
  const auto folder = fresh_test_folder("streamed_errors");
  const auto files = random_pngs(folder, 2, 10, 10);
  write_random_png(folder / "other.png", 12, 10, 1);
  std::ofstream(folder / "broken.jpg") << "not a jpeg";
  expect_error([&] { read_streamed_rows(streamed_files({folder / "absent.png"}), {0}, {}); },
               {"absent.png", "cannot read"});
  expect_error([&] { read_streamed_rows(streamed_files({folder / "broken.jpg"}), {0}, {}); },
               {"broken.jpg", "cannot decode"});
  expect_error(
      [&] {
        read_streamed_rows(streamed_files(files), {0}, {11, false, false});
      },
      {"img0.png", "10x10", "11 px crop"});
  expect_error(
      [&] {
        read_streamed_rows(streamed_files({files[0], folder / "other.png"}), {0, 1}, {});
      },
      {"other.png", "img0.png", "share one size"});
  expect_error([&] { read_streamed_rows(streamed_files(files), {2}, {}); },
               {"outside the data set of 2"});
}

}  // namespace
}  // namespace greedyhash
