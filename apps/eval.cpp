// greedyhash_eval: evaluates a trained run on its saved split.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/report/line_plot.h"
#include "greedyhash/retrieval/binary_codes.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/train/evaluation.h"
#include "greedyhash/train/trained_model.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

void save_codes(const fs::path& dir, const Evaluation& evaluation) {
  const auto pm1 = [](const at::Tensor& codes) { return BinaryCodes::from_tensor(codes); };
  save_codes_pm1_npy(dir / "query_codes.npy", pm1(evaluation.query.codes));
  save_labels_npy(dir / "query_labels.npy", evaluation.query.labels);
  save_codes_pm1_npy(dir / "database_codes.npy", pm1(evaluation.database.codes));
  save_labels_npy(dir / "database_labels.npy", evaluation.database.labels);
}

void save_plots(const fs::path& dir, const Evaluation& evaluation, const std::string& title) {
  const auto& r = evaluation.retrieval;
  const std::string name = std::to_string(r.bits) + " bits";
  if (r.pr_curve) {
    save_line_plot(dir / "pr_curve.png", {"Precision-recall over Hamming radius: " + title,
                                          "recall",
                                          "precision",
                                          {{name, r.pr_curve->recall, r.pr_curve->precision}}});
  }
  if (!r.precision_at_n.n.empty()) {
    std::vector<double> n(r.precision_at_n.n.begin(), r.precision_at_n.n.end());
    LinePlot plot{"Precision@N: " + title,
                  "N (top-ranked database items)",
                  "precision",
                  {{name, n, r.precision_at_n.precision}}};
    plot.log_x = true;
    save_line_plot(dir / "precision_at_n.png", plot);
  }
}

void print_table(const nlohmann::json& report, const std::string& dataset) {
  std::printf("GreedyHash %d bits, %s: %lld queries x %lld database items\n",
              report["bit"].get<int>(), dataset.c_str(),
              static_cast<long long>(report["num_query"].get<int64_t>()),
              static_cast<long long>(report["num_database"].get<int64_t>()));
  const auto k = report["top_k"].get<int64_t>();
  const std::string at =
      k == report["num_database"].get<int64_t>() ? "@all" : "@" + std::to_string(k);
  std::printf("  %-28s %.4f\n", ("mAP" + at).c_str(), report["map"].get<double>());
  std::printf("  %-28s %.4f\n", "mAP@all, tie-aware", report["map_tie_aware"].get<double>());
  std::printf("  %-28s %.4f\n", "query accuracy", report["accuracy"].get<double>());
  std::printf("  %-28s %lld\n", "queries with no relevant item",
              static_cast<long long>(report["queries_without_relevant"].get<int64_t>()));
  if (report.contains("precision_at_n")) {
    const auto& p = report["precision_at_n"];
    for (size_t i = 0; i < p["n"].size(); ++i) {
      std::printf("  %-28s %.4f\n", ("precision@" + p["n"][i].dump()).c_str(),
                  p["precision"][i].get<double>());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Evaluate a trained GreedyHash run on the split saved with it: mAP (Hamming ranking, ties\n"
      "broken by database index), tie-aware mAP, query accuracy, PR curve and precision@N.\n"
      "Writes eval.json, pr_curve.png and precision_at_n.png into the run folder.",
      "greedyhash_eval");
  ConfigFlags flags;
  add_config_flags(app, flags);
  std::string checkpoint;
  bool codes = false;
  app.add_option("--checkpoint", checkpoint, "checkpoint to evaluate (default: the run's best.pt)");
  app.add_flag("--save-codes", codes,
               "also write query/database codes (int8 +-1 rows) and labels (uint8 multi-hot) "
               "as .npy files");

  return run_app("greedyhash_eval", app, argc, argv, [&] {
    const Config config = resolve_config(flags, ConfigBase::RunFolder);
    configure_threads(static_cast<int>(config.threads));
    const c10::Device device = select_device(config.device);
    const RunFiles files(run_folder(config));
    const auto trained = load_trained_model(
        checkpoint.empty() ? default_checkpoint(files) : fs::path(checkpoint), config.bit, device);
    const RunData data = load_run_data(config, files.dir, SplitMode::Load);
    if (trained.meta.num_classes != data.dataset.num_classes()) {
      throw Error("checkpoint " + trained.checkpoint.string() + " has " +
                  std::to_string(trained.meta.num_classes) + " classes but the data set has " +
                  std::to_string(data.dataset.num_classes()) + "; pass the matching --data-dir");
    }

    EvaluationOptions options;
    options.encode.device = device;
    options.encode.transform = data.eval_transform;
    options.encode.precision = config.precision;
    options.top_k = config.map_topk;
    GreedyHash model = trained.model;
    use_channels_last(*model);
    const Evaluation evaluation = evaluate_model(model, data.dataset, data.split, options);

    nlohmann::json report = evaluation_json(evaluation);
    report["dataset"] = config.dataset;
    report["checkpoint"] = trained.checkpoint.string();
    report["checkpoint_epoch"] = trained.meta.epoch;
    report["checkpoint_selection"] =
        "best.pt is the epoch with the highest mAP on the query set during training, as the "
        "public implementations select; the query set is therefore not held out from that choice";
    write_file_atomically(files.dir / "eval.json", report.dump(2) + "\n");
    save_plots(files.dir, evaluation,
               config.dataset + ", " + trained.checkpoint.filename().string());
    if (codes) save_codes(files.dir, evaluation);
    print_table(report, config.dataset);
    std::printf("wrote %s\n", (files.dir / "eval.json").c_str());
    return 0;
  });
}
