// The whole GreedyHash pipeline on real CIFAR-10 (I), measured the way
// bench/reference/greedyhash_reference.py measures the Python version, so that
// bench/run_benchmark.sh can report ours / Python per figure. Prints one JSON object.
//
// Sizes follow the reference: the split is drawn per class (100 query / 500 train per
// class), then --train-images / --database-size / --query-size keep N evenly spaced items
// list[floor(i * len / N)] of each ascending list (a prefix would be one or two classes).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

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
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/loss.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/retrieval/binary_codes.h"
#include "greedyhash/retrieval/classification_accuracy.h"
#include "greedyhash/retrieval/labeled_codes.h"
#include "greedyhash/retrieval/retrieval_metrics.h"
#include "greedyhash/runtime/allocator.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/train/training_step.h"
#include "json_stdout.h"
#include "process_memory.h"

namespace {

namespace fs = std::filesystem;
using greedyhash::seconds_since;
using Clock = std::chrono::steady_clock;

void synchronize(c10::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? 0 : device.index());
}

// Images per second of the two halves of a training step, each alone, after the timed
// epoch: the loader (batches delivered on the device, nothing done with them) and the step
// on one batch kept on the device (no loading). The slower half bounds the epoch; a step
// far slower than the device's arithmetic points at kernel launches and host syncs. A
// fresh optimiser, so the figures of the timed epoch and its mAP are untouched. The
// encoder has left the model channels-last, so the step is timed in that layout.
nlohmann::json time_step_parts(const greedyhash::ImageDataset& dataset,
                               const std::vector<int64_t>& train,
                               const greedyhash::BatchLoaderOptions& options,
                               greedyhash::GreedyHash model,
                               const greedyhash::TrainingStepOptions& step_options,
                               int64_t batches) {
  const c10::Device device = options.device;
  greedyhash::BatchLoader loader(dataset, train, options);
  loader.start_epoch(1);
  auto resident = loader.next();
  if (!resident) return nullptr;
  int64_t loaded = 0;
  auto start = Clock::now();
  for (int64_t i = 0; i < batches; ++i) {
    auto batch = loader.next();
    if (!batch) break;
    loaded += batch->images.size(0);
  }
  synchronize(device);
  const double loader_seconds = seconds_since(start);

  model->train();
  greedyhash::TrainingStep step(model, step_options);
  step(*resident);  // allocates the momentum buffers
  synchronize(device);
  start = Clock::now();
  for (int64_t i = 0; i < batches; ++i) step(*resident);
  synchronize(device);
  const double step_seconds = seconds_since(start);
  const auto batch_images = resident->images.size(0);
  return {{"batches", batches},
          {"channels_last", true},
          {"loader_img_per_s", loaded / loader_seconds},
          {"step_img_per_s", static_cast<double>(batches * batch_images) / step_seconds},
          {"step_ms", 1000.0 * step_seconds / static_cast<double>(batches)}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"greedyhash end-to-end pipeline benchmark on real CIFAR-10 (prints JSON)"};
  std::string data_dir;
  std::string cache_dir = "/tmp/greedyhash-data-cache";
  std::string device_name = "cpu";
  std::string precision = "fp32";
  int threads = 2;
  bool quick = false;
  bool channels_last = false;
  bool torch_sgd = false;
  int64_t train_images = 0;
  int64_t database_size = 0;
  int64_t query_size = 0;
  int64_t bits = 48;
  int64_t batch_size = 32;
  int64_t eval_batch_size = 32;  // as the Python reference; larger batches only cost memory on CPUs
  int64_t warmup_batches = 3;
  int64_t epochs = 1;
  int64_t size = 224;
  uint64_t seed = 2000;
  int64_t breakdown_batches = 0;
  std::string backbone = "alexnet";
  bool freeze_backbone = false;
  app.add_option("--data-dir", data_dir, "CIFAR-10: JPEG folder, binary folder or .tar.gz")
      ->required();
  app.add_option("--cache-dir", cache_dir, "where archives are unpacked");
  app.add_flag("--quick", quick, "320 train images, 5,000 database images, 100 queries");
  app.add_option("--train-images", train_images, "train on N evenly spaced train images");
  app.add_option("--database-size", database_size, "N evenly spaced database images");
  app.add_option("--query-size", query_size, "N evenly spaced queries");
  app.add_option("--threads", threads, "intra-op threads (0 = one per core)");
  app.add_option("--precision", precision, "fp32 or bf16 (autocast)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_flag("--channels-last", channels_last, "convolution weights in NHWC layout");
  app.add_flag("--torch-sgd", torch_sgd,
               "torch::optim::SGD instead of FusedMomentumSGD (keeps all gradients)");
  app.add_option("--device", device_name, "cpu, cuda, cuda:N or auto");
  app.add_option("--bit", bits, "code length");
  app.add_option("--batch-size", batch_size, "training batch size");
  app.add_option("--eval-batch-size", eval_batch_size, "encoding batch size");
  app.add_option("--warmup-batches", warmup_batches, "training batches left out of the timing");
  app.add_option("--epochs", epochs, "training epochs");
  app.add_option("--size", size, "network input side");
  app.add_option("--seed", seed, "split and initialisation seed");
  app.add_option("--backbone", backbone, "alexnet, vgg16, resnet18, resnet34, resnet50, resnet101");
  app.add_flag("--freeze-backbone", freeze_backbone, "train the hash layer and classifier alone");
  app.add_option("--breakdown-batches", breakdown_batches,
                 "after the evaluation, time N batches of the loader alone and N training "
                 "steps on one resident batch (0 = skip)");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    if (train_images == 0) train_images = 320;
    if (database_size == 0) database_size = 5000;
    if (query_size == 0) query_size = 100;
  }

  const JsonStdout json_out;
  try {
    const auto wall_start = Clock::now();
    nlohmann::json out;
    out["impl"] = "cpp";
    out["threads"] = greedyhash::configure_threads(threads);
    const c10::Device device = greedyhash::select_device(device_name);

    auto start = Clock::now();
    const auto folder = greedyhash::resolve_data_dir(data_dir, cache_dir);
    greedyhash::ImageDataset dataset = greedyhash::load_cifar10(folder);
    greedyhash::Split split =
        greedyhash::make_cifar_split(dataset.labels, greedyhash::SplitProtocol::Cifar10_1, seed);
    split.train = greedyhash::evenly_spaced(split.train, train_images);
    split.database = greedyhash::evenly_spaced(split.database, database_size);
    split.query = greedyhash::evenly_spaced(split.query, query_size);
    const double data_load_seconds = seconds_since(start);
    out["peak_rss_after_load_mb"] = peak_rss_mb();
    out["allocator"] = greedyhash::allocator_description();
    std::fprintf(stderr, "pool %lld images; train %zu, query %zu, database %zu; %.2f s\n",
                 static_cast<long long>(dataset.size()), split.train.size(), split.query.size(),
                 split.database.size(), data_load_seconds);
    torch::manual_seed(seed);
    greedyhash::GreedyHash model(bits, dataset.num_classes(), backbone);
    if (freeze_backbone) model->freeze_backbone();
    model->to(device);
    if (channels_last) greedyhash::use_channels_last(*model);
    // The library's own step with the paper's settings (greedyhash::Config's defaults).
    greedyhash::Config paper;
    paper.precision = precision;
    greedyhash::TrainingStepOptions step_options = greedyhash::training_step_options(paper, device);
    step_options.fused_optimizer = !torch_sgd;
    auto training_step = std::make_unique<greedyhash::TrainingStep>(model, step_options);

    // Training: timing starts after the warm-up batches (thread start, allocator warm-up)
    // and covers loading, device transform, forward, loss, backward and the SGD step.
    int64_t step = 0, timed_images = 0;
    double train_seconds = 0;
    double train_total_seconds = 0;  // all epochs, warm-up batches included
    greedyhash::BatchLoaderOptions train_loading;
    train_loading.batch_size = batch_size;
    train_loading.shuffle = true;
    train_loading.seed = seed;
    train_loading.device = device;
    train_loading.transform = greedyhash::resize_transform(size);
    {
      greedyhash::BatchLoader loader(dataset, split.train, train_loading);
      Clock::time_point train_start;
      const auto all_steps_start = Clock::now();
      model->train();
      for (int64_t epoch = 0; epoch < epochs; ++epoch) {
        loader.start_epoch(epoch);
        while (auto batch = loader.next()) {
          if (step == warmup_batches) {
            synchronize(device);
            train_start = Clock::now();
          }
          const greedyhash::LossTerms terms = (*training_step)(*batch);
          // Reading the loss waits for the device: every 10th step only, as training's
          // progress line does.
          if (step % 10 == 0) {
            std::fprintf(stderr, "epoch %lld step %lld: loss %.4f\n",
                         static_cast<long long>(epoch + 1), static_cast<long long>(step),
                         terms.total.item<double>());
          }
          if (step >= warmup_batches) timed_images += batch->images.size(0);
          ++step;
        }
      }
      synchronize(device);
      if (step > warmup_batches) train_seconds = seconds_since(train_start);
      train_total_seconds = seconds_since(all_steps_start);
    }

    out["peak_rss_after_train_mb"] = peak_rss_mb();
    // Evaluation needs no optimiser state, as in greedyhash_eval after greedyhash_train.
    training_step.reset();

    greedyhash::EncodeOptions encode = greedyhash::prepare_encoder(model, device, precision);
    encode.batch_size = eval_batch_size;
    encode.transform = greedyhash::resize_transform(size);
    start = Clock::now();
    encode.progress_label = "encode queries";
    const auto query = greedyhash::encode_images(model, dataset, split.query, encode);
    const auto database_start = Clock::now();
    encode.progress_label = "encode database";
    const auto database = greedyhash::encode_images(model, dataset, split.database, encode);
    const double encode_seconds = seconds_since(database_start);
    const auto map = greedyhash::mean_average_precision(
        greedyhash::LabeledCodes(greedyhash::BinaryCodes::from_tensor(query.codes), query.labels),
        greedyhash::LabeledCodes(greedyhash::BinaryCodes::from_tensor(database.codes),
                                 database.labels));
    const double eval_seconds = seconds_since(start);
    const auto accuracy = greedyhash::classification_accuracy(query.logits, query.labels);
    if (breakdown_batches > 0) {
      out["step_parts"] = time_step_parts(dataset, split.train, train_loading, model, step_options,
                                          breakdown_batches);
    }

    out["train_img_per_s"] =
        train_seconds > 0 ? nlohmann::json(timed_images / train_seconds) : nlohmann::json();
    out["train_seconds"] = train_total_seconds;
    out["encode_img_per_s"] = static_cast<double>(split.database.size()) / encode_seconds;
    out["eval_seconds"] = eval_seconds;
    out["map"] = map.map;
    out["query_accuracy"] = accuracy.accuracy;
    out["queries_without_relevant"] = map.num_queries_without_relevant;
    out["data_load_seconds"] = data_load_seconds;
    out["peak_rss_mb"] = peak_rss_mb();
    out["device"] = device.str();
    out["precision"] = precision;
    out["channels_last"] = channels_last;
    out["optimizer"] = torch_sgd ? "torch::optim::SGD" : "FusedMomentumSGD";
    out["bit"] = bits;
    out["backbone"] = backbone;
    out["freeze_backbone"] = freeze_backbone;
    out["batch_size"] = batch_size;
    out["eval_batch_size"] = eval_batch_size;
    out["epochs"] = epochs;
    out["train_images"] = split.train.size();
    out["timed_train_images"] = timed_images;
    out["database_size"] = split.database.size();
    out["query_size"] = split.query.size();
    out["seed"] = seed;
    out["data_folder"] = folder.string();
    out["wall_seconds"] = seconds_since(wall_start);
    if (!json_out.write(out)) return 1;
  } catch (const greedyhash::Error& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
