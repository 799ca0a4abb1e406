#include "greedyhash/train/unsupervised_trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "greedyhash/error.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/model/checkpoint.h"
#include "greedyhash/model/feature_hasher.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/train/initial_model.h"
#include "greedyhash/train/unsupervised_training.h"

namespace greedyhash {

namespace fs = std::filesystem;

namespace {

// What an earlier run left that this one would be taken to have written.
void discard_earlier_run(const RunFiles& files) {
  fs::remove(files.best);
  remove_resume_states_except(files, -1);
}

void log_options(spdlog::logger& log, const UnsupervisedOptions& options, int64_t rows, int64_t dim,
                 int64_t bits) {
  log.info(
      "unsupervised: {} rows of {} features -> {} bits, {} epochs, batch {}, lr {} (x0.1 every "
      "{} epochs), momentum {}, weight decay {}, alpha {}, feature dropout {}",
      rows, dim, bits, options.epochs, options.batch_size, options.lr, options.lr_step,
      options.momentum, options.weight_decay, options.alpha, options.dropout);
}

// Trains `layer` on `features`, writing metrics.jsonl and calling save(epochs_done) after
// every epoch.
TrainingSummary run_epochs(const Config& config, torch::nn::Linear layer,
                           const at::Tensor& features, const UnsupervisedOptions& options,
                           const RunFiles& files, spdlog::logger& log,
                           const std::function<void(int64_t)>& save) {
  TrainingSummary summary;
  summary.selection = "last epoch";
  std::vector<nlohmann::json> records;
  train_hash_layer(layer, features, options, [&](int64_t epochs_done, const nlohmann::json& r) {
    records.push_back(r);
    write_metrics(files, records);
    save(epochs_done);
    log.info("epoch {}/{}: {}", epochs_done, config.epochs, r.dump());
  });
  summary.epochs_done = config.epochs;
  if (!records.empty()) summary.last_record = records.back();
  return summary;
}

}  // namespace

void check_method(const Config& config, bool resume) {
  if (config.method != "unsupervised") {
    if (!config.features.empty()) {
      throw Error(
          "--features trains the unsupervised method only (embeddings have no "
          "classifier to train); add --method unsupervised");
    }
    return;
  }
  if (resume) {
    throw Error(
        "--method unsupervised runs do not resume (an epoch on cached features takes "
        "seconds); run again without --resume");
  }
  if (config.features.empty() && !config.freeze_backbone) {
    throw Error(
        "--method unsupervised on images trains the hash layer on a frozen backbone's "
        "features; add --freeze-backbone (and --backbone vgg16 for the paper's setting)");
  }
}

TrainingSummary train_unsupervised_on_images(const Config& config, const RunData& data,
                                             const RunFiles& files, spdlog::logger& log) {
  discard_earlier_run(files);
  const c10::Device device = select_device(config.device);
  GreedyHash model = initial_model(config, data.dataset.num_classes(), device, log);
  EncodeOptions encode = prepare_encoder(model, device, config.precision);
  encode.transform = data.train_transform;
  encode.progress_label = "backbone features";
  const auto indices =
      training_indices(data.split, config.train_limit, static_cast<uint64_t>(config.seed));
  const auto start = std::chrono::steady_clock::now();
  const at::Tensor features = encode_backbone_features(model, data.dataset, indices, encode);
  log.info("{} backbone features of {} training images computed once in {:.1f} s", config.backbone,
           indices.size(), seconds_since(start));

  const UnsupervisedOptions options = unsupervised_options(config, /*on_images=*/true);
  log_options(log, options, features.size(0), features.size(1), config.bit);
  return run_epochs(config, model->hash_layer, features.to(device), options, files, log,
                    [&](int64_t epochs_done) {
                      const CheckpointMeta meta{config.bit,        data.dataset.num_classes(),
                                                config.input_size, epochs_done,
                                                std::nan(""),      config_to_json(config).dump(),
                                                "last epoch",      config.backbone};
                      save_checkpoint(files.last, model, meta);
                    });
}

TrainingSummary train_unsupervised_on_features(const Config& config, const FeatureFolder& folder,
                                               const RunFiles& files, spdlog::logger& log) {
  discard_earlier_run(files);
  const c10::Device device = select_device(config.device);
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  FeatureHasher model(folder.dim(), config.bit);
  model->to(device);
  const UnsupervisedOptions options = unsupervised_options(config, /*on_images=*/false);
  log_options(log, options, folder.train.features.size(0), folder.dim(), config.bit);
  return run_epochs(config, model->hash_layer, folder.train.features.to(device), options, files,
                    log, [&](int64_t epochs_done) {
                      save_feature_hasher(
                          files.last, model,
                          {config.bit, folder.dim(), epochs_done, config_to_json(config).dump()});
                    });
}

}  // namespace greedyhash
