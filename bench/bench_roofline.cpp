// How close AlexNet's training and encoding come to what this CPU can compute. Measures
// (1) the peak of LibTorch's GEMM and convolution in fp32 and bf16 on this machine, at
// AlexNet's own shapes and at large square ones; (2) AlexNet's FLOPs per encoded and per
// trained image, counted from the layers' shapes; (3) training and encoding on real
// CIFAR-10 at greedyhash_train's settings, with each training step split into its parts
// (data wait, forward, backward, optimiser, synchronisation). Prints one JSON object.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/data/cifar10.h"
#include "greedyhash/data/data_dir.h"
#include "greedyhash/data/split.h"
#include "greedyhash/error.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/io/config.h"
#include "greedyhash/model/alexnet.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/runtime/allocator.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/train/training_step.h"
#include "json_stdout.h"

namespace {

using Clock = std::chrono::steady_clock;
using greedyhash::seconds_since;

// Runs `work` until at least `min_seconds` have passed (after two untimed calls) and
// returns the seconds per call.
template <typename Work>
double seconds_per_call(Work work, double min_seconds) {
  work();
  work();
  int64_t calls = 0;
  const auto start = Clock::now();
  do {
    work();
    ++calls;
  } while (seconds_since(start) < min_seconds);
  return seconds_since(start) / static_cast<double>(calls);
}

struct GemmShape {
  std::string name;
  int64_t m, k, n;
};

struct ConvShape {
  std::string name;
  int64_t batch, in, out, side, kernel, stride, padding;
};

nlohmann::json measure_gemm(const GemmShape& s, torch::ScalarType dtype, double min_seconds) {
  const auto a = torch::randn({s.m, s.k}).to(dtype);
  const auto b = torch::randn({s.k, s.n}).to(dtype);
  auto c = torch::empty({s.m, s.n}, dtype);
  const double seconds = seconds_per_call([&] { torch::mm_out(c, a, b); }, min_seconds);
  return {{"shape", s.name},
          {"m", s.m},
          {"k", s.k},
          {"n", s.n},
          {"gflops", 2.0 * s.m * s.k * s.n / seconds / 1e9}};
}

// Forward convolution, channels-last (the layout training and encoding use).
nlohmann::json measure_conv(const ConvShape& s, torch::ScalarType dtype, double min_seconds) {
  const auto input = torch::randn({s.batch, s.in, s.side, s.side})
                         .to(dtype)
                         .contiguous(torch::MemoryFormat::ChannelsLast);
  const auto weight = torch::randn({s.out, s.in, s.kernel, s.kernel})
                          .to(dtype)
                          .contiguous(torch::MemoryFormat::ChannelsLast);
  const auto bias = torch::randn({s.out}).to(dtype);
  const int64_t out_side = (s.side + 2 * s.padding - s.kernel) / s.stride + 1;
  const double seconds = seconds_per_call(
      [&] { torch::conv2d(input, weight, bias, s.stride, s.padding); }, min_seconds);
  const double flops = 2.0 * s.batch * s.out * out_side * out_side * s.in * s.kernel * s.kernel;
  return {{"shape", s.name}, {"gflops", flops / seconds / 1e9}};
}

// The best rate among `measured` ("gflops" of each).
double best_gflops(const nlohmann::json& measured) {
  double best = 0;
  for (const auto& m : measured) best = std::max(best, m["gflops"].get<double>());
  return best;
}

// FLOPs of AlexNet's matrix products for one image at `size` px, layer by layer: 2 x the
// multiply-adds of each convolution and linear layer, found from the weight's shape and
// the layer's output size. ReLU, pooling, dropout and the loss are left out (under 1%).
struct ModelFlops {
  double forward = 0;
  double first_layer = 0;  // the first convolution: its input needs no gradient
  nlohmann::json layers = nlohmann::json::array();
};

void count_layer(torch::nn::Module& layer, const torch::Tensor& output, const std::string& name,
                 ModelFlops* flops) {
  const auto* weight = layer.named_parameters(false).find("weight");
  if (weight == nullptr) return;
  const double macs_per_output_position = static_cast<double>(weight->numel());
  const double positions = output.dim() == 4 ? output.size(2) * output.size(3) : 1.0;
  const double layer_flops = 2.0 * macs_per_output_position * positions;
  if (flops->layers.empty()) flops->first_layer = layer_flops;
  flops->forward += layer_flops;
  flops->layers.push_back({{"layer", name}, {"gflops", layer_flops / 1e9}});
}

torch::Tensor run_counted(torch::nn::Sequential& sequence, const std::string& prefix,
                          torch::Tensor x, ModelFlops* flops) {
  size_t i = 0;
  for (auto& layer : *sequence) {
    x = layer.forward(x);
    count_layer(*layer.ptr(), x, prefix + "." + std::to_string(i++), flops);
  }
  return x;
}

ModelFlops alexnet_flops(greedyhash::GreedyHash& model, int64_t size) {
  auto* alexnet = dynamic_cast<greedyhash::AlexNetImpl*>(model->backbone.get());
  if (alexnet == nullptr) throw greedyhash::Error("bench_roofline counts AlexNet's FLOPs only");
  torch::NoGradGuard no_grad;
  ModelFlops flops;
  auto x = run_counted(alexnet->features, "features", torch::zeros({1, 3, size, size}), &flops);
  x = alexnet->avgpool->forward(x).flatten(1);
  x = run_counted(alexnet->classifier, "classifier", x, &flops);
  x = model->hash_layer->forward(x);
  count_layer(*model->hash_layer, x, "hash_layer", &flops);
  x = model->code_classifier->forward(x);
  count_layer(*model->code_classifier, x, "code_classifier", &flops);
  return flops;
}

struct Setup {
  greedyhash::ImageDataset dataset;
  greedyhash::Split split;
  int64_t size, batch_size, seed;
};

// greedyhash_train's step at `precision` over `batches` batches of the real loader after
// `warmup` untimed ones: images per second and where each step's time went.
nlohmann::json profile_training(const Setup& setup, const std::string& precision, int64_t warmup,
                                int64_t batches, double flops_per_image) {
  torch::manual_seed(setup.seed);
  greedyhash::GreedyHash model(48, setup.dataset.num_classes(), "alexnet");
  greedyhash::use_channels_last(*model);
  model->train();
  greedyhash::Config paper;
  paper.precision = precision;
  greedyhash::TrainingStep step(model,
                                greedyhash::training_step_options(paper, c10::Device(c10::kCPU)));

  greedyhash::BatchLoaderOptions loading;
  loading.batch_size = setup.batch_size;
  loading.shuffle = true;
  loading.seed = setup.seed;
  loading.transform = greedyhash::resize_transform(setup.size);
  greedyhash::BatchLoader loader(setup.dataset, setup.split.train, loading);
  loader.start_epoch(0);
  for (int64_t i = 0; i < warmup; ++i) step(*loader.next());

  greedyhash::StepProfile profile;
  step.record_profile(&profile);
  double data_wait = 0;
  int64_t images = 0;
  const auto start = Clock::now();
  for (int64_t i = 0; i < batches; ++i) {
    const auto wait_start = Clock::now();
    auto batch = loader.next();
    data_wait += seconds_since(wait_start);
    if (!batch) throw greedyhash::Error("bench_roofline: too few training images for --batches");
    step(*batch);
    images += batch->images.size(0);
  }
  const double seconds = seconds_since(start);
  const double img_per_s = static_cast<double>(images) / seconds;
  const auto ms_per_step = [&](double part) { return 1000.0 * part / batches; };
  return {{"img_per_s", img_per_s},
          {"gflops", img_per_s * flops_per_image / 1e9},
          {"ms_per_step",
           {{"total", ms_per_step(seconds)},
            {"data_wait", ms_per_step(data_wait)},
            {"forward", ms_per_step(profile.forward)},
            {"backward", ms_per_step(profile.backward)},
            {"optimizer", ms_per_step(profile.optimizer)},
            {"synchronisation", ms_per_step(profile.gradient_sync + profile.buffer_sync)}}}};
}

// greedyhash_eval's encoding at `precision` of `images` database images.
nlohmann::json profile_encoding(const Setup& setup, const std::string& precision, int64_t images,
                                int64_t batch_size, double flops_per_image) {
  torch::manual_seed(setup.seed);
  greedyhash::GreedyHash model(48, setup.dataset.num_classes(), "alexnet");
  auto encode = greedyhash::prepare_encoder(model, c10::Device(c10::kCPU), precision);
  encode.batch_size = batch_size;
  encode.transform = greedyhash::resize_transform(setup.size);
  encode.progress_label = "";
  const auto rows = greedyhash::evenly_spaced(setup.split.database, images);
  const std::vector<int64_t> warmup(rows.begin(), rows.begin() + batch_size);
  greedyhash::encode_images(model, setup.dataset, warmup, encode);
  const auto start = Clock::now();
  greedyhash::encode_images(model, setup.dataset, rows, encode);
  const double img_per_s = static_cast<double>(rows.size()) / seconds_since(start);
  return {{"img_per_s", img_per_s}, {"gflops", img_per_s * flops_per_image / 1e9}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "AlexNet's training and encoding against this CPU's measured GEMM / convolution peak "
      "(prints JSON)"};
  std::string data_dir;
  std::string cache_dir = "/tmp/greedyhash-data-cache";
  int threads = 2;
  int64_t size = 224;
  int64_t batch_size = 32;
  int64_t warmup = 2;
  int64_t batches = 10;
  int64_t encode_images = 640;
  double min_seconds = 2.0;
  int64_t seed = 2000;
  app.add_option("--data-dir", data_dir, "CIFAR-10: JPEG folder, binary folder or .tar.gz")
      ->required();
  app.add_option("--cache-dir", cache_dir, "where archives are unpacked");
  app.add_option("--threads", threads, "intra-op threads (0 = one per core)");
  app.add_option("--size", size, "network input side");
  app.add_option("--batch-size", batch_size, "training and encoding batch size");
  app.add_option("--warmup-batches", warmup, "training batches before the profile");
  app.add_option("--batches", batches, "training batches profiled");
  app.add_option("--encode-images", encode_images, "database images encoded");
  app.add_option("--min-seconds", min_seconds, "time each kernel shape at least this long");
  app.add_option("--seed", seed, "split and initialisation seed");
  CLI11_PARSE(app, argc, argv);

  const JsonStdout json_out;
  try {
    nlohmann::json out;
    out["threads"] = greedyhash::configure_threads(threads);
    out["allocator"] = greedyhash::allocator_description();
    out["size"] = size;
    out["batch_size"] = batch_size;

    // AlexNet's heaviest layers at this batch, and large square products for comparison.
    const std::vector<GemmShape> gemms = {{"fc6 forward", batch_size, 9216, 4096},
                                          {"fc6 weight gradient", 4096, batch_size, 9216},
                                          {"square 2048", 2048, 2048, 2048}};
    const std::vector<ConvShape> convs = {{"conv2 forward", batch_size, 64, 192, 27, 5, 1, 2},
                                          {"conv3 forward", batch_size, 192, 384, 13, 3, 1, 1}};
    const std::vector<std::pair<std::string, torch::ScalarType>> precisions = {
        {"fp32", torch::kFloat}, {"bf16", torch::kBFloat16}};
    for (const auto& [name, dtype] : precisions) {
      nlohmann::json gemm = nlohmann::json::array(), conv = nlohmann::json::array();
      for (const auto& s : gemms) gemm.push_back(measure_gemm(s, dtype, min_seconds));
      for (const auto& s : convs) conv.push_back(measure_conv(s, dtype, min_seconds));
      out["peak"][name] = {{"gemm", gemm},
                           {"conv", conv},
                           {"gflops", std::max(best_gflops(gemm), best_gflops(conv))}};
      std::fprintf(stderr, "peak %s: %.1f GFLOP/s\n", name.c_str(),
                   out["peak"][name]["gflops"].get<double>());
    }

    greedyhash::GreedyHash counted(48, 10, "alexnet");
    const ModelFlops flops = alexnet_flops(counted, size);
    // Training: the forward pass, then the gradient of every layer's input (but the
    // first's) and of every weight, each as many FLOPs as the layer's forward.
    const double training_flops = 3.0 * flops.forward - flops.first_layer;
    out["model_gflops_per_image"] = {
        {"encode", flops.forward / 1e9}, {"train", training_flops / 1e9}, {"layers", flops.layers}};

    const auto folder = greedyhash::resolve_data_dir(data_dir, cache_dir);
    Setup setup{greedyhash::load_cifar10(folder), {}, size, batch_size, seed};
    setup.split = greedyhash::make_cifar_split(setup.dataset.labels,
                                               greedyhash::SplitProtocol::Cifar10_1, seed);
    for (const std::string precision : {"fp32", "bf16"}) {
      const double peak = out["peak"][precision]["gflops"].get<double>();
      auto train = profile_training(setup, precision, warmup, batches, training_flops);
      train["share_of_peak"] = train["gflops"].get<double>() / peak;
      auto encode = profile_encoding(setup, precision, encode_images, batch_size, flops.forward);
      encode["share_of_peak"] = encode["gflops"].get<double>() / peak;
      std::fprintf(stderr, "%s: training %.1f img/s (%.0f%% of peak), encoding %.1f img/s\n",
                   precision.c_str(), train["img_per_s"].get<double>(),
                   100.0 * train["share_of_peak"].get<double>(), encode["img_per_s"].get<double>());
      out["training"][precision] = train;
      out["encoding"][precision] = encode;
    }
    if (!json_out.write(out)) return 1;
  } catch (const greedyhash::Error& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
