// greedyhash_train: trains GreedyHash and writes the run folder <output_dir>/bit_<K>/.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/io/atomic_file.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/train/trainer.h"

int main(int argc, char** argv) {
  using namespace greedyhash;
  CLI::App app(
      "Train GreedyHash (AlexNet + greedy sign hash layer) on CIFAR-10 or a list-file data set.\n"
      "Settings come from --config (default configs/cifar10-1_<bit>.json); every key can be\n"
      "overridden by the flag of the same name. Writes <output-dir>/bit_<bit>/: config.json,\n"
      "split.json, train.log, metrics.jsonl, last.pt, best.pt (highest query-set mAP).",
      "greedyhash_train");
  ConfigFlags flags;
  add_config_flags(app, flags);
  bool resume = false;
  app.add_flag("--resume", resume,
               "continue the run in the run folder from last.pt (same epoch, momentum, LR "
               "schedule and RNG streams)");

  return run_app("greedyhash_train", app, argc, argv, [&] {
    const Config config =
        resolve_config(flags, resume ? ConfigBase::RunFolder : ConfigBase::Preset);
    const int threads = configure_threads(static_cast<int>(config.threads));
    const RunFiles files(run_folder(config));
    std::filesystem::create_directories(files.dir);
    auto log = make_logger("train", files.log);
    write_file_atomically(files.config, config_to_json(config).dump(2) + "\n");
    log->info("run folder {} ({} threads)", files.dir.string(), threads);

    const RunData data =
        load_run_data(config, files.dir, resume ? SplitMode::Load : SplitMode::Create);
    log->info("data {}: {} images, split {}: {} query, {} train, {} database", data.source,
              data.dataset.size(), config.dataset, data.split.query.size(), data.split.train.size(),
              data.split.database.size());
    const TrainingSummary summary = train_model(config, data, files, resume, *log);
    if (summary.best_map >= 0) {
      log->info("done: best mAP {:.4f} at epoch {} (selected on the query set), checkpoints in {}",
                summary.best_map, summary.best_epoch, files.dir.string());
    } else {
      log->info("done: checkpoints in {}", files.dir.string());
    }
    return 0;
  });
}
