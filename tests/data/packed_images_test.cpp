#include "greedyhash/data/packed_images.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <random>

#include <opencv2/imgcodecs.hpp>

#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

void write_random_image(const fs::path& path, int height, int width, uint32_t seed) {
  std::mt19937 rng(seed);
  cv::Mat image(height, width, CV_8UC3);
  for (auto it = image.begin<cv::Vec3b>(); it != image.end<cv::Vec3b>(); ++it) {
    *it = cv::Vec3b(static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                    static_cast<uint8_t>(rng()));
  }
  ASSERT_TRUE(cv::imwrite(path.string(), image));
}

// Images of assorted shapes (JPEG and PNG), streamed at shorter side 16.
StreamedImages assorted_images(const fs::path& folder, int count) {
  StreamedImages images;
  images.resize_size = 16;
  for (int i = 0; i < count; ++i) {
    const auto path = folder / ("img" + std::to_string(i) + (i % 2 ? ".jpg" : ".png"));
    write_random_image(path, 12 + i % 7 * 5, 30 - i % 5 * 3, static_cast<uint32_t>(i));
    images.files.push_back(path);
  }
  return images;
}

TEST(PackedImages, GiveTheDecodedPixelsBitForBit) {
  const auto folder = fresh_test_folder("packed_equal");
  auto images = assorted_images(folder, 23);
  std::vector<int64_t> progress;
  write_packed_images(images, folder / "images.pack", 3, [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 23);
    progress.push_back(done);
  });
  EXPECT_EQ(progress.back(), 23);
  auto packed = images;
  packed.packed = PackedImages::open(folder / "images.pack", images);
  EXPECT_EQ(packed.packed->size(), 23);
  const std::vector<int64_t> rows = {22, 0, 5, 5, 17, 1};
  for (const uint64_t seed : {0u, 9u}) {
    const ImageCrop crop{14, true, true};
    EXPECT_TRUE(torch::equal(read_streamed_rows(packed, rows, crop, seed),
                             read_streamed_rows(images, rows, crop, seed)));
  }
  for (const int64_t row : {0, 7, 22}) {
    const auto decoded = read_streamed_image(images, row);
    EXPECT_TRUE(torch::equal(read_streamed_image(packed, row), decoded)) << row;
    EXPECT_EQ(std::min(decoded.size(1), decoded.size(2)), 16) << "shorter side 16, whole image";
  }
}

TEST(PackedImages, StaleOrBrokenPacksAreRefusedWithTheFix) {
  const auto folder = fresh_test_folder("packed_refused");
  auto images = assorted_images(folder, 5);
  const auto pack = folder / "images.pack";
  write_packed_images(images, pack);
  ASSERT_NO_THROW(PackedImages::open(pack, images));

  auto other_size = images;
  other_size.resize_size = 20;
  expect_error([&] { PackedImages::open(pack, other_size); },
               {"images.pack", "stale", "delete it"});
  auto fewer = images;
  fewer.files.pop_back();
  expect_error([&] { PackedImages::open(pack, fewer); }, {"stale", "5 images", "has 4"});
  write_random_image(images.files[2], 40, 41, 99);  // rewritten: another size on disk
  expect_error([&] { PackedImages::open(pack, images); }, {"stale", "changed"});
  images = assorted_images(folder, 5);
  write_packed_images(images, pack);

  // A pack cut short (a copy that stopped, a full disk) or a file of something else.
  const std::string bytes = read_file_bytes(pack);
  std::ofstream(folder / "short.pack", std::ios::binary) << bytes.substr(0, bytes.size() - 100);
  expect_error([&] { PackedImages::open(folder / "short.pack", images); },
               {"short.pack", "not a complete pack"});
  std::ofstream(folder / "text.pack") << std::string(200, 'x');
  expect_error([&] { PackedImages::open(folder / "text.pack", images); }, {"not a complete pack"});
  expect_error([&] { PackedImages::open(folder / "absent.pack", images); },
               {"absent.pack", "cannot open"});
}

// Writes `value` (little-endian, `width` bytes) at `at` of a copy of `bytes`.
std::string with_field(std::string bytes, size_t at, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

TEST(PackedImages, IndexEntriesOutsideThePixelsAreRefused) {
  const auto folder = fresh_test_folder("packed_index");
  const auto images = assorted_images(folder, 5);
  const auto pack = folder / "images.pack";
  write_packed_images(images, pack);
  const std::string bytes = read_file_bytes(pack);
  const std::string trailer = bytes.substr(bytes.size() - 16);
  // The trailer's first 8 bytes: where the index starts; entry i at 16 i from there, as
  // offset (64 bits), height and width (32 bits each).
  uint64_t index = 0;
  for (int i = 7; i >= 0; --i)
    index = index << 8 | static_cast<uint8_t>(bytes[bytes.size() - 16 + i]);
  const size_t entry1 = static_cast<size_t>(index) + 16;
  const struct {
    const char* what;
    std::string bytes;
  } broken[] = {
      // Offset + size would wrap around 2^64 and look in range.
      {"offset near 2^64", with_field(bytes, entry1, ~uint64_t{0} - 7, 8)},
      // Height x width x 3 would wrap around 2^64.
      {"huge extents",
       with_field(with_field(bytes, entry1 + 8, 0xffffffffu, 4), entry1 + 12, 0xffffffffu, 4)},
      {"an offset inside the header", with_field(bytes, entry1, 8, 8)},
      {"an empty image", with_field(bytes, entry1 + 8, 0, 4)},
      // Header and trailer alone, the index said to start 16 bytes before 2^64: the offset
      // plus 5 entries and the trailer wraps around to the file's 80 bytes.
      {"an index offset that wraps",
       with_field(bytes.substr(0, 64) + trailer, 64, ~uint64_t{0} - 15, 8)},
  };
  for (const auto& item : broken) {
    SCOPED_TRACE(item.what);
    std::ofstream(folder / "broken.pack", std::ios::binary | std::ios::trunc) << item.bytes;
    expect_error([&] { PackedImages::open(folder / "broken.pack", images); },
                 {"broken.pack", "inconsistent index", "delete it"});
  }
}

TEST(PackedImages, AFailedWriteLeavesNoFile) {
  const auto folder = fresh_test_folder("packed_failed");
  auto images = assorted_images(folder, 300);  // more than one round of 256 images
  std::ofstream(images.files[280]) << "truncated";
  expect_error([&] { write_packed_images(images, folder / "images.pack"); },
               {"img280", "cannot decode"});
  for (const auto& entry : fs::directory_iterator(folder)) {
    EXPECT_EQ(entry.path().extension() == ".pack" ||
                  entry.path().filename().string().find(".tmp-") != std::string::npos,
              false)
        << entry.path();
  }
}

}  // namespace
}  // namespace greedyhash
