#include "greedyhash/model/torchscript_export.h"

#include <gtest/gtest.h>

#include <torch/script.h>
#include <torch/torch.h>
#include "test_support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "greedyhash/serialize/torch_save_file.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// One saved export of a 16-bit, 10-class model (~230 MB: AlexNet) shared by the suite,
// with a batch at input 64 and the library model's eval-mode outputs for it.
class TorchscriptExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = new fs::path(test_folder("torchscript_export"));
    fs::remove_all(*folder_);
    torch::manual_seed(21);
    model_ = new GreedyHash(16, 10);
    (*model_)->eval();
    input_ = new at::Tensor(torch::randn({3, 3, 64, 64}));
    torch::NoGradGuard no_grad;
    expected_ = new GreedyHashOutput((*model_)->forward(*input_));
    save_torchscript(*model_, file());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*folder_);
    delete expected_;
    delete input_;
    delete model_;
    delete folder_;
  }
  static fs::path file() { return *folder_ / "model.pt"; }

  static fs::path* folder_;
  static GreedyHash* model_;
  static at::Tensor* input_;
  static GreedyHashOutput* expected_;
};
fs::path* TorchscriptExport::folder_ = nullptr;
GreedyHash* TorchscriptExport::model_ = nullptr;
at::Tensor* TorchscriptExport::input_ = nullptr;
GreedyHashOutput* TorchscriptExport::expected_ = nullptr;

TEST_F(TorchscriptExport, LoadedInCppMatchesTheLibraryModelAndKeepsItsNames) {
  torch::jit::Module loaded = torch::jit::load(file().string());
  torch::NoGradGuard no_grad;
  const auto out = loaded.forward({*input_}).toTuple();
  ASSERT_EQ(out->elements().size(), 2u);
  const auto codes = out->elements()[0].toTensor();
  const auto logits = out->elements()[1].toTensor();
  // Codes only differ where h is within rounding of 0 (none for this seed and input).
  EXPECT_TRUE(torch::equal(codes, expected_->codes));
  EXPECT_TRUE(torch::all((codes == 1) | (codes == -1)).item<bool>());
  EXPECT_TRUE(torch::allclose(logits, expected_->logits, /*rtol=*/0, /*atol=*/1e-5))
      << (logits - expected_->logits).abs().max();
  EXPECT_FALSE(loaded.is_training());

  std::vector<std::string> names;
  for (const auto& p : loaded.named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (*model_)->named_parameters().keys());
  EXPECT_EQ(loaded.attr("bits").toInt(), 16);
  EXPECT_EQ(loaded.attr("num_classes").toInt(), 10);
}

TEST_F(TorchscriptExport, LoadedInPythonMatchesTheLibraryModel) {
  if (!python_has_modules("torch")) GTEST_SKIP() << "/usr/bin/python3 with torch not available";
  const auto io_file = *folder_ / "io.pt";
  TorchSaveDict io("Entry");
  io.insert("input", *input_);
  io.insert("codes", expected_->codes);
  io.insert("logits", expected_->logits);
  write_torch_save_dict(io_file, io);
  const std::string script = R"PY(
import sys, torch
model = torch.jit.load(sys.argv[1])
model.eval()
io = torch.load(sys.argv[2])
with torch.no_grad():
    codes, logits = model(io["input"])
assert torch.equal(codes, io["codes"]), "codes differ"
err = (logits - io["logits"]).abs().max().item()
assert err <= 1e-5, err
print("max |logit difference|", err)
)PY";
  std::string output;
  EXPECT_EQ(run_python(*folder_, script, file().string() + " " + io_file.string(), output), 0)
      << output;
}

TEST(TorchscriptExportModule, SignOfZeroIsPlusOne) {
  // With a zero hash layer h is exactly 0 everywhere: every code must be +1 and the
  // logits the row sums of the code classifier's weight.
  GreedyHash zero_hash(4, 3);
  torch::NoGradGuard no_grad;
  zero_hash->hash_layer->weight.zero_();
  zero_hash->hash_layer->bias.zero_();
  torch::jit::Module module = export_torchscript(zero_hash);
  const auto out = module.forward({torch::randn({2, 3, 64, 64})}).toTuple();
  EXPECT_TRUE(torch::equal(out->elements()[0].toTensor(), torch::ones({2, 4})));
  const auto row_sums = zero_hash->code_classifier->weight.sum(1).expand({2, 3});
  EXPECT_TRUE(torch::allclose(out->elements()[1].toTensor(), row_sums, 0, 1e-6));
}

}  // namespace
}  // namespace greedyhash
