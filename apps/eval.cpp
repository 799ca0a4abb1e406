// greedyhash_eval: evaluates a trained run on its saved split.
#include <cstdio>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/data/run_data.h"
#include "greedyhash/error.h"
#include "greedyhash/inference/evaluation.h"
#include "greedyhash/inference/saved_codes.h"
#include "greedyhash/inference/trained_model.h"
#include "greedyhash/inference/unsupervised_evaluation.h"
#include "greedyhash/model/feature_hasher.h"
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

void print_unsupervised_table(const nlohmann::json& report) {
  std::printf("%s, %d bits: %lld queries x %lld database items\n",
              report["method"].get<std::string>().c_str(), report["bit"].get<int>(),
              static_cast<long long>(report["num_query"].get<int64_t>()),
              static_cast<long long>(report["num_database"].get<int64_t>()));
  if (report.contains("map")) {
    const auto k = report["top_k"].get<int64_t>();
    const std::string at =
        k == report["num_database"].get<int64_t>() ? "@all" : "@" + std::to_string(k);
    std::printf("  %-28s %.4f\n", ("mAP" + at).c_str(), report["map"].get<double>());
    const char* tie_key =
        report.contains("map_tie_aware_top_k") ? "map_tie_aware_top_k" : "map_tie_aware";
    std::printf("  %-28s %.4f\n", ("mAP" + at + ", tie-aware").c_str(),
                report[tie_key].get<double>());
  }
  for (const auto& recall : report["neighbour_recall"]) {
    const std::string k = recall["k"].dump();
    for (const auto& [r, value] : recall["recall_at"].items()) {
      std::printf("  %-28s %.4f\n", ("recall of " + k + "-NN in top " + r).c_str(),
                  value.get<double>());
    }
  }
}

// greedyhash_eval on a --method unsupervised run: codes against the cosine neighbours of the
// features (and mAP when labelled), on the run's embedding folder or the backbone's features.
int evaluate_unsupervised(const Config& config, const ConfigFlags& flags,
                          const std::string& checkpoint) {
  CodeEvaluationOptions options;
  options.top_k = config.map_topk;
  nlohmann::json report;
  RunFiles files(run_folder(config));
  fs::path used;
  if (!config.features.empty()) {
    configure_threads(static_cast<int>(config.threads));
    used = checkpoint_of(files, checkpoint);
    FeatureHasherMeta meta;
    FeatureHasher model = load_feature_hasher(used, config.bit, &meta);
    const FeatureFolder folder = load_feature_folder(config.features);
    if (folder.dim() != meta.input_dim) {
      throw Error("features in " + folder.dir.string() + " have " + std::to_string(folder.dim()) +
                  " values per row but " + used.string() + " takes " +
                  std::to_string(meta.input_dim) + "; pass --features of the same embedding model");
    }
    torch::NoGradGuard no_grad;
    const TrueNeighbours truth = true_neighbours(folder.query, folder.database, options);
    report = evaluate_feature_codes(model->forward(folder.query.features).h,
                                    model->forward(folder.database.features).h, folder.query,
                                    folder.database, truth, options);
    report["features"] = fs::absolute(folder.dir).string();
    report["checkpoint_epoch"] = meta.epoch;
  } else {
    auto run = open_trained_run(flags, checkpoint);
    used = run.trained.checkpoint;
    const RunData data = load_run_data(run.config, run.files.dir, SplitMode::Load);
    run.encode.transform = data.eval_transform;
    run.encode.progress_label = "backbone features";
    const RetrievalFeatures rows = backbone_retrieval_features(
        run.trained.model, data.dataset, test_retrieval(data.split), run.encode);
    torch::NoGradGuard no_grad;
    torch::nn::Linear layer = run.trained.model->hash_layer;
    const TrueNeighbours truth = true_neighbours(rows.query, rows.database, options);
    report = evaluate_feature_codes(layer->forward(rows.query.features.to(run.device)).cpu(),
                                    layer->forward(rows.database.features.to(run.device)).cpu(),
                                    rows.query, rows.database, truth, options);
    report["dataset"] = config.dataset;
    report["checkpoint_epoch"] = run.trained.meta.epoch;
  }
  report["method"] = "greedyhash-unsupervised";
  report["checkpoint"] = used.string();
  write_file_atomically(files.dir / "eval.json", report.dump(2) + "\n");
  print_unsupervised_table(report);
  std::printf("wrote %s\n", (files.dir / "eval.json").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Evaluate a trained GreedyHash run on the split saved with it: the test queries against\n"
      "the database. mAP (Hamming ranking, ties broken by database index), tie-aware mAP, query\n"
      "accuracy, precision and recall within Hamming radius 2, PR curve and precision@N; says\n"
      "how the checkpoint was chosen (best.pt: on held-out validation queries, unless trained\n"
      "with --select query). Writes eval.json, pr_curve.png and precision_at_n.png into the\n"
      "run folder.\n"
      "A --method unsupervised run is judged as its method asks: mAP (when the data has\n"
      "labels) and the recall of each query's 10 and 100 nearest neighbours by cosine\n"
      "similarity of the features among its first 10, 100 and 1000 Hamming-ranked items\n"
      "(tie-aware); --features DIR evaluates a --features run on another folder.",
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
    if (const Config run_config = resolve_config(flags); run_config.method == "unsupervised") {
      if (codes) throw Error("--save-codes applies to supervised runs only");
      return evaluate_unsupervised(run_config, flags, checkpoint);
    }
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
