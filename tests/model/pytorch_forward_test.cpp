// The model's forward pass against PyTorch's (tests/fixtures/pytorch_forward.json): a
// torchvision AlexNet state dict with random weights, loaded through the --pretrained
// code path, plus a hash layer and code classifier, on fixed images at 224 and 64 px.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "fixtures/pytorch_fixtures.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/imagenet_weights.h"
#include "greedyhash/model/memory_format.h"

namespace greedyhash {
namespace {

// PyTorch's own float32 outputs are within 3e-6 of float64 ones (make_pytorch_fixtures.py
// checks that); the bound leaves room for other kernels and summation orders.
constexpr double kRelative = 1e-4;

void expect_outputs_match(GreedyHash& model, const at::Tensor& images,
                          const nlohmann::json& expected) {
  torch::NoGradGuard no_grad;
  const auto out = model->forward(images);
  const auto h = json_tensor(expected.at("h"));
  ASSERT_EQ(out.h.sizes(), h.sizes());
  EXPECT_LT(relative_error(out.h, h), kRelative);
  // Every |h| is at least 1e-4 rms(h) away from 0 (checked by the generator): the signs
  // cannot depend on rounding, so they must agree exactly.
  EXPECT_TRUE(torch::equal(out.codes.to(torch::kDouble), json_tensor(expected.at("codes"))));
  EXPECT_LT(relative_error(out.logits, json_tensor(expected.at("logits"))), kRelative);
}

TEST(PytorchForward, MatchesTorchvisionAlexNetWithTheHashHead) {
  if (!python_has_modules("torch torchvision numpy")) {
    GTEST_SKIP() << "/usr/bin/python3 with torch, torchvision and numpy is needed to "
                    "regenerate the fixture's weights";
  }
  const auto fixture = read_fixture_json("pytorch_forward.json");
  const ScratchFolder scratch("pytorch_forward");
  PytorchInputs inputs = regenerate_pytorch_inputs(scratch.path(), fixture, LegacyFile::kWrite);
  ASSERT_FALSE(testing::Test::HasFailure());
  GreedyHash& model = inputs.model;
  model->eval();
  // On an emulated CPU (scripts/test_without_avx512.sh) the 224 px images take minutes and
  // go through the same convolution and GEMM kernels as the 64 px ones, so only those run.
  const std::vector<int64_t> sizes = std::getenv("GREEDYHASH_TEST_EMULATED_CPU")
                                         ? std::vector<int64_t>{64}
                                         : std::vector<int64_t>{224, 64};
  for (const bool channels_last : {false, true}) {
    // The trainer and the evaluation run the model in channels-last.
    if (channels_last) use_channels_last(*model);
    for (const int64_t size : sizes) {
      SCOPED_TRACE(std::to_string(size) + " px" + (channels_last ? ", channels-last" : ""));
      expect_outputs_match(model, inputs["forward_" + std::to_string(size)],
                           fixture.at("outputs").at(std::to_string(size)));
    }
  }

  // The same weights in the pre-1.6 (legacy) torch.save format load to the same tensors.
  GreedyHash legacy(model->bits(), model->num_classes());
  load_imagenet_weights(legacy, inputs.folder / "alexnet_legacy.pth");
  const auto loaded = model->named_parameters();
  for (const auto& item : legacy->backbone->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), loaded[item.key()])) << item.key();
  }
}

}  // namespace
}  // namespace greedyhash
