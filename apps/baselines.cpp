// greedyhash_baselines: LSH, PCA-sign and ITQ (FAISS) on an embedding folder, judged by the
// metrics greedyhash_eval reports for unsupervised GreedyHash.
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/data/feature_set.h"
#include "greedyhash/error.h"
#include "greedyhash/index/hashing_baselines.h"
#include "greedyhash/inference/unsupervised_evaluation.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/serialize/atomic_file.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

void print_row(const std::string& method, uint64_t seed, const nlohmann::json& report) {
  std::printf("%-4s seed %-3llu", method.c_str(), static_cast<unsigned long long>(seed));
  if (report.contains("map")) {
    std::printf(
        "  mAP %.4f (tie-aware %.4f)", report["map"].get<double>(),
        report[report.contains("map_tie_aware_top_k") ? "map_tie_aware_top_k" : "map_tie_aware"]
            .get<double>());
  }
  for (const auto& recall : report["neighbour_recall"]) {
    for (const auto& [r, value] : recall["recall_at"].items()) {
      std::printf("  %s-NN@%s %.4f", recall["k"].dump().c_str(), r.c_str(), value.get<double>());
    }
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Unsupervised hashing baselines on an embedding folder (train.npy, query.npy,\n"
      "database.npy, optional query_labels.npy and database_labels.npy), through FAISS:\n"
      "  lsh  sign of K random orthonormal projections (faiss::RandomRotationMatrix, as\n"
      "       IndexLSH without thresholds)\n"
      "  pca  sign of the top K principal components (faiss::PCAMatrix, centred)\n"
      "  itq  iterative quantisation after PCA (faiss::ITQTransform)\n"
      "Each is trained on train.npy and judged as greedyhash_eval judges an unsupervised run:\n"
      "mAP (with labels) and the tie-aware recall of the 10 and 100 cosine nearest neighbours\n"
      "in the first 10, 100 and 1000 Hamming-ranked items. Writes one JSON per method and\n"
      "seed, <output-dir>/<method>_<bit>bit_seed<seed>.json, with eval.json's fields.",
      "greedyhash_baselines");
  std::string features;
  int64_t bits = 0;
  std::vector<std::string> methods = {"all"};
  std::vector<uint64_t> seeds = {0};
  std::string output_dir = "output/baselines";
  int64_t top_k = 1000;
  int threads = 0;
  app.add_option("--features", features, "the embedding folder")->required();
  app.add_option("--bit", bits, "code length K")->required()->check(CLI::Range(1, 1024));
  app.add_option("--method", methods, "lsh, pca, itq or all (default; may be repeated)");
  app.add_option("--seed", seeds, "seeds, one run each (default 0; may be repeated)");
  app.add_option("--output-dir", output_dir, "where the JSON files go")->capture_default_str();
  app.add_option("--map-topk", top_k, "mAP@K (0 = all; the paper's protocol: 1000)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads, "CPU threads (0 = one per core)");

  return run_app("greedyhash_baselines", app, argc, argv, [&] {
    configure_threads(threads);
    std::vector<BaselineMethod> chosen;
    for (const auto& name : methods) {
      if (name == "all") {
        for (const auto& each : baseline_method_names())
          chosen.push_back(parse_baseline_method(each));
      } else {
        chosen.push_back(parse_baseline_method(name));
      }
    }
    const FeatureFolder folder = load_feature_folder(features);
    CodeEvaluationOptions options;
    options.top_k = top_k;
    const TrueNeighbours truth = true_neighbours(folder.query, folder.database, options);
    std::printf("true cosine neighbours of %lld queries among %lld items in %.1f s\n",
                static_cast<long long>(folder.query.features.size(0)),
                static_cast<long long>(folder.database.features.size(0)), truth.seconds);
    fs::create_directories(output_dir);
    for (const BaselineMethod method : chosen) {
      const std::string name = baseline_method_name(method);
      for (const uint64_t seed : seeds) {
        const auto start = std::chrono::steady_clock::now();
        const BaselineHasher hasher =
            BaselineHasher::train(method, folder.train.features, bits, seed);
        const double train_seconds = seconds_since(start);
        nlohmann::json report = evaluate_feature_codes(
            hasher.project(folder.query.features), hasher.project(folder.database.features),
            folder.query, folder.database, truth, options);
        report["method"] = name;
        report["seed"] = seed;
        report["features"] = fs::absolute(folder.dir).string();
        report["train_seconds"] = train_seconds;
        const fs::path file = fs::path(output_dir) / (name + "_" + std::to_string(bits) +
                                                      "bit_seed" + std::to_string(seed) + ".json");
        write_file_atomically(file, report.dump(2) + "\n");
        print_row(name, seed, report);
      }
    }
    return 0;
  });
}
