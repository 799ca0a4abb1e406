// Each backbone against torchvision's own model (tests/fixtures/make_backbone_fixtures.py,
// run here from a fixed seed: random weights saved by torch.save in both formats and read
// through the --pretrained code path, a hash head, two input sizes): h, codes and logits
// in eval mode within 1e-4 relative of PyTorch's float64 result.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "fixtures/pytorch_fixtures.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/imagenet_weights.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/model/torchscript_export.h"
#include "greedyhash/serialize/state_dict.h"

namespace greedyhash {
namespace {

constexpr double kRelative = 1e-4;

struct BackboneCase {
  std::string name;
  std::vector<int64_t> sizes;  // small where the network is heavy: CI runs on 2 cores
};

std::ostream& operator<<(std::ostream& os, const BackboneCase& c) {
  return os << c.name;
}

class TorchvisionBackbone : public testing::TestWithParam<BackboneCase> {};

// The head make_backbone_fixtures.py wrote, copied into the model's head layers.
void load_head(GreedyHash& model, const std::filesystem::path& file) {
  StateDict head;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("hash_layer.", 0) == 0 || item.key().rfind("code_classifier.", 0) == 0) {
      head.insert(item.key(), item.value());
    }
  }
  copy_named_tensors(read_state_dict(file), head, file);
}

void expect_matches_pytorch(const GreedyHashOutput& out, const std::filesystem::path& folder,
                            int64_t size) {
  const std::string s = std::to_string(size);
  const auto h = load_npy(folder / ("h_" + s + ".npy"));
  ASSERT_EQ(out.h.sizes(), h.sizes());
  EXPECT_LT(relative_error(out.h, h), kRelative);
  // The generator keeps every |h| 1e-3 rms(h) away from 0: the signs must agree exactly.
  EXPECT_TRUE(
      torch::equal(out.codes.to(torch::kDouble), load_npy(folder / ("codes_" + s + ".npy"))));
  EXPECT_LT(relative_error(out.logits, load_npy(folder / ("logits_" + s + ".npy"))), kRelative);
}

TEST_P(TorchvisionBackbone, MatchesTorchvisionInBothSaveFormatsAndInTorchScript) {
  if (!python_has_modules("torch torchvision numpy")) {
    GTEST_SKIP() << "/usr/bin/python3 with torch, torchvision and numpy is needed to make "
                    "the fixtures";
  }
  const BackboneCase& c = GetParam();
  const ScratchFolder scratch("backbone_" + c.name);
  const auto folder = scratch.path() / "fixtures";
  std::string sizes, output;
  for (const auto size : c.sizes) sizes += " " + std::to_string(size);
  ASSERT_EQ(
      run_python(scratch.path(), read_file_bytes(fixtures_dir() / "make_backbone_fixtures.py"),
                 folder.string() + " " + c.name + sizes, output),
      0)
      << output;

  GreedyHash model(16, 10, c.name);
  load_imagenet_weights(model, folder / "weights.pth");
  load_head(model, folder / "head.pt");
  model->eval();
  torch::NoGradGuard no_grad;
  auto module = export_torchscript(model);
  for (const bool channels_last : {false, true}) {
    // The trainer and the evaluation run the model in channels-last.
    if (channels_last) use_channels_last(*model);
    for (const auto size : c.sizes) {
      SCOPED_TRACE(std::to_string(size) + " px" + (channels_last ? ", channels-last" : ""));
      const auto images = load_npy(folder / ("x_" + std::to_string(size) + ".npy"));
      expect_matches_pytorch(model->forward(images), folder, size);
      if (channels_last) continue;
      const auto exported = module.forward({images}).toTuple();
      EXPECT_TRUE(torch::equal(exported->elements()[0].toTensor().to(torch::kDouble),
                               load_npy(folder / ("codes_" + std::to_string(size) + ".npy"))));
      EXPECT_LT(relative_error(exported->elements()[1].toTensor(),
                               load_npy(folder / ("logits_" + std::to_string(size) + ".npy"))),
                kRelative);
    }
  }

  // The legacy torch.save format gives the same parameters and buffers.
  GreedyHash legacy(16, 10, c.name);
  load_imagenet_weights(legacy, folder / "weights_legacy.pth");
  const auto loaded = model->named_buffers();
  for (const auto& item : legacy->named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), loaded[item.key()])) << item.key();
  }
  const auto parameters = model->named_parameters();
  for (const auto& item : legacy->named_parameters()) {
    if (item.key().rfind("hash_layer.", 0) == 0 || item.key().rfind("code_classifier.", 0) == 0) {
      continue;
    }
    EXPECT_TRUE(torch::equal(item.value(), parameters[item.key()])) << item.key();
  }
}

// Sizes: two per backbone, the second not a multiple of 32 (pooling remainders). VGG-16
// and ResNet-101 at small sizes only: each costs seconds per image at 224 on 2 cores.
INSTANTIATE_TEST_SUITE_P(
    Backbones, TorchvisionBackbone,
    testing::Values(BackboneCase{"alexnet", {224, 63}}, BackboneCase{"vgg16", {64, 50}},
                    BackboneCase{"resnet18", {224, 70}}, BackboneCase{"resnet34", {96, 70}},
                    BackboneCase{"resnet50", {128, 70}}, BackboneCase{"resnet101", {64, 45}}),
    [](const auto& test) { return test.param.name; });

}  // namespace
}  // namespace greedyhash
