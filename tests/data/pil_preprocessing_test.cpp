// CIFAR-10 JPEGs decoded, resized to 224 and normalised by the project against
// torchvision's PIL pipeline (Resize(224), ToTensor, Normalize): the fixtures
// tests/fixtures/pil_decoded.npy and pil_resized_224_*.png hold what PIL made of the
// same files (make_pytorch_fixtures.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fixtures/pytorch_fixtures.h"
#include "greedyhash/data/device_transform.h"
#include "greedyhash/data/image_decoding.h"
#include "greedyhash/io/npy.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// How far the project's float pipeline may be from torchvision's, in grey levels, for
// inputs that differ by `input_levels`. PIL resizes uint8 images in two passes, each
// rounding to uint8 (horizontal, then vertical; Pillow's ImagingResample), with
// weights in 22-bit fixed point: the first pass is off by at most 1/2 + 3 * 255 * 2^-23,
// the second carries that (its weights are >= 0 and sum to 1) and adds the same again,
// 1 + 2e-4 in all. Its weights are otherwise those of half-pixel bilinear interpolation,
// with the same clamping at the borders, so a correct float resize is within that bound;
// bilinear weights also carry an input difference no further than its maximum.
double resize_bound_levels(double input_levels) {
  return input_levels + 1.0 + 2e-4;
}

// ToTensor + Normalize of uint8 images N x 3 x H x W, in float64.
at::Tensor torchvision_normalise(const at::Tensor& images, const nlohmann::json& fixture) {
  const auto mean = torch::tensor(fixture.at("mean").get<std::vector<double>>()).view({1, 3, 1, 1});
  const auto stddev =
      torch::tensor(fixture.at("std").get<std::vector<double>>()).view({1, 3, 1, 1});
  return (images.to(torch::kDouble) / 255 - mean) / stddev;
}

// Largest difference per channel, in grey levels (times 255 std of the channel), between
// normalised batches N x 3 x H x W.
std::vector<double> channel_differences_in_levels(const at::Tensor& ours, const at::Tensor& theirs,
                                                  const nlohmann::json& fixture) {
  const auto stddev = fixture.at("std").get<std::vector<double>>();
  std::vector<double> levels;
  for (int64_t c = 0; c < 3; ++c) {
    const double diff =
        (ours.select(1, c).to(torch::kDouble) - theirs.select(1, c)).abs().max().item<double>();
    levels.push_back(diff * 255 * stddev[static_cast<size_t>(c)]);
  }
  return levels;
}

// Room for float32 rounding: 1e-5 of the normalised values (those are at most ~2.7, so
// their rounding is far below that), in grey levels of the channel with the largest std.
constexpr double kFloatLevels = 1e-5 * 255 * 0.229;

TEST(PilPreprocessing, DecodeResizeAndNormaliseMatchTorchvision) {
  const fs::path archive =
      fs::path(GREEDYHASH_SOURCE_DIR) / ".." / "shared" / "data" / "cifar10-jpg.tar.gz";
  if (!fs::exists(archive)) {
    GTEST_SKIP() << "needs the real CIFAR-10 JPEGs in " << archive.lexically_normal()
                 << " (../shared/data/cifar10-jpg.tar.gz next to the project)";
  }
  const auto fixture = read_fixture_json("pil_preprocessing.json");
  const auto members = fixture.at("members").get<std::vector<std::string>>();
  const ScratchFolder scratch("pil_preprocessing");
  const fs::path& folder = scratch.path();
  std::string command = "tar xzf '" + archive.string() + "' -C '" + folder.string() + "'";
  std::vector<fs::path> files;
  for (const auto& member : members) {
    command += " '" + member + "'";
    files.push_back(folder / member);
  }
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  // Decoding: OpenCV and PIL both decode with libjpeg(-turbo)'s defaults (islow IDCT,
  // fancy upsampling) and agree exactly with Debian 12's libraries; another build may
  // differ by a level, which the bound of the whole pipeline below then carries.
  const auto decoded = decode_image_files(files);
  const auto pil_decoded = load_npy(fixtures_dir() / "pil_decoded.npy").permute({0, 3, 1, 2});
  ASSERT_EQ(decoded.sizes(), pil_decoded.sizes());
  const double decoder_levels =
      (decoded.to(torch::kInt) - pil_decoded.to(torch::kInt)).abs().max().item<double>();
  EXPECT_LE(decoder_levels, 1.0) << "OpenCV and PIL decode the JPEGs differently";

  // Lossless PNGs of PIL's uint8 output.
  std::vector<fs::path> resized_files;
  for (const auto& name : fixture.at("resized").get<std::vector<std::string>>()) {
    resized_files.push_back(fixtures_dir() / name);
  }
  const auto resized = static_cast<int64_t>(resized_files.size());
  const auto pil_resized = torchvision_normalise(decode_image_files(resized_files), fixture);
  ASSERT_EQ(pil_resized.sizes(), (std::vector<int64_t>{resized, 3, 224, 224}));
  {
    SCOPED_TRACE("resize and normalisation of PIL's decoded pixels");
    const auto ours =
        transform_batch(pil_decoded.narrow(0, 0, resized).contiguous(), resize_transform(224));
    for (const double levels : channel_differences_in_levels(ours, pil_resized, fixture)) {
      EXPECT_LE(levels, resize_bound_levels(0) + kFloatLevels);
    }
  }
  {
    SCOPED_TRACE("the whole pipeline: the project's decoder, resize and normalisation");
    const auto ours = transform_batch(decoded.narrow(0, 0, resized), resize_transform(224));
    for (const double levels : channel_differences_in_levels(ours, pil_resized, fixture)) {
      EXPECT_LE(levels, resize_bound_levels(decoder_levels) + kFloatLevels);
    }
  }
}

}  // namespace
}  // namespace greedyhash
