#include "greedyhash/train/trainer.h"

#include <array>
#include <cmath>
#include <fstream>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/error.h"
#include "greedyhash/inference/evaluation.h"
#include "greedyhash/model/checkpoint.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/loss.h"
#include "greedyhash/report/progress.h"
#include "greedyhash/runtime/allocator.h"
#include "greedyhash/runtime/autocast.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/train/distributed.h"
#include "greedyhash/train/initial_model.h"
#include "greedyhash/train/learning_rate.h"
#include "greedyhash/train/sharded_evaluation.h"
#include "greedyhash/train/training_state.h"
#include "greedyhash/train/training_step.h"

namespace greedyhash {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool evaluation_due(const Config& config, int64_t epochs_done) {
  if (config.eval_every <= 0) return false;
  return epochs_done % config.eval_every == 0 || epochs_done == config.epochs;
}

// How best.pt is chosen, and what the evaluations during training rank.
struct Selection {
  std::string name;                     // "validation", "query" or "last epoch"
  std::optional<RetrievalLists> lists;  // none: no evaluation during training
};

Selection make_selection(const Config& config, const Split& split) {
  if (config.eval_every <= 0) return {"last epoch", std::nullopt};
  if (config.select == "query") return {"query", test_retrieval(split)};
  if (split.validation.empty()) {
    throw Error(
        "--eval-every " + std::to_string(config.eval_every) +
        " chooses best.pt on the validation queries, but this run's split has none (a split "
        "saved before validation sets, or --val-per-class 0); pass --eval-every 0 (evaluate "
        "last.pt), --select query, or start a new run with --val-per-class > 0");
  }
  return {"validation", validation_retrieval(split, config.val_database_size)};
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

// The loss terms of an epoch, summed where the model runs: a step never waits for the
// device. read() copies them back (one host synchronisation), which happens only when a
// progress line is printed and at the end of the epoch; it also reports the first step
// whose loss was not finite.
class EpochLossSums {
 public:
  // `epoch` (1-based) and `run_dir` only name things in the error.
  EpochLossSums(c10::Device device, int64_t epoch, fs::path run_dir)
      : sums_(torch::zeros({3}, torch::TensorOptions(device).dtype(torch::kDouble))),
        first_bad_(torch::full({2}, -1.0, torch::TensorOptions(device).dtype(torch::kDouble))),
        epoch_(epoch),
        run_dir_(std::move(run_dir)) {}

  void add(const LossTerms& terms, int64_t step) {
    torch::NoGradGuard no_grad;
    const auto values = torch::stack({terms.total.detach(), terms.classification.detach(),
                                      terms.quantization.detach()})
                            .to(torch::kDouble);
    sums_.add_(values);
    const auto total = values[0];
    const auto first_bad_here = first_bad_[0].lt(0).logical_and(total.isfinite().logical_not());
    first_bad_.copy_(
        torch::where(first_bad_here, torch::stack({total.new_full({}, step), total}), first_bad_));
  }

  // (total, classification, quantization) summed over the steps so far. A non-finite loss
  // at any step throws greedyhash::Error naming the epoch and that step (1-based).
  std::array<double, 3> read() const {
    const auto host = torch::cat({sums_, first_bad_}).cpu();
    const double* v = host.data_ptr<double>();
    if (v[3] >= 0) {
      throw Error("loss became " + std::to_string(v[4]) + " at epoch " + std::to_string(epoch_) +
                  " step " + std::to_string(static_cast<int64_t>(v[3]) + 1) +
                  "; checkpoints of the last finished epoch are kept in " + run_dir_.string() +
                  "; lower --lr or check the data");
    }
    return {v[0], v[1], v[2]};
  }

  const at::Tensor& sums() const { return sums_; }

 private:
  at::Tensor sums_;       // total, classification, quantization
  at::Tensor first_bad_;  // step and loss of the first non-finite loss; -1: none yet
  int64_t epoch_;
  fs::path run_dir_;
};

// One training run in named steps: build the model and optimiser, resume, then per
// epoch train, evaluate when due and (rank 0) save.
class Training {
 public:
  Training(const Config& config, RunData data, const RunFiles& files, spdlog::logger& log,
           DistributedContext& dist)
      : config_(config),
        data_(std::move(data)),
        files_(files),
        log_(log),
        dist_(dist),
        device_(select_device(config.device)),
        model_(build_model()),
        step_(model_, step_options(), &dist),
        selection_(make_selection(config, data_.split)),
        loader_(
            data_.dataset,
            training_indices(data_.split, config.train_limit, static_cast<uint64_t>(config.seed)),
            loader_options()) {
    summary_.selection = selection_.name;
    warn_about_slow_bf16();
  }

  TrainingSummary run(bool resume) {
    if (resume) {
      resume_from_last();
    } else if (dist_.is_main()) {
      discard_earlier_run();
    }
    replicate_rank0_weights();
    log_start();
    for (int64_t epoch = summary_.first_epoch; epoch < config_.epochs; ++epoch) {
      json record = train_epoch(epoch);
      const int64_t epochs_done = epoch + 1;
      std::optional<Evaluation> evaluation;
      if (selection_.lists && evaluation_due(config_, epochs_done)) {
        evaluation = evaluate_model_sharded(model_, data_.dataset, *selection_.lists,
                                            evaluation_options(), dist_);
      }
      if (!dist_.is_main()) continue;  // rank 0 alone writes the run folder
      save_epoch(epochs_done, std::move(record), evaluation);
    }
    // Nobody reports success before rank 0 has written the last epoch's files.
    dist_.barrier();
    summary_.epochs_done = config_.epochs;
    if (!records_.empty()) summary_.last_record = records_.back();
    return summary_;
  }

 private:
  GreedyHash build_model() {
    return initial_model(config_, data_.dataset.num_classes(), device_, log_);
  }

  BatchLoaderOptions loader_options() const {
    BatchLoaderOptions options;
    options.batch_size = config_.batch_size;
    options.shuffle = true;
    options.seed = static_cast<uint64_t>(config_.seed);
    options.device = device_;
    options.transform = data_.train_transform;
    options.rank = dist_.rank();
    options.world_size = dist_.world_size();
    return options;
  }

  EvaluationOptions evaluation_options() {
    EvaluationOptions options;
    options.encode = prepare_encoder(model_, device_, config_.precision);
    options.encode.transform = data_.eval_transform;
    options.top_k = config_.map_topk;
    options.curves = false;
    return options;
  }

  void warn_about_slow_bf16() const {
    if (config_.precision == "bf16" && !bf16_products_sum_in_float32(device_)) {
      log_.warn(
          "--precision bf16 on this CPU: without AVX-512 LibTorch sums bf16 matrix products in "
          "bf16 (errors of several percent) and runs them slower than fp32; use --precision "
          "fp32 here");
    }
  }

  // last.pt and the resume state of its epoch: the weights, momentum, learning rate and
  // random streams of an uninterrupted run at that point.
  void resume_from_last() {
    if (!fs::exists(files_.last)) {
      throw Error("nothing to resume in " + files_.dir.string() +
                  " (no last.pt); run without --resume to start training");
    }
    const CheckpointMeta meta = load_checkpoint(files_.last, model_);
    fs::path state_file = files_.state(meta.epoch);
    // Runs written before per-epoch state files kept one last_state.pt.
    if (!fs::exists(state_file) && fs::exists(files_.dir / "last_state.pt")) {
      state_file = files_.dir / "last_state.pt";
    }
    if (!fs::exists(state_file)) {
      throw Error("no resume state " + state_file.string() + " for the epoch " +
                  std::to_string(meta.epoch) + " of " + files_.last.string() +
                  "; run without --resume to start again");
    }
    const TrainingState state = load_training_state(state_file, step_.optimizer());
    if (state.epoch != meta.epoch) {
      throw Error("resume state " + state_file.string() + " is for epoch " +
                  std::to_string(state.epoch) + " but " + files_.last.string() + " for epoch " +
                  std::to_string(meta.epoch) + "; run without --resume to start again");
    }
    // A kill between last.pt's commit and the removal of the older states left them here.
    if (dist_.is_main() && state_file == files_.state(state.epoch)) {
      remove_resume_states_except(state.epoch);
    }
    summary_.first_epoch = state.epoch;
    summary_.best_map = state.extra.value("best_map", -1.0);
    summary_.best_epoch = state.extra.value("best_epoch", int64_t{0});
    records_ = read_metrics(files_.metrics, state.epoch);
    log_.info("resuming after epoch {} of {}", state.epoch, config_.epochs);
  }

  // A new run in a folder that held one: its best.pt and resume states would be taken for
  // this run's (last.pt, metrics.jsonl and split.json are replaced anyway).
  void discard_earlier_run() const {
    const bool had_best = fs::remove(files_.best);
    remove_resume_states_except(-1);
    if (had_best) log_.info("removed best.pt of the earlier run in {}", files_.dir.string());
  }

  // Replicas start from rank 0's weights whatever each rank initialised or loaded.
  void replicate_rank0_weights() {
    replicated_ = model_->parameters();
    for (const auto& buffer : model_->buffers()) replicated_.push_back(buffer);
    dist_.broadcast(replicated_);
  }

  void log_start() const {
    log_.info("training {} bits on {} images ({} batches of {}), {} epochs on {}", config_.bit,
              loader_.samples_per_epoch() * dist_.world_size(), loader_.batches_per_epoch(),
              config_.batch_size, config_.epochs, device_.str());
    if (selection_.lists) {
      log_.info(
          "best.pt: highest mAP of {} queries ({}) against {} database images, every {} "
          "epochs",
          selection_.lists->queries.size(), selection_.name, selection_.lists->database.size(),
          config_.eval_every);
    }
    log_.info("allocator: {}", allocator_description());
    log_.info("images: {}", data_.dataset.streamed
                                ? "streamed, decoded batch by batch by the loader's workers"
                                : "held in memory, decoded once");
    if (data_.dataset.multi_label()) {
      log_.info("multi-label data: {}", config_.multi_label_loss == "bce"
                                            ? "sigmoid cross-entropy over every label"
                                            : "cross-entropy on each image's first label");
    }
    if (dist_.enabled()) {
      log_.info("data-parallel: rank {} of {} ({}), global batch {}", dist_.rank(),
                dist_.world_size(), dist_.backend_name(), config_.batch_size * dist_.world_size());
    }
  }

  TrainingStepOptions step_options() const {
    TrainingStepOptions options = training_step_options(config_, device_);
    options.multi_label = data_.dataset.multi_label() && config_.multi_label_loss == "bce";
    return options;
  }

  // One epoch of SGD; returns its metrics.jsonl record (losses, speed).
  json train_epoch(int64_t epoch) {
    const double lr = learning_rate(config_, epoch);
    step_.set_learning_rate(lr);
    model_->train();
    loader_.start_epoch(epoch);
    if (dist_.enabled()) {
      // Each rank its own dropout stream, reproducible from (seed, epoch, rank) alone.
      torch::manual_seed(derive_seed(
          derive_seed(static_cast<uint64_t>(config_.seed), static_cast<uint64_t>(epoch)),
          static_cast<uint64_t>(dist_.rank())));
    }
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config_.epochs),
                      loader_.batches_per_epoch());
    const double allreduce_seconds_before = dist_.reduce_seconds();
    EpochLossSums losses(device_, epoch + 1, files_.dir);
    int64_t steps = 0, images = 0;
    std::string note;
    while (auto batch = loader_.next()) {
      const LossTerms terms = step_(*batch);
      losses.add(terms, steps);
      ++steps;
      images += batch->images.size(0);
      if (progress.due(steps)) note = loss_note(losses.read(), steps);
      progress.update(steps, images, note);
    }
    progress.update(steps, images, loss_note(losses.read(), steps));
    progress.finish();

    json record = {{"epoch", epoch + 1},
                   {"lr", lr},
                   {"seconds", progress.seconds()},
                   {"img_per_s", progress.items_per_second() * dist_.world_size()}};
    add_mean_losses(record, losses.sums(), steps);
    if (dist_.enabled()) {
      dist_.check_identical(replicated_);
      record["world_size"] = dist_.world_size();
      record["allreduce_seconds"] = dist_.reduce_seconds() - allreduce_seconds_before;
    }
    return record;
  }

  static std::string loss_note(const std::array<double, 3>& sums, int64_t steps) {
    char note[64];
    std::snprintf(note, sizeof note, "loss %.4f", sums[0] / static_cast<double>(steps));
    return note;
  }

  // The epoch's mean losses over all ranks' steps (each rank takes the same number).
  void add_mean_losses(json& record, const at::Tensor& sums, int64_t steps) {
    const auto steps_tensor = torch::full({1}, static_cast<double>(steps), sums.options());
    const auto totals =
        dist_.all_gather_rows(torch::cat({sums, steps_tensor}).view({1, -1})).sum(0).cpu();
    const double* t = totals.data_ptr<double>();
    const double denominator = t[3] > 0 ? t[3] : 1.0;
    record["loss"] = t[0] / denominator;
    record["loss_classification"] = t[1] / denominator;
    record["loss_quantization"] = t[2] / denominator;
  }

  // Rank 0: best.pt when the epoch is the best so far, the resume state, metrics.jsonl,
  // then last.pt, which commits the epoch (resume follows last.pt's epoch); finally the
  // older resume states go. A kill anywhere leaves a consistent pair.
  void save_epoch(int64_t epochs_done, json record, const std::optional<Evaluation>& evaluation) {
    CheckpointMeta meta{
        config_.bit,  data_.dataset.num_classes(),    config_.input_size, epochs_done,
        std::nan(""), config_to_json(config_).dump(), "last epoch",       config_.backbone};
    if (evaluation) {
      meta.map = evaluation->retrieval.map.map;
      add_evaluation(record, *evaluation);
      if (meta.map > summary_.best_map) {
        summary_.best_map = meta.map;
        summary_.best_epoch = epochs_done;
        CheckpointMeta best = meta;
        best.selection = selection_.name;
        save_checkpoint(files_.best, model_, best);
        record["best"] = true;
      }
    }
    save_training_state(
        files_.state(epochs_done), step_.optimizer(),
        {epochs_done, json{{"best_map", summary_.best_map}, {"best_epoch", summary_.best_epoch}}});
    records_.push_back(record);
    write_metrics(files_, records_);
    save_checkpoint(files_.last, model_, meta);
    remove_resume_states_except(epochs_done);
    log_.info("epoch {}/{}: {}", epochs_done, config_.epochs, record.dump());
  }

  // Metrics of a selection evaluation, named after the set: val_map, query_map, ...
  void add_evaluation(json& record, const Evaluation& evaluation) const {
    const std::string prefix = selection_.name == "validation" ? "val_" : "query_";
    record[prefix + "map"] = evaluation.retrieval.map.map;
    record[prefix + "map_tie_aware"] = evaluation.retrieval.map_tie_aware->map;
    record[prefix + "accuracy"] = evaluation.accuracy.accuracy;
    record["eval_seconds"] = evaluation.encode_seconds + evaluation.metrics_seconds;
  }

  void remove_resume_states_except(int64_t epoch) const {
    greedyhash::remove_resume_states_except(files_, epoch);
  }

  const Config& config_;
  RunData data_;
  const RunFiles& files_;
  spdlog::logger& log_;
  DistributedContext& dist_;
  c10::Device device_;
  GreedyHash model_;
  TrainingStep step_;
  Selection selection_;
  BatchLoader loader_;
  std::vector<torch::Tensor> replicated_;  // parameters and buffers, identical on all ranks
  TrainingSummary summary_;
  std::vector<json> records_;
};

}  // namespace

TrainingSummary train_model(const Config& config, RunData data, const RunFiles& files, bool resume,
                            spdlog::logger& log, DistributedContext* distributed) {
  DistributedContext single_process;
  DistributedContext& dist = distributed != nullptr ? *distributed : single_process;
  try {
    return Training(config, std::move(data), files, log, dist).run(resume);
  } catch (const std::exception& e) {
    dist.report_failure(e.what());
    throw;
  }
}

}  // namespace greedyhash
