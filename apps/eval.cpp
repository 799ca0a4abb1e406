// greedyhash_eval: evaluates a trained run on its saved split.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/data/run_data.h"
#include "greedyhash/error.h"
#include "greedyhash/inference/evaluation.h"
#include "greedyhash/inference/saved_codes.h"
#include "greedyhash/inference/trained_model.h"
#include "greedyhash/report/line_plot.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/serialize/sha256.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

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
  std::printf("  checkpoint %s (epoch %lld): %s\n", report["checkpoint"].get<std::string>().c_str(),
              static_cast<long long>(report["checkpoint_epoch"].get<int64_t>()),
              report["checkpoint_selection_note"].get<std::string>().c_str());
  const auto k = report["top_k"].get<int64_t>();
  const std::string at =
      k == report["num_database"].get<int64_t>() ? "@all" : "@" + std::to_string(k);
  std::printf("  %-28s %.4f\n", ("mAP" + at).c_str(), report["map"].get<double>());
  std::printf("  %-28s %.4f\n", "mAP@all, tie-aware", report["map_tie_aware"].get<double>());
  if (report.contains("map_tie_aware_top_k")) {
    std::printf("  %-28s %.4f\n", ("mAP" + at + ", tie-aware").c_str(),
                report["map_tie_aware_top_k"].get<double>());
  }
  std::printf("  %-28s %.4f\n", "query accuracy", report["accuracy"].get<double>());
  std::printf("  %-28s %lld\n", "queries with no relevant item",
              static_cast<long long>(report["queries_without_relevant"].get<int64_t>()));
  if (report.contains("precision_radius_2")) {
    std::printf("  %-28s %.4f\n", "precision, Hamming radius 2",
                report["precision_radius_2"].get<double>());
    std::printf("  %-28s %.4f\n", "recall, Hamming radius 2",
                report["recall_radius_2"].get<double>());
    std::printf("  %-28s %lld\n", "queries with none within 2",
                static_cast<long long>(report["queries_with_empty_radius_2"].get<int64_t>()));
  }
  if (report.contains("precision_at_n")) {
    const auto& p = report["precision_at_n"];
    for (size_t i = 0; i < p["n"].size(); ++i) {
      std::printf("  %-28s %.4f\n", ("precision@" + p["n"][i].dump()).c_str(),
                  p["precision"][i].get<double>());
    }
  }
  if (report.contains("tie_note")) {
    std::printf("  note: %s\n", report["tie_note"].get<std::string>().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Evaluate a trained GreedyHash run on the split saved with it: the test queries against\n"
      "the database. mAP (Hamming ranking, ties broken by database index), tie-aware mAP, query\n"
      "accuracy, precision and recall within Hamming radius 2, PR curve and precision@N; says\n"
      "how the checkpoint was chosen (best.pt: on held-out validation queries, unless trained\n"
      "with --select query). Writes eval.json, pr_curve.png and precision_at_n.png into the\n"
      "run folder.",
      "greedyhash_eval");
  ConfigFlags flags;
  add_config_flags(app, flags, kEvalApp);
  std::string checkpoint;
  bool codes = false;
  add_checkpoint_flag(app, checkpoint, "to evaluate");
  app.add_flag("--save-codes", codes,
               "also write query/database codes (int8 +-1 rows) and labels (uint8 multi-hot) "
               "as .npy files, and codes.json naming the checkpoint (by SHA-256) they came from");

  return run_app("greedyhash_eval", app, argc, argv, [&] {
    const auto [config, device, files, trained, encode] = open_trained_run(flags, checkpoint);
    const RunData data = load_run_data(config, files.dir, SplitMode::Load);
    if (trained.meta.num_classes != data.dataset.num_classes()) {
      throw Error("checkpoint " + trained.checkpoint.string() + " has " +
                  std::to_string(trained.meta.num_classes) + " classes but the data set has " +
                  std::to_string(data.dataset.num_classes()) + "; pass the matching --data-dir");
    }

    EvaluationOptions options;
    options.encode = encode;
    options.encode.transform = data.eval_transform;
    options.top_k = config.map_topk;
    GreedyHash model = trained.model;
    const Evaluation evaluation =
        evaluate_model(model, data.dataset, test_retrieval(data.split), options);

    nlohmann::json report = evaluation_json(evaluation);
    report["dataset"] = config.dataset;
    report["checkpoint"] = trained.checkpoint.string();
    report["checkpoint_epoch"] = trained.meta.epoch;
    report["checkpoint_selection"] = trained.meta.selection;
    report["checkpoint_selection_note"] = selection_description(trained.meta.selection);
    write_file_atomically(files.dir / "eval.json", report.dump(2) + "\n");
    save_plots(files.dir, evaluation,
               config.dataset + ", " + trained.checkpoint.filename().string());
    if (codes) {
      save_evaluation_codes(files.dir, evaluation, trained.checkpoint,
                            file_sha256_hex(trained.checkpoint));
    }
    print_table(report, config.dataset);
    std::printf("wrote %s\n", (files.dir / "eval.json").c_str());
    return 0;
  });
}
