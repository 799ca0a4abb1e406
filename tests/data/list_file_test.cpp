#include "greedyhash/data/list_file.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// RGB at (y, x) = (10 t + y, 100 + x, 200 + t), written as BGR.
void write_png(const fs::path& path, int tag, int height, int width) {
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

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

ListDataSpec make_spec(const fs::path& root) {
  ListDataSpec spec;
  spec.root = root;
  spec.train_list = root / "train.txt";
  spec.query_list = root / "test.txt";
  spec.database_list = root / "database.txt";
  spec.load.resize_size = 4;
  return spec;
}

TEST(ListFile, ParsesPoolsResizesAndCentreCrops) {
  {
    SCOPED_TRACE("ParsesMultiHotAndIndexLines");
    const auto root = fresh_test_folder("list_file_parse");
    write_text(root / "multi.txt", "a/x.jpg 0 1 1\n\nb/y.jpg 1 0 0\n");
    const auto multi = parse_list_file(root / "multi.txt");
    ASSERT_EQ(multi.size(), 2u);
    EXPECT_EQ(multi[0].path, "a/x.jpg");
    EXPECT_EQ(multi[0].label, (std::vector<uint8_t>{0, 1, 1}));
    EXPECT_EQ(multi[1].label, (std::vector<uint8_t>{1, 0, 0}));
    write_text(root / "index.txt", "a/x.jpg 4\n");
    EXPECT_EQ(parse_list_file(root / "index.txt", 5)[0].label,
              (std::vector<uint8_t>{0, 0, 0, 0, 1}));
  }
  {
    SCOPED_TRACE("PoolsListsOnceResizesAndCentreCrops");
    const auto root = fresh_test_folder("list_file_pool");
    write_png(root / "img" / "wide.png", 1, 4, 8);   // shorter side 4: no resize, crop x 2..5
    write_png(root / "img" / "tall.png", 2, 6, 4);   // crop y 1..4
    write_png(root / "img" / "big.png", 3, 8, 8);    // shrunk 2x (area)
    write_png(root / "img" / "small.png", 4, 2, 2);  // enlarged 2x (bilinear)
    write_text(root / "train.txt", "img/wide.png 1 0 1\nimg/tall.png 0 1 0\n");
    write_text(root / "test.txt", "img/big.png 0 0 1\n");
    write_text(root / "database.txt", "img/small.png 1 1 0\nimg/wide.png 1 0 1\n");

    const auto result = load_list_dataset(make_spec(root));
    const auto& data = result.dataset;
    ASSERT_EQ(data.size(), 4);  // wide.png is stored once
    EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{4, 3, 4, 4}));
    EXPECT_TRUE(data.multi_label());
    EXPECT_EQ(data.class_names, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(data.sources[0], (root / "img" / "wide.png").string());
    EXPECT_EQ(result.split.protocol, SplitProtocol::Lists);
    EXPECT_EQ(result.split.train, (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(result.split.query, (std::vector<int64_t>{2}));
    EXPECT_EQ(result.split.database, (std::vector<int64_t>{0, 3}));
    const auto expected_labels =
        torch::tensor({1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0}, torch::kUInt8).view({4, 3});
    EXPECT_TRUE(torch::equal(data.labels, expected_labels));

    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 4; ++x) {
        EXPECT_EQ(data.images[0][0][y][x].item<int>(), 10 + y);
        EXPECT_EQ(data.images[0][1][y][x].item<int>(), 100 + x + 2);
        EXPECT_EQ(data.images[1][0][y][x].item<int>(), 20 + y + 1);
        EXPECT_EQ(data.images[1][1][y][x].item<int>(), 100 + x);
        // 2 x 2 block averages: G = 100 + 2x + 0.5, rounded either way.
        EXPECT_NEAR(data.images[2][1][y][x].item<int>(), 100 + 2 * x + 0.5, 0.5 + 1e-9);
        EXPECT_EQ(data.images[2][2][y][x].item<int>(), 203);
        EXPECT_EQ(data.images[3][2][y][x].item<int>(), 204);
      }
    }
    // Enlarged 2 -> 4 with half-pixel centres: columns map to 0, 0.25, 0.75, 1 of the
    // source span 100..101.
    EXPECT_EQ(data.images[3][1][0][0].item<int>(), 100);
    EXPECT_EQ(data.images[3][1][0][3].item<int>(), 101);
  }
}

TEST(ListFile, BadInputIsANamedError) {
  const auto root = fresh_test_folder("list_file_bad");
  write_png(root / "img" / "a.png", 1, 4, 4);
  expect_error([&] { parse_list_file(root / "absent.txt"); }, {"absent.txt", "does not exist"});

  write_text(root / "width.txt", "img/a.png 0 1 0\nimg/b.png 0 1\n");
  expect_error([&] { parse_list_file(root / "width.txt"); },
               {"width.txt:2", "2 label values", "expected 3"});
  write_text(root / "value.txt", "img/a.png 0 2 0\n");
  expect_error([&] { parse_list_file(root / "value.txt"); }, {"value.txt:1", "'2'", "not 0 or 1"});
  write_text(root / "range.txt", "img/a.png 1\nimg/a.png 3\n");
  expect_error([&] { parse_list_file(root / "range.txt", 3); },
               {"range.txt:2", "label index 3 is out of range", "0..2"});
  write_text(root / "nolabel.txt", "img/a.png\n");
  expect_error([&] { parse_list_file(root / "nolabel.txt"); }, {"nolabel.txt:1", "no label"});
  write_text(root / "empty.txt", "\n");
  expect_error([&] { parse_list_file(root / "empty.txt"); }, {"empty.txt", "no entries"});

  auto spec = make_spec(root);
  write_text(root / "train.txt", "img/a.png 1 0\n");
  write_text(root / "test.txt", "img/missing.png 0 1\n");
  write_text(root / "database.txt", "img/a.png 1 0\n");
  expect_error([&] { load_list_dataset(spec); },
               {"test.txt:1: image", "missing.png does not exist", "relative to"});
  spec.load.stream = true;  // found before anything is decoded, streamed or not
  expect_error([&] { load_list_dataset(spec); }, {"test.txt:1: image", "does not exist"});
  write_text(root / "test.txt", "img/a.png 1 0\n\nimg/a.png 1 0\n");
  expect_error([&] { load_list_dataset(spec); },
               {"test.txt:3: lists img/a.png again (first at line 1)"});
  write_text(root / "test.txt", "img/a.png 0 1\n");
  expect_error([&] { load_list_dataset(spec); }, {"test.txt", "img/a.png", "different label"});
  write_text(root / "test.txt", "img/a.png 1 0 0\n");
  expect_error([&] { load_list_dataset(spec); }, {"test.txt:1", "expected 2"});
  spec.root = root / "nowhere";
  expect_error([&] { load_list_dataset(spec); }, {"nowhere", "does not exist"});
}

}  // namespace
}  // namespace greedyhash
