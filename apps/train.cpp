// greedyhash_train: trains GreedyHash and writes the run folder <output_dir>/bit_<K>/.
#include <spdlog/spdlog.h>

#include <optional>

#include <nlohmann/json.hpp>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/data/feature_set.h"
#include "greedyhash/error.h"
#include "greedyhash/io/run_lock.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/train/distributed.h"
#include "greedyhash/train/memory_check.h"
#include "greedyhash/train/trainer.h"
#include "greedyhash/train/unsupervised_trainer.h"

namespace {

using namespace greedyhash;

void report(const TrainingSummary& summary, const RunFiles& files, spdlog::logger& log);

// One worker's part once the job is joined. Rank 0 alone writes the run folder, under
// its lock; the other ranks log to the console only.
// `features`: the checked embedding folder of a --features run.
int train(const Config& config, const Config& worker_config, const RunFiles& files, bool resume,
          int threads, DistributedContext& distributed,
          const std::optional<FeatureFolder>& features) {
  const bool main_rank = distributed.is_main();
  std::optional<RunFolderLock> lock;
  if (main_rank) {
    lock.emplace(files.lock);
    remove_stale_temporary_files(files.dir);
  }
  auto log = make_logger(main_rank ? "train" : "train-rank" + std::to_string(distributed.rank()),
                         main_rank ? files.log : std::filesystem::path());
  if (main_rank) write_file_atomically(files.config, config_to_json(config).dump(2) + "\n");
  log->info("run folder {} ({} threads)", files.dir.string(), threads);

  if (features) {
    log->info("features {}: {} train, {} query, {} database rows of {} values{}",
              features->dir.string(), features->train.features.size(0),
              features->query.features.size(0), features->database.features.size(0),
              features->dim(), features->labelled() ? ", labelled" : "");
    report(train_unsupervised_on_features(config, *features, files, *log), files, *log);
    return 0;
  }
  const SplitMode split_mode =
      resume ? SplitMode::Load : (main_rank ? SplitMode::Create : SplitMode::Draw);
  RunData data = load_run_data(config, files.dir, split_mode);
  log->info("data {}: {} images, split {}: {} query, {} train, {} database, {} validation",
            data.source, data.dataset.size(), config.dataset, data.split.query.size(),
            data.split.train.size(), data.split.database.size(), data.split.validation.size());
  if (config.method == "unsupervised") {
    report(train_unsupervised_on_images(worker_config, data, files, *log), files, *log);
    return 0;
  }
  report(train_model(worker_config, std::move(data), files, resume, *log, &distributed), files,
         *log);
  return 0;
}

void report(const TrainingSummary& summary, const RunFiles& files, spdlog::logger& log) {
  if (summary.best_map >= 0) {
    log.info("done: best.pt is epoch {} with mAP {:.4f} on the {} set; checkpoints in {}",
             summary.best_epoch, summary.best_map,
             summary.selection == "validation" ? "validation" : "query (test)", files.dir.string());
  } else {
    log.info("done: checkpoints in {}", files.dir.string());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Train GreedyHash (a torchvision backbone, AlexNet by default, + the greedy sign hash\n"
      "layer) on CIFAR-10 or a list-file data set.\n"
      "--method unsupervised trains the hash layer alone to keep the features' cosine\n"
      "similarities: on a frozen backbone's features (--freeze-backbone; computed once) or on\n"
      "an embedding folder (--features DIR: train.npy, query.npy, database.npy); it writes\n"
      "last.pt after every epoch and no best.pt (configs/cifar10-unsupervised_<bit>.json: the\n"
      "paper's setting).\n"
      "Settings come from --config (default configs/cifar10-1_<bit>.json; with --resume the\n"
      "run's config.json); every key can be overridden by the flag of the same name.\n"
      "Writes <output-dir>/bit_<bit>/: config.json, split.json, train.log, metrics.jsonl,\n"
      "last.pt and its resume state, and best.pt: the epoch with the highest mAP of held-out\n"
      "validation queries (--select query: of the test queries, as the public code chooses).\n"
      "One training run at a time per run folder.\n"
      "Data-parallel: run one process per rank with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR\n"
      "and MASTER_PORT set (as torchrun does; see scripts/train_distributed.sh); --batch-size\n"
      "is then per process and rank 0 alone writes the run folder.",
      "greedyhash_train");
  ConfigFlags flags;
  add_config_flags(app, flags, kTrainApp);
  bool resume = false;
  app.add_flag("--resume", resume,
               "continue the run in the run folder from last.pt (same epoch, momentum, LR "
               "schedule and RNG streams)");

  return run_app("greedyhash_train", app, argc, argv, [&] {
    if (resume) flags.base = ConfigBase::RunFolder;
    Config config = resolve_config(flags);
    check_method(config, resume);
    // Unsupervised runs evaluate after training only (no held-out selection of an epoch).
    if (config.method == "unsupervised") config.eval_every = 0;
    // Checked before the run folder is touched: bad input writes nothing there.
    std::optional<FeatureFolder> features;
    if (!config.features.empty()) {
      features = load_feature_folder(config.features);
      // Recorded absolute: the other apps read it from config.json wherever they run.
      config.features = std::filesystem::absolute(config.features).lexically_normal().string();
    }
    const int threads = configure_threads(static_cast<int>(config.threads));
    const RunFiles files(run_folder(config));
    const DistributedOptions dist_options = distributed_options_from_env();
    Config worker_config = config;
    const c10::Device device =
        select_worker_device(config.device, dist_options.world_size, dist_options.local_rank);
    worker_config.device = device.str();
    if (config.method == "unsupervised" && dist_options.world_size > 1) {
      throw Error("--method unsupervised trains in one process; start it without WORLD_SIZE > 1");
    }
    if (!features) check_training_memory(config, device, physical_memory_bytes());
    use_device(device);
    DistributedContext distributed(dist_options, device);
    try {
      return train(config, worker_config, files, resume, threads, distributed, features);
    } catch (const std::exception& e) {
      distributed.report_failure(e.what());
      throw;
    }
  });
}