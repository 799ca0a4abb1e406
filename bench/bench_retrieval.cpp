// Times the retrieval metrics on data shaped like CIFAR-10 (I): 1,000 queries against a
// 59,000-item database, 10 single-label classes, for 12/24/32/48-bit codes. Codes are
// drawn around one random centre per class (each bit flipped with probability
// --flip), so distances and ties look like those of a trained model rather than of
// uniform noise. Tie-aware mAP@K uses --top-k; the precision/recall within Hamming radius
// 2 and the all-metrics run (evaluate_retrieval, PR curve, precision@N, radius 2) use the
// whole ranking. Prints one JSON object per bit length; times are medians over --reps,
// wall clock (*_ms) and CPU time of all threads (*_cpu_ms), with the load average, since
// the machine may be shared.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "greedyhash/retrieval/labeled_codes.h"
#include "greedyhash/retrieval/retrieval_metrics.h"
#include "greedyhash/runtime/threads.h"

namespace {

using greedyhash::BinaryCodes;
using greedyhash::LabeledCodes;

LabeledCodes make_set(int64_t size, int bits, int64_t classes, const torch::Tensor& centres,
                      double flip) {
  const torch::Tensor labels = torch::randint(classes, {size}, torch::kLong);
  const torch::Tensor flips = torch::rand({size, bits}) < flip;
  const torch::Tensor signs = centres.index_select(0, labels) * (1 - 2 * flips.to(torch::kFloat));
  return LabeledCodes(BinaryCodes::from_tensor(signs),
                      torch::one_hot(labels, classes).to(torch::kUInt8));
}

struct Timing {
  double wall_ms;  // median wall-clock time
  double cpu_ms;   // median CPU time of the whole process (all threads)
};

double cpu_now_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

// On a shared machine the wall time includes waiting for the CPU; the CPU time does not,
// so both are reported.
Timing median_ms(int reps, const std::function<void()>& work) {
  std::vector<double> wall;
  std::vector<double> cpu;
  for (int r = 0; r < reps; ++r) {
    const double cpu_start = cpu_now_ms();
    const auto start = std::chrono::steady_clock::now();
    work();
    const auto stop = std::chrono::steady_clock::now();
    cpu.push_back(cpu_now_ms() - cpu_start);
    wall.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Benchmark of greedyhash's retrieval metrics (prints JSON lines)");
  int reps = 7;
  int threads = 0;
  uint64_t seed = 2000;
  int64_t num_queries = 1000;
  int64_t database_size = 59000;
  int64_t classes = 10;
  double flip = 0.2;
  int64_t top_k = 5000;
  std::vector<int> bit_lengths = {12, 24, 32, 48};
  app.add_option("--reps", reps, "repetitions per measurement (median reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "intra-op threads, 0 = one per core")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "random seed");
  app.add_option("--queries", num_queries, "number of queries")->check(CLI::PositiveNumber);
  app.add_option("--database", database_size, "database size")->check(CLI::PositiveNumber);
  app.add_option("--classes", classes, "number of classes")->check(CLI::PositiveNumber);
  app.add_option("--flip", flip, "probability of flipping a bit of the class centre")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--top-k", top_k, "cut-off K of the tie-aware mAP@K measurement")
      ->check(CLI::PositiveNumber);
  app.add_option("--bits", bit_lengths, "code lengths")->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);

  const int used_threads = greedyhash::configure_threads(threads);
  torch::manual_seed(seed);
  for (const int bits : bit_lengths) {
    const torch::Tensor centres = torch::randint(2, {classes, bits}).to(torch::kFloat) * 2 - 1;
    const LabeledCodes queries = make_set(num_queries, bits, classes, centres, flip);
    const LabeledCodes database = make_set(database_size, bits, classes, centres, flip);

    double map = 0.0;
    double map_tie_aware = 0.0;
    const Timing map_t =
        median_ms(reps, [&] { map = greedyhash::mean_average_precision(queries, database).map; });
    const Timing tie_t = median_ms(reps, [&] {
      map_tie_aware = greedyhash::tie_aware_mean_average_precision(queries, database).map;
    });
    double map_tie_aware_top_k = 0.0;
    const Timing tie_k_t = median_ms(reps, [&] {
      map_tie_aware_top_k =
          greedyhash::tie_aware_mean_average_precision(queries, database, top_k).map;
    });
    greedyhash::RadiusPrecisionRecall within;
    const Timing radius_t = median_ms(
        reps, [&] { within = greedyhash::precision_recall_within_radius(queries, database, 2); });
    const Timing pr_t =
        median_ms(reps, [&] { greedyhash::precision_recall_curve(queries, database); });
    greedyhash::RetrievalOptions all;
    all.precision_at = {100, 500, 1000, 5000, 0};
    const Timing all_t =
        median_ms(reps, [&] { greedyhash::evaluate_retrieval(queries, database, all); });
    double load[1] = {0.0};
    getloadavg(load, 1);

    const nlohmann::json line = {
        {"bit", bits},
        {"map_ms", map_t.wall_ms},
        {"map_tie_aware_ms", tie_t.wall_ms},
        {"map_tie_aware_top_k_ms", tie_k_t.wall_ms},
        {"within_radius_2_ms", radius_t.wall_ms},
        {"pr_curve_ms", pr_t.wall_ms},
        {"evaluate_all_ms", all_t.wall_ms},
        {"map_cpu_ms", map_t.cpu_ms},
        {"map_tie_aware_cpu_ms", tie_t.cpu_ms},
        {"map_tie_aware_top_k_cpu_ms", tie_k_t.cpu_ms},
        {"within_radius_2_cpu_ms", radius_t.cpu_ms},
        {"pr_curve_cpu_ms", pr_t.cpu_ms},
        {"evaluate_all_cpu_ms", all_t.cpu_ms},
        {"map", map},
        {"map_tie_aware", map_tie_aware},
        {"top_k", top_k},
        {"map_tie_aware_top_k", map_tie_aware_top_k},
        {"precision_radius_2", within.precision},
        {"recall_radius_2", within.recall},
        {"queries_with_empty_radius_2", within.num_queries_retrieving_nothing},
        {"queries", num_queries},
        {"database", database_size},
        {"reps", reps},
        {"threads", used_threads},
        {"load_average_1min", load[0]}};
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
  return 0;
}
