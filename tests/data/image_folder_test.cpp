#include "greedyhash/data/image_folder.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "greedyhash/data/cifar10.h"
#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// Pixel (y, x) of the image with tag t is RGB (10 t + y, 100 + x, 200 + t); OpenCV
// stores BGR, so the PNG gets (B, G, R) = (200 + t, 100 + x, 10 t + y).
void write_png(const fs::path& path, int tag, int height = 4, int width = 5) {
  fs::create_directories(path.parent_path());
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(200 + tag), static_cast<uint8_t>(100 + x),
                    static_cast<uint8_t>(10 * tag + y));
    }
  }
  ASSERT_TRUE(cv::imwrite(path.string(), image));
}

void expect_pixels(const at::Tensor& image, int tag) {
  for (int y = 0; y < image.size(1); ++y) {
    for (int x = 0; x < image.size(2); ++x) {
      ASSERT_EQ(image[0][y][x].item<int>(), 10 * tag + y) << "tag " << tag;
      ASSERT_EQ(image[1][y][x].item<int>(), 100 + x);
      ASSERT_EQ(image[2][y][x].item<int>(), 200 + tag);
    }
  }
}

TEST(ImageFolder, OrderPixelsAndPooledCifarLayout) {
  {
    SCOPED_TRACE("ClassesSortedFilesByNameRgbPixelsExact");
    const auto root = fresh_test_folder("image_folder_order");
    const auto split = root / "train";
    // Class folders created out of order; ids must follow the sorted names.
    write_png(split / "cat" / "b.png", 1);
    write_png(split / "cat" / "a.png", 2);
    write_png(split / "ant" / "z.png", 3);
    write_png(split / "bee" / "m.PNG", 4);
    write_png(split / "bee" / "k.png", 5);
    write_png(split / "bee" / "l.png", 6);
    std::ofstream(split / "bee" / "notes.txt") << "not an image";
    write_png(split / "bee" / ".hidden.png", 7);

    const auto data = read_image_folder(split);
    EXPECT_EQ(data.class_names, (std::vector<std::string>{"ant", "bee", "cat"}));
    ASSERT_EQ(data.size(), 6);
    EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{6, 3, 4, 5}));
    // Order: (class, file name) -> ant/z, bee/k, bee/l, bee/m.PNG, cat/a, cat/b.
    const std::vector<int> tags = {3, 5, 6, 4, 2, 1};
    const std::vector<int64_t> classes = {0, 1, 1, 1, 2, 2};
    const std::vector<std::string> names = {"ant/z.png", "bee/k.png", "bee/l.png",
                                            "bee/m.PNG", "cat/a.png", "cat/b.png"};
    for (int64_t i = 0; i < 6; ++i) {
      expect_pixels(data.images[i], tags[static_cast<size_t>(i)]);
      EXPECT_EQ(data.labels[i].argmax().item<int64_t>(), classes[static_cast<size_t>(i)]);
      EXPECT_EQ(data.labels[i].sum().item<int64_t>(), 1);
      EXPECT_EQ(data.sources[static_cast<size_t>(i)],
                (split / names[static_cast<size_t>(i)]).string());
    }
    EXPECT_EQ(data.test_offset, -1);
  }
  {
    SCOPED_TRACE("DecodesJpegToo");
    const auto split = fresh_test_folder("image_folder_jpeg") / "train";
    fs::create_directories(split / "c");
    // A flat colour survives JPEG almost exactly: RGB (40, 120, 200).
    cv::Mat image(16, 16, CV_8UC3, cv::Scalar(200, 120, 40));
    ASSERT_TRUE(cv::imwrite((split / "c" / "flat.jpg").string(), image));
    const auto data = read_image_folder(split);
    const auto mean = data.images[0].to(torch::kFloat).mean({1, 2});
    EXPECT_NEAR(mean[0].item<float>(), 40, 3);
    EXPECT_NEAR(mean[1].item<float>(), 120, 3);
    EXPECT_NEAR(mean[2].item<float>(), 200, 3);
  }
  {
    SCOPED_TRACE("PooledCifarLayoutTrainFirstThenTest");
    const auto root = fresh_test_folder("image_folder_pooled");
    for (int i = 0; i < 3; ++i)
      write_png(root / "train" / "b" / ("t" + std::to_string(i) + ".png"), i);
    write_png(root / "train" / "a" / "x.png", 10);
    write_png(root / "test" / "a" / "y.png", 11);
    write_png(root / "test" / "b" / "z.png", 12);
    const auto data = load_cifar10(root);
    ASSERT_EQ(data.size(), 6);
    EXPECT_EQ(data.test_offset, 4);
    const std::vector<int> tags = {10, 0, 1, 2, 11, 12};
    for (int64_t i = 0; i < 6; ++i) expect_pixels(data.images[i], tags[static_cast<size_t>(i)]);
    const std::vector<int64_t> classes = {0, 1, 1, 1, 0, 1};
    for (int64_t i = 0; i < 6; ++i) {
      EXPECT_EQ(data.labels[i].argmax().item<int64_t>(), classes[static_cast<size_t>(i)]);
    }
  }
}

TEST(ImageFolder, BadLayoutsAreNamedErrors) {
  const auto root = fresh_test_folder("image_folder_bad");
  expect_error([&] { read_image_folder(root / "missing"); }, {"missing", "does not exist"});

  fs::create_directories(root / "flat");
  std::ofstream(root / "flat" / "a.png") << "x";
  expect_error([&] { read_image_folder(root / "flat"); }, {"flat", "no class folders"});

  write_png(root / "empty" / "full" / "a.png", 1);
  fs::create_directories(root / "empty" / "hollow");
  std::ofstream(root / "empty" / "hollow" / "readme.txt") << "x";
  expect_error([&] { read_image_folder(root / "empty"); }, {"hollow", "has no images"});

  write_png(root / "corrupt" / "c" / "a.png", 1);
  std::ofstream(root / "corrupt" / "c" / "broken.png") << "definitely not a PNG";
  expect_error([&] { read_image_folder(root / "corrupt"); }, {"broken.png", "cannot decode"});

  write_png(root / "sizes" / "c" / "a.png", 1);
  write_png(root / "sizes" / "c" / "b.png", 2, 6, 5);
  expect_error([&] { read_image_folder(root / "sizes"); }, {"b.png", "5x6", "5x4"});

  write_png(root / "classes" / "train" / "a" / "1.png", 1);
  write_png(root / "classes" / "test" / "b" / "1.png", 1);
  expect_error([&] { load_cifar10(root / "classes"); }, {"different class folders"});
}

TEST(ImageFolder, AnyFolderAsACollection) {
  {
    SCOPED_TRACE("ClassLayoutGivesLabels");
    const auto root = fresh_test_folder("collection_classes");
    write_png(root / "dog" / "b.png", 1);
    write_png(root / "cat" / "a.jpg", 2);
    const auto listing = list_image_collection(root);
    EXPECT_EQ(listing.class_names, (std::vector<std::string>{"cat", "dog"}));
    EXPECT_EQ(listing.files,
              (std::vector<fs::path>{root / "cat" / "a.jpg", root / "dog" / "b.png"}));
    EXPECT_EQ(listing.class_ids, (std::vector<int64_t>{0, 1}));
  }
  {
    SCOPED_TRACE("AnyOtherLayoutIsEveryImageBelowSortedWithoutLabels");
    const auto root = fresh_test_folder("collection_flat");
    write_png(root / "z.png", 1);
    write_png(root / "2024" / "05" / "b.JPEG", 2);
    write_png(root / "2024" / "a.png", 3);
    write_png(root / ".cache" / "thumb.png", 4);  // hidden folder: skipped
    write_png(root / ".hidden.png", 5);
    std::ofstream(root / "2024" / "notes.txt") << "not an image";
    const auto listing = list_image_collection(root);
    EXPECT_TRUE(listing.class_names.empty());
    EXPECT_TRUE(listing.class_ids.empty());
    EXPECT_EQ(listing.files, (std::vector<fs::path>{root / "2024" / "05" / "b.JPEG",
                                                    root / "2024" / "a.png", root / "z.png"}));
  }
  {
    SCOPED_TRACE("NoImagesIsANamedError");
    const auto root = fresh_test_folder("collection_empty");
    fs::create_directories(root / "empty");
    expect_error([&] { list_image_collection(root); }, {root.string(), "no images"});
    expect_error([&] { list_image_collection(root / "absent"); }, {"absent", "does not exist"});
  }
}

}  // namespace
}  // namespace greedyhash
