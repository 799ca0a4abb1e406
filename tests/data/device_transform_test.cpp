#include "greedyhash/data/device_transform.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include <opencv2/imgproc.hpp>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

// Identity normalisation: outputs are the pixels on the 0..1 scale.
TransformOptions plain(int64_t resize = 0, int64_t crop = 0) {
  TransformOptions options;
  options.resize = resize;
  options.crop = crop;
  options.mean = {0.f, 0.f, 0.f};
  options.stddev = {1.f, 1.f, 1.f};
  return options;
}

// OpenCV's bilinear resize of one float plane, as an independent reference.
at::Tensor opencv_resize(const at::Tensor& plane, int64_t height, int64_t width) {
  const auto src = plane.contiguous();
  cv::Mat in(static_cast<int>(src.size(0)), static_cast<int>(src.size(1)), CV_32FC1,
             src.data_ptr<float>());
  cv::Mat out;
  cv::resize(in, out, cv::Size(static_cast<int>(width), static_cast<int>(height)), 0, 0,
             cv::INTER_LINEAR);
  return torch::from_blob(out.data, {height, width}, torch::kFloat).clone();
}

float max_difference_to_opencv(const at::Tensor& input, const at::Tensor& output) {
  float worst = 0.f;
  for (int64_t n = 0; n < input.size(0); ++n) {
    for (int64_t c = 0; c < input.size(1); ++c) {
      const auto expected = opencv_resize(input[n][c], output.size(2), output.size(3));
      worst = std::max(worst, (output[n][c] - expected).abs().max().item<float>());
    }
  }
  return worst;
}

TEST(DeviceTransform, ResizeMatchesOpenCvInterLinear) {
  {
    SCOPED_TRACE("MatchesOpenCvInterLinear");
    torch::manual_seed(3);
    const auto images = torch::rand({2, 3, 32, 32});
    for (const auto& [h, w] : {std::pair<int64_t, int64_t>{224, 224}, {70, 50}, {20, 27}}) {
      const auto ours = resize_bilinear(images, h, w);
      EXPECT_EQ(ours.sizes(), (std::vector<int64_t>{2, 3, h, w}));
      EXPECT_LT(max_difference_to_opencv(images, ours), 1e-4) << h << "x" << w;
      // The path other devices take (LibTorch's kernel) agrees as well.
      const auto aten = at::upsample_bilinear2d(images, {h, w}, false);
      EXPECT_LT((ours - aten).abs().max().item<float>(), 1e-5) << h << "x" << w;
    }
  }
  {
    SCOPED_TRACE("ResizeTo224MatchesOpenCvOnTheZeroOneScale");
    torch::manual_seed(4);
    const auto images = torch::randint(0, 256, {2, 3, 32, 32}, torch::kUInt8);
    const auto out = transform_batch(images, plain(224));
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 224, 224}));
    EXPECT_EQ(out.scalar_type(), torch::kFloat);
    EXPECT_LT(max_difference_to_opencv(images.to(torch::kFloat) / 255, out), 1e-4);

    // With ImageNet statistics: OpenCV resize, then (x - mean) / std by hand.
    const auto normalised = transform_batch(images, resize_transform(224));
    const float mean[3] = {0.485f, 0.456f, 0.406f};
    const float stddev[3] = {0.229f, 0.224f, 0.225f};
    for (int64_t c = 0; c < 3; ++c) {
      const auto expected =
          (opencv_resize(images[1][c].to(torch::kFloat) / 255, 224, 224) - mean[c]) / stddev[c];
      EXPECT_LT((normalised[1][c] - expected).abs().max().item<float>(), 1e-4) << "channel " << c;
    }
  }
}

TEST(DeviceTransform, NormalisationCentreCropAndGatherByHand) {
  {
    SCOPED_TRACE("NormalisationValuesByHand");
    // One pixel per channel: R = 0, G = 128, B = 255.
    //   R: (0 / 255 - 0.485) / 0.229             = -2.1179039
    //   G: (128 / 255 - 0.456) / 0.224 = 0.0459608 / 0.224 = 0.2051821
    //   B: (255 / 255 - 0.406) / 0.225 = 0.594 / 0.225      = 2.64
    const auto pixel = torch::tensor({0, 128, 255}, torch::kUInt8).view({1, 3, 1, 1});
    TransformOptions options;  // no resize, no crop
    const auto out = transform_batch(pixel, options);
    EXPECT_NEAR(out[0][0][0][0].item<float>(), -2.1179039f, 1e-5);
    EXPECT_NEAR(out[0][1][0][0].item<float>(), 0.2051821f, 1e-5);
    EXPECT_NEAR(out[0][2][0][0].item<float>(), 2.64f, 1e-5);
  }
  {
    SCOPED_TRACE("CentreCropIsExact");
    // 6 x 8 image, value 8 y + x in every channel: the centred 4 x 4 window starts at
    // row (6 - 4) / 2 = 1 and column (8 - 4) / 2 = 2.
    const auto image =
        torch::arange(48, torch::kLong).view({1, 1, 6, 8}).repeat({1, 3, 1, 1}).to(torch::kUInt8);
    const auto out = transform_batch(image, plain(0, 4));
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 4, 4}));
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 4; ++x) {
        EXPECT_FLOAT_EQ(out[0][2][y][x].item<float>(), (8 * (y + 1) + (x + 2)) / 255.f);
      }
    }
  }
  {
    SCOPED_TRACE("SelectsRowsInOrder");
    const auto source = torch::arange(24, torch::kLong).view({6, 4}).to(torch::kUInt8);
    const auto rows = torch::tensor({5, 0, 3}, torch::kLong);
    const auto out = gather_to_device(source, rows, c10::Device(c10::kCPU));
    EXPECT_EQ(out.scalar_type(), torch::kUInt8);
    EXPECT_EQ(out[0][0].item<int>(), 20);
    EXPECT_EQ(out[1][3].item<int>(), 3);
    EXPECT_EQ(out[2][1].item<int>(), 13);
  }
}

TEST(DeviceTransform, RandomCropAndFlipAreSeededWindows) {
  {
    SCOPED_TRACE("RandomCropAndFlipAreSeededWindows");
    // Image n has value (64 n + 8 y + x) mod 256 in channel 0: every 5 x 5 window of an
    // 8 x 8 image, mirrored or not, is told apart by its corners.
    const int64_t n = 48;
    const auto image = (torch::arange(n, torch::kLong).view({n, 1, 1, 1}) * 64 +
                        torch::arange(64, torch::kLong).view({1, 1, 8, 8}))
                           .remainder(256)
                           .repeat({1, 3, 1, 1})
                           .to(torch::kUInt8);
    auto options = plain(0, 5);
    options.random_crop = true;
    options.random_flip = true;
    const auto a = transform_batch(image, options, 99);
    const auto b = transform_batch(image, options, 99);
    const auto c = transform_batch(image, options, 100);
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::equal(a, c));

    std::set<std::tuple<int64_t, int64_t, bool>> seen;
    const auto source = image.to(torch::kFloat) / 255;
    for (int64_t i = 0; i < n; ++i) {
      bool found = false;
      for (int64_t top = 0; top <= 3 && !found; ++top) {
        for (int64_t left = 0; left <= 3 && !found; ++left) {
          const auto window = source[i].narrow(1, top, 5).narrow(2, left, 5);
          for (const bool flip : {false, true}) {
            if (torch::allclose(a[i], flip ? window.flip({2}) : window, 0, 1e-6)) {
              seen.insert({top, left, flip});
              found = true;
              break;
            }
          }
        }
      }
      EXPECT_TRUE(found) << "image " << i << " is not a window of its source";
    }
    // 48 draws from 32 (top, left, flip) combinations: many distinct ones, both flips.
    EXPECT_GT(seen.size(), 15u);
    bool flipped = false;
    bool unflipped = false;
    for (const auto& s : seen) (std::get<2>(s) ? flipped : unflipped) = true;
    EXPECT_TRUE(flipped && unflipped);
  }
  {
    SCOPED_TRACE("CropLargerThanTheImageIsAnError");
    const auto image = torch::zeros({1, 3, 32, 32}, torch::kUInt8);
    EXPECT_THROW(transform_batch(image, crop_transform(224, true)), Error);
    // Resizing first makes room for the crop.
    auto options = crop_transform(224, false);
    options.resize = 256;
    EXPECT_EQ(transform_batch(image, options).size(2), 224);
  }
}

}  // namespace
}  // namespace greedyhash
