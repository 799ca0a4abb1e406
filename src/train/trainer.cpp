#include "greedyhash/train/trainer.h"

#include <cmath>
#include <fstream>
#include <numeric>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/data/dataset_fingerprint.h"
#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/error.h"
#include "greedyhash/io/atomic_file.h"
#include "greedyhash/io/checkpoint.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/imagenet_weights.h"
#include "greedyhash/model/loss.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/report/progress.h"
#include "greedyhash/runtime/autocast.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/train/distributed.h"
#include "greedyhash/train/evaluation.h"
#include "greedyhash/train/fused_momentum_sgd.h"
#include "greedyhash/train/learning_rate.h"

namespace greedyhash {

namespace fs = std::filesystem;
using json = nlohmann::json;

RunFiles::RunFiles(fs::path run_dir)
    : dir(run_dir),
      config(run_dir / "config.json"),
      last(run_dir / "last.pt"),
      last_state(run_dir / "last_state.pt"),
      best(run_dir / "best.pt"),
      metrics(run_dir / "metrics.jsonl"),
      log(run_dir / "train.log") {}

namespace {

// FusedMomentumSGD (no separate gradient tensors: ~380 MB less for AlexNet) where it
// applies, that is with momentum; plain SGD otherwise.
std::unique_ptr<torch::optim::SGD> make_sgd(std::vector<torch::Tensor> params,
                                            const torch::optim::SGDOptions& options) {
  if (options.momentum() > 0) {
    return std::make_unique<FusedMomentumSGD>(std::move(params), options);
  }
  return std::make_unique<torch::optim::SGD>(std::move(params), options);
}

void set_learning_rate(torch::optim::SGD& sgd, double lr) {
  for (auto& group : sgd.param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
}

bool evaluation_due(const Config& config, int64_t epochs_done) {
  if (config.eval_every <= 0) return false;
  return epochs_done % config.eval_every == 0 || epochs_done == config.epochs;
}

// metrics.jsonl lines of epochs <= `epochs_done` (what a resumed run keeps).
std::vector<json> read_metrics(const fs::path& file, int64_t epochs_done) {
  std::vector<json> records;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto record = json::parse(line, nullptr, false);
    if (record.is_discarded()) {
      throw Error("metrics file " + file.string() + " has a malformed line; remove it to resume");
    }
    if (record.value("epoch", int64_t{0}) <= epochs_done) records.push_back(std::move(record));
  }
  return records;
}

// The whole data set's images again, checked against the fingerprint taken at the start.
at::Tensor reload_images(const Config& config, const DatasetFingerprint& expected,
                         const ImageDataset& dataset) {
  ImageDataset reloaded = dataset;
  reloaded.images = load_run_images(config);
  if (fingerprint_dataset(reloaded) != expected) {
    throw Error("the images in " + config.data_dir +
                " changed during training; the checkpoints of the previous epoch are kept; "
                "restore the data and run again with --resume");
  }
  return reloaded.images;
}

void write_metrics(const fs::path& file, const std::vector<json>& records) {
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  write_file_atomically(file, text);
}

}  // namespace

TrainingSummary train_model(const Config& config, RunData data, const RunFiles& files, bool resume,
                            spdlog::logger& log, DistributedContext* distributed) {
  DistributedContext single_process;
  DistributedContext& dist = distributed != nullptr ? *distributed : single_process;
  const c10::Device device = select_device(config.device);
  const auto& dataset = data.dataset;
  const bool multi_label = dataset.multi_label();

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  GreedyHash model(config.bit, dataset.num_classes());
  if (!config.pretrained.empty()) {
    load_imagenet_weights(model, config.pretrained);
    log.info("backbone initialised from ImageNet weights {}", config.pretrained);
  } else {
    log.warn(
        "no --pretrained weights: the backbone starts from random initialisation; the "
        "paper's mAP needs torchvision's ImageNet AlexNet (alexnet-owt-7be5be79.pth)");
  }
  model->to(device);
  use_channels_last(*model);
  const auto sgd_ptr = make_sgd(model->parameters(), torch::optim::SGDOptions(config.lr)
                                                         .momentum(config.momentum)
                                                         .weight_decay(config.weight_decay));
  torch::optim::SGD& sgd = *sgd_ptr;

  TrainingSummary summary;
  std::vector<json> records;
  if (resume) {
    if (!fs::exists(files.last) || !fs::exists(files.last_state)) {
      throw Error("nothing to resume in " + files.dir.string() + " (no last.pt/last_state.pt); " +
                  "run without --resume to start training");
    }
    const CheckpointMeta meta = load_checkpoint(files.last, model);
    const TrainingState state = load_training_state(files.last_state, sgd);
    if (meta.epoch != state.epoch) {
      throw Error("resume state " + files.last_state.string() + " is for epoch " +
                  std::to_string(state.epoch) + " but " + files.last.string() + " for epoch " +
                  std::to_string(meta.epoch) + "; run without --resume to start again");
    }
    summary.first_epoch = state.epoch;
    summary.best_map = state.extra.value("best_map", -1.0);
    summary.best_epoch = state.extra.value("best_epoch", int64_t{0});
    records = read_metrics(files.metrics, state.epoch);
    log.info("resuming after epoch {} of {}", state.epoch, config.epochs);
  }
  // Replicas start from rank 0's weights whatever each rank initialised or loaded.
  std::vector<torch::Tensor> replicated = model->parameters();
  for (const auto& buffer : model->buffers()) replicated.push_back(buffer);
  dist.broadcast(replicated);

  const std::vector<int64_t> train_indices =
      training_indices(data.split, config.train_limit, static_cast<uint64_t>(config.seed));
  // Training reads only its own images: hold those alone (for CIFAR-10 (I) 15 MB of the
  // 184 MB) and decode the whole set again for each evaluation (about 2 s on 2 cores).
  const DatasetFingerprint fingerprint = fingerprint_dataset(dataset);
  const ImageDataset training_set = select_images(dataset, train_indices);
  data.dataset.images = at::Tensor();
  BatchLoaderOptions loader_options;
  loader_options.batch_size = config.batch_size;
  loader_options.shuffle = true;
  loader_options.seed = static_cast<uint64_t>(config.seed);
  loader_options.device = device;
  loader_options.transform = data.train_transform;
  loader_options.rank = dist.rank();
  loader_options.world_size = dist.world_size();
  std::vector<int64_t> training_rows(train_indices.size());
  std::iota(training_rows.begin(), training_rows.end(), int64_t{0});
  BatchLoader loader(training_set, training_rows, loader_options);

  EvaluationOptions eval_options;
  eval_options.encode.device = device;
  eval_options.encode.transform = data.eval_transform;
  eval_options.encode.precision = config.precision;
  eval_options.top_k = config.map_topk;
  eval_options.curves = false;

  const std::string config_text = config_to_json(config).dump();
  log.info("training {} bits on {} images ({} batches of {}), {} epochs on {}", config.bit,
           train_indices.size(), loader.batches_per_epoch(), config.batch_size, config.epochs,
           device.str());
  if (dist.enabled()) {
    log.info("data-parallel: rank {} of {} ({}), global batch {}", dist.rank(), dist.world_size(),
             dist.backend_name(), config.batch_size * dist.world_size());
  }

  for (int64_t epoch = summary.first_epoch; epoch < config.epochs; ++epoch) {
    const double lr = learning_rate(config, epoch);
    set_learning_rate(sgd, lr);
    model->train();
    loader.start_epoch(epoch);
    if (dist.enabled()) {
      // Each rank its own dropout stream, reproducible from (seed, epoch, rank) alone.
      torch::manual_seed(
          derive_seed(derive_seed(static_cast<uint64_t>(config.seed), static_cast<uint64_t>(epoch)),
                      static_cast<uint64_t>(dist.rank())));
    }

    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config.epochs),
                      loader.batches_per_epoch());
    const double allreduce_seconds_before = dist.reduce_seconds();
    double loss_sum = 0, classification_sum = 0, quantization_sum = 0;
    int64_t steps = 0, images = 0;
    while (auto batch = loader.next()) {
      const auto targets =
          multi_label ? batch->labels.to(torch::kFloat) : batch->labels.argmax(1).to(torch::kLong);
      LossTerms terms;
      {
        AutocastScope autocast(device, config.precision);
        const auto out = model->forward(batch->images);
        terms = greedy_hash_loss(out.logits.to(torch::kFloat), out.h.to(torch::kFloat), targets,
                                 config.alpha);
      }
      const double loss = terms.total.item<double>();
      if (!std::isfinite(loss)) {
        throw Error("loss became " + std::to_string(loss) + " at epoch " +
                    std::to_string(epoch + 1) + " step " + std::to_string(steps + 1) +
                    "; checkpoints of the last finished epoch are kept in " + files.dir.string() +
                    "; lower --lr or check the data");
      }
      sgd.zero_grad();
      terms.total.backward();
      dist.average_gradients(model->parameters());
      sgd.step();

      loss_sum += loss;
      classification_sum += terms.classification.item<double>();
      quantization_sum += terms.quantization.item<double>();
      ++steps;
      images += batch->images.size(0);
      char note[64];
      std::snprintf(note, sizeof note, "loss %.4f", loss_sum / static_cast<double>(steps));
      progress.update(steps, images, note);
    }
    progress.finish();
    if (dist.enabled()) {
      // Epoch means over all ranks' batches (each rank has the same number of steps).
      const auto totals =
          dist.all_gather_rows(torch::tensor({{loss_sum, classification_sum, quantization_sum,
                                               static_cast<double>(steps)}},
                                             torch::kDouble))
              .sum(0);
      loss_sum = totals[0].item<double>();
      classification_sum = totals[1].item<double>();
      quantization_sum = totals[2].item<double>();
      steps = static_cast<int64_t>(totals[3].item<double>());
      dist.check_identical(replicated);
    }

    const int64_t epochs_done = epoch + 1;
    const double denominator = steps > 0 ? static_cast<double>(steps) : 1.0;
    json record = {
        {"epoch", epochs_done},
        {"lr", lr},
        {"loss", loss_sum / denominator},
        {"loss_classification", classification_sum / denominator},
        {"loss_quantization", quantization_sum / denominator},
        {"seconds", progress.seconds()},
        {"img_per_s", progress.items_per_second() * static_cast<double>(dist.world_size())}};
    if (dist.enabled()) {
      record["world_size"] = dist.world_size();
      record["allreduce_seconds"] = dist.reduce_seconds() - allreduce_seconds_before;
    }

    double map = std::nan("");
    std::optional<Evaluation> evaluation;
    if (evaluation_due(config, epochs_done)) {
      data.dataset.images = reload_images(config, fingerprint, data.dataset);
      evaluation = evaluate_model_sharded(model, dataset, data.split, eval_options, dist);
      data.dataset.images = at::Tensor();
    }
    if (!dist.is_main()) continue;  // rank 0 alone writes the run folder
    if (evaluation) {
      map = evaluation->retrieval.map.map;
      record["map"] = map;
      record["map_tie_aware"] = evaluation->retrieval.map_tie_aware->map;
      record["accuracy"] = evaluation->accuracy.accuracy;
      record["eval_seconds"] = evaluation->encode_seconds + evaluation->metrics_seconds;
      if (map > summary.best_map) {
        summary.best_map = map;
        summary.best_epoch = epochs_done;
        save_checkpoint(
            files.best, model,
            {config.bit, dataset.num_classes(), config.input_size, epochs_done, map, config_text});
        record["best"] = true;
      }
    }

    save_checkpoint(
        files.last, model,
        {config.bit, dataset.num_classes(), config.input_size, epochs_done, map, config_text});
    save_training_state(
        files.last_state, sgd,
        {epochs_done, json{{"best_map", summary.best_map}, {"best_epoch", summary.best_epoch}}});
    records.push_back(record);
    write_metrics(files.metrics, records);
    log.info("epoch {}/{}: {}", epochs_done, config.epochs, record.dump());
  }

  // Nobody reports success before rank 0 has written the last epoch's files.
  dist.barrier();
  summary.epochs_done = config.epochs;
  if (!records.empty()) summary.last_record = records.back();
  return summary;
}

}  // namespace greedyhash
