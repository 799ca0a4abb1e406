// Unsupervised training with the backbone's features computed once (this project) against
// the official scheme, which runs the frozen backbone again on every batch of every epoch.
// Measures, on this machine: the backbone's forward pass per batch (the cost the official
// scheme pays per batch, and this project once per image) and a whole epoch of the hash
// layer on cached features; extrapolates both schemes to --rows images and --epochs epochs.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/train/unsupervised_training.h"
#include "json_stdout.h"

using namespace greedyhash;

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Seconds per batch of the frozen backbone's forward pass (no gradients: the official
// code's backbone parameters do not require them and its input does not either).
double backbone_seconds_per_batch(const std::string& backbone, int64_t input_size,
                                  int64_t batch_size, int batches) {
  torch::manual_seed(0);
  GreedyHash model(64, 10, backbone);
  use_channels_last(*model);
  model->train();  // the official code's mode: dropout active
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({batch_size, 3, input_size, input_size})
                          .contiguous(torch::MemoryFormat::ChannelsLast);
  model->backbone->forward(images);  // warm-up: oneDNN primitives, allocator
  std::vector<double> seconds;
  for (int i = 0; i < batches; ++i) {
    const auto start = std::chrono::steady_clock::now();
    model->backbone->forward(images);
    seconds.push_back(seconds_since(start));
  }
  return median(seconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Unsupervised training: features computed once vs the backbone per batch");
  std::string backbone = "vgg16";
  int64_t input_size = 224, batch_size = 32, rows = 50000, bits = 64, epochs = 60;
  int batches = 3, threads = 0;
  app.add_option("--backbone", backbone)->capture_default_str();
  app.add_option("--input-size", input_size)->capture_default_str();
  app.add_option("--batch-size", batch_size)->capture_default_str();
  app.add_option("--batches", batches, "backbone batches timed (median)")->capture_default_str();
  app.add_option("--rows", rows, "training images per epoch")->capture_default_str();
  app.add_option("--bits", bits)->capture_default_str();
  app.add_option("--epochs", epochs, "epochs to extrapolate to")->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const JsonStdout out;
  configure_threads(threads);

  const double per_batch = backbone_seconds_per_batch(backbone, input_size, batch_size, batches);
  const int64_t batches_per_epoch = (rows + batch_size - 1) / batch_size;
  const double backbone_epoch = per_batch * static_cast<double>(batches_per_epoch);

  // One real epoch of the hash layer on cached features of the backbone's width.
  GreedyHash probe(bits, 10, backbone);
  const int64_t dim = probe->backbone->feature_dim();
  torch::manual_seed(1);
  const auto features = torch::relu(torch::randn({rows, dim}));
  torch::nn::Linear layer(dim, bits);
  UnsupervisedOptions options;
  options.epochs = 1;
  options.batch_size = batch_size;
  options.dropout = 0.5;
  double cached_epoch = 0;
  train_hash_layer(layer, features, options,
                   [&](int64_t, const nlohmann::json& r) { cached_epoch = r["seconds"]; });

  const double e = static_cast<double>(epochs);
  const double official = e * (backbone_epoch + cached_epoch);
  const double once = backbone_epoch + e * cached_epoch;
  out.write({{"backbone", backbone},
             {"input_size", input_size},
             {"batch_size", batch_size},
             {"rows", rows},
             {"bits", bits},
             {"threads", at::get_num_threads()},
             {"backbone_seconds_per_batch", per_batch},
             {"backbone_seconds_per_epoch", backbone_epoch},
             {"cached_epoch_seconds", cached_epoch},
             {"epochs_per_second_cached", 1.0 / cached_epoch},
             {"epochs_per_second_official", 1.0 / (backbone_epoch + cached_epoch)},
             {"epochs", epochs},
             {"official_total_seconds", official},
             {"features_once_total_seconds", once},
             {"speedup", official / once}});
  return 0;
}
