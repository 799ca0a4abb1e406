// Five training steps as the trainer takes them (channels-last, FusedMomentumSGD with
// AccumulatingLinear, the GreedyHash loss, float32) against torch.optim.SGD in PyTorch
// (tests/fixtures/pytorch_sgd.json), from the same weights on the same batches, with
// the model in eval mode (no dropout). Two images of 64 px per step: with few units a
// run exists that keeps every ReLU input and max-pool gap well away from its kink, where
// float rounding could send the gradient either way (make_pytorch_fixtures.py).
//
// What is compared, per parameter, after the last step (p: the parameter, d: its
// displacement from the start, both against PyTorch's float64 run):
//  - p at 32 seeded elements within 1e-5 relative, and sum(p^2);
//  - d at the same elements, sum(d^2), and four projections sum(s_i d_i) on pseudo-random
//    signs s_i (SplitMix64 of the element's index), within 1e-3 relative to |d|.
// Why d: five steps at lr 1e-3 move p by ~1e-3 of its size, and weight decay accounts
// for about 6e-6 of p, so p alone cannot show a missing weight decay (it stays within
// 1e-5; tried); relative to d, it is several times the tolerance. The samples catch any
// error that touches a fair fraction of the elements; a projection adds up every element
// with a random sign, so a deviation e of any shape (one row, one bias, a sign flip in a
// corner) moves it by about |e|: one with |e| ten times the tolerance escapes all four
// with probability < 1e-4. What could escape is an error confined to a few elements and
// below 1e-3 of |d| in norm. That for a 43 kB fixture instead of the 244 MB the
// parameters take.
//
// The tolerances: PyTorch's own float32 run passes these checks against its float64 run
// using at most a quarter of each (make_pytorch_fixtures.py refuses to write fixtures
// where it needs more than half); the rest is for other kernels and summation orders.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "fixtures/pytorch_fixtures.h"
#include "greedyhash/model/loss.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/runtime/autocast.h"
#include "greedyhash/train/fused_momentum_sgd.h"

namespace greedyhash {
namespace {

constexpr double kParameterRelative = 1e-5;
constexpr double kDisplacementRelative = 1e-3;
constexpr int kProjections = 4;

// SplitMix64's output function (Steele, Lea and Flood, OOPSLA 2014).
uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

struct Sketch {
  std::vector<double> final;
  std::vector<double> displacement;
  double final_sum_of_squares = 0;
  double displacement_sum_of_squares = 0;
  std::array<double, kProjections> projections{};
};

// What make_pytorch_fixtures.py's sketch() records of parameter number `parameter_index`.
// Signs: elements go in blocks of 16, each with the hash splitmix64(index * 2^40 + block);
// element e of a block takes the hash's bits 63 - 4e (projection 0) down to 60 - 4e.
Sketch sketch(int64_t parameter_index, const at::Tensor& initial, const at::Tensor& final,
              const std::vector<int64_t>& sample) {
  const auto p0 = initial.contiguous();
  const auto p = final.detach().contiguous();
  const float* a = p0.data_ptr<float>();
  const float* b = p.data_ptr<float>();
  Sketch s;
  static_assert(kProjections == 4, "one hash bit per projection, 16 elements per hash");
  const uint64_t key = static_cast<uint64_t>(parameter_index) << 40;
  uint64_t z = 0;
  for (int64_t i = 0; i < p.numel(); ++i) {
    const double value = b[i];
    const double d = value - static_cast<double>(a[i]);
    s.final_sum_of_squares += value * value;
    s.displacement_sum_of_squares += d * d;
    if (i % 16 == 0) z = splitmix64(key + static_cast<uint64_t>(i / 16));
    for (int k = 0; k < kProjections; ++k) s.projections[k] += ((z >> (63 - k)) & 1) ? -d : d;
    z <<= 4;  // the next element's bits on top
  }
  for (const int64_t i : sample) {
    s.final.push_back(b[i]);
    s.displacement.push_back(static_cast<double>(b[i]) - static_cast<double>(a[i]));
  }
  return s;
}

void expect_matches(const nlohmann::json& expected, const at::Tensor& initial,
                    const at::Tensor& final) {
  const auto sample = expected.at("sample_index").get<std::vector<int64_t>>();
  const Sketch got = sketch(expected.at("parameter_index").get<int64_t>(), initial, final, sample);
  const auto numel = static_cast<double>(final.numel());
  const double final_ss = expected.at("final_sum_of_squares").get<double>();
  const double d_ss = expected.at("displacement_sum_of_squares").get<double>();
  const double final_rms = std::sqrt(final_ss / numel);
  const double d_norm = std::sqrt(d_ss);
  const double d_rms = d_norm / std::sqrt(numel);

  const auto want_final = expected.at("final").get<std::vector<double>>();
  const auto want_d = expected.at("displacement").get<std::vector<double>>();
  for (size_t i = 0; i < sample.size(); ++i) {
    EXPECT_LE(std::abs(got.final[i] - want_final[i]),
              kParameterRelative * std::max(std::abs(want_final[i]), final_rms))
        << "element " << sample[i];
    EXPECT_LE(std::abs(got.displacement[i] - want_d[i]),
              kDisplacementRelative * std::max(std::abs(want_d[i]), d_rms))
        << "displacement of element " << sample[i];
  }
  // (1 + e)^2 - 1 ~ 2e: the sums of squares get twice the relative tolerance.
  EXPECT_LE(std::abs(got.final_sum_of_squares - final_ss), 2 * kParameterRelative * final_ss);
  EXPECT_LE(std::abs(got.displacement_sum_of_squares - d_ss), 2 * kDisplacementRelative * d_ss);
  const auto projections = expected.at("displacement_projections").get<std::vector<double>>();
  for (int k = 0; k < kProjections; ++k) {
    EXPECT_LE(std::abs(got.projections[k] - projections[k]), kDisplacementRelative * d_norm)
        << "projection " << k;
  }
}

TEST(PytorchSgd, FiveFusedStepsMatchTorchOptimSgd) {
  if (!python_has_modules("torch torchvision numpy")) {
    GTEST_SKIP() << "/usr/bin/python3 with torch, torchvision and numpy is needed to "
                    "regenerate the fixture's weights";
  }
  const auto fixture = read_fixture_json("pytorch_sgd.json");
  const ScratchFolder scratch("pytorch_sgd");
  PytorchInputs inputs = regenerate_pytorch_inputs(scratch.path(), fixture);
  ASSERT_FALSE(testing::Test::HasFailure());
  GreedyHash& model = inputs.model;
  std::vector<at::Tensor> initial;
  for (const auto& p : model->parameters()) initial.push_back(p.detach().clone());

  // As train_model sets the model up, with eval() for a deterministic forward pass.
  const c10::Device cpu(c10::kCPU);
  model->eval();
  use_channels_last(*model);
  FusedMomentumSGD sgd(model->parameters(),
                       torch::optim::SGDOptions(fixture.at("lr").get<double>())
                           .momentum(fixture.at("momentum").get<double>())
                           .weight_decay(fixture.at("weight_decay").get<double>()));
  const auto images = inputs["sgd_images"];
  const auto labels = inputs["sgd_labels"];
  const auto losses = fixture.at("losses").get<std::vector<double>>();
  const int64_t steps = fixture.at("steps").get<int64_t>();
  for (int64_t step = 0; step < steps; ++step) {
    LossTerms terms;
    {
      AutocastScope autocast(cpu, "fp32");
      const auto out = model->forward(images[step]);
      terms = greedy_hash_loss(out.logits, out.h, labels[step], fixture.at("alpha").get<double>());
    }
    const double loss = terms.total.item<double>();
    EXPECT_LE(std::abs(loss - losses[step]), kParameterRelative * std::abs(losses[step]))
        << "loss of step " << step + 1;
    sgd.zero_grad();
    terms.total.backward();
    sgd.step();
  }

  const auto parameters = model->named_parameters();
  const auto& expected = fixture.at("parameters");
  ASSERT_EQ(expected.size(), parameters.size());
  for (size_t j = 0; j < parameters.size(); ++j) {
    const auto& item = parameters[j];
    ASSERT_EQ(item.key(), expected[j].at("name").get<std::string>());
    SCOPED_TRACE(item.key());
    expect_matches(expected[j], initial[j], item.value());
  }
}

}  // namespace
}  // namespace greedyhash
