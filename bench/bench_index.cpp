// Times the FAISS binary indexes (BinaryIndex) against our own Hamming scan on uniformly
// random codes (default: 1,000,000 database codes of 48 bits, 1,000 queries, top 10):
// build time, per-query latency p50/p99 (one query per call, one thread, as
// greedyhash_search and greedyhash_predict ask), and recall@10 against the exact ranking.
// Prints one JSON object.
//
// The exact ranking is our own scan: hamming_ranking (distance, then database index).
// recall_at_k (k = 10 by default): the share of the k returned items whose true distance
// is at most the exact k-th nearest distance (an item tied with the k-th counts: any of
// them is a correct k-th neighbour). recall_at_k_ids: the share of the exact ranking's first k ids
// returned. Uniform random codes have no cluster structure, the hardest case for IVF; trained codes
// cluster by class.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "greedyhash/index/binary_index.h"
#include "greedyhash/retrieval/hamming.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/runtime/threads.h"

namespace {

using namespace greedyhash;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

BinaryCodes random_codes(int64_t n, int bits, std::mt19937_64& rng) {
  BinaryCodes codes(n, bits);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t word = 0;
    for (int j = 0; j < bits; ++j) {
      if (j % 64 == 0) word = rng();
      codes.set_bit(i, j, (word >> (j % 64)) & 1u);
    }
  }
  return codes;
}

// Query q alone, as a one-row BinaryCodes.
BinaryCodes row(const BinaryCodes& codes, int64_t q) {
  BinaryCodes one(1, codes.bits());
  for (int j = 0; j < codes.bits(); ++j) one.set_bit(0, j, codes.bit(q, j));
  return one;
}

double load_average() {
  double load[1] = {0.0};
  getloadavg(load, 1);
  return load[0];
}

json latency(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  };
  return {{"p50_ms", at(0.50)}, {"p99_ms", at(0.99)}, {"max_ms", ms.back()}};
}

// The exact answer for each query, from our own scan.
struct Exact {
  std::vector<std::vector<int64_t>> top;  // the ranking's first k ids
  std::vector<int> kth_distance;          // distance of the k-th
};

json measure_index(const BinaryIndex& index, const std::vector<BinaryCodes>& queries,
                   const BinaryCodes& database, const Exact& exact, int64_t k) {
  std::vector<double> ms;
  double within = 0, same_ids = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto start = Clock::now();
    const SearchHits hits = index.search(queries[q], k);
    ms.push_back(seconds_since(start) * 1e3);
    for (int64_t j = 0; j < hits.k; ++j) {
      const int64_t id = hits.ids[static_cast<size_t>(j)];
      if (id < 0) continue;
      within += hamming_distance(queries[q], 0, database, id) <= exact.kth_distance[q];
      const auto& top = exact.top[q];
      same_ids += std::find(top.begin(), top.end(), id) != top.end();
    }
  }
  json out = latency(ms);
  const double total = static_cast<double>(queries.size() * static_cast<size_t>(k));
  out["recall_at_k"] = within / total;
  out["recall_at_k_ids"] = same_ids / total;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Benchmark of the FAISS binary indexes against our own Hamming scan (JSON)");
  int64_t size = 1'000'000;
  int bits = 48;
  int64_t num_queries = 1000;
  int64_t k = 10;
  uint64_t seed = 2000;
  int threads = 1;
  std::vector<int64_t> nlists = {1000};
  std::vector<int64_t> nprobes = {1, 4, 16, 62, 250};
  app.add_option("--size", size, "database codes")->check(CLI::PositiveNumber);
  app.add_option("--bits", bits, "code length")->check(CLI::Range(1, 1024));
  app.add_option("--queries", num_queries, "queries")->check(CLI::PositiveNumber);
  app.add_option("--k", k, "neighbours per query")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed");
  app.add_option("--threads", threads, "threads (FAISS's OpenMP and LibTorch's), 0 = all")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--nlist", nlists, "IVF cell counts to build")->check(CLI::PositiveNumber);
  app.add_option("--nprobe", nprobes, "IVF cells to scan per query")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (!faiss_available()) {
    std::fprintf(stderr, "bench_index: %s\n", faiss_unavailable_message().c_str());
    return 1;
  }

  json result = {{"size", size},
                 {"bits", bits},
                 {"queries", num_queries},
                 {"k", k},
                 {"seed", seed},
                 {"data", "uniform random codes"},
                 {"threads", configure_threads(threads)},
                 {"load_average_before", load_average()}};
  std::mt19937_64 rng(seed);
  const BinaryCodes database = random_codes(size, bits, rng);
  const BinaryCodes all_queries = random_codes(num_queries, bits, rng);
  std::vector<BinaryCodes> queries;
  for (int64_t q = 0; q < num_queries; ++q) queries.push_back(row(all_queries, q));

  // Our own scan: the full ranking (what predict does without an index), which is also
  // the exact reference.
  Exact exact;
  std::vector<double> scan_ms;
  for (const BinaryCodes& query : queries) {
    const auto start = Clock::now();
    const std::vector<int64_t> ranking = hamming_ranking(query, 0, database);
    scan_ms.push_back(seconds_since(start) * 1e3);
    exact.top.emplace_back(ranking.begin(), ranking.begin() + std::min<int64_t>(k, size));
    exact.kth_distance.push_back(hamming_distance(query, 0, database, exact.top.back().back()));
  }
  result["own_scan"] = latency(scan_ms);
  result["own_scan"]["method"] = "hamming_ranking: distances to all codes + counting sort";

  auto start = Clock::now();
  const BinaryIndex flat = BinaryIndex::build(database, {IndexType::Flat, 0, 0});
  const double flat_build_s = seconds_since(start);
  result["flat"] = measure_index(flat, queries, database, exact, k);
  result["flat"]["build_s"] = flat_build_s;

  result["ivf"] = json::array();
  for (const int64_t nlist : nlists) {
    start = Clock::now();
    BinaryIndex ivf = BinaryIndex::build(database, {IndexType::Ivf, nlist, 1});
    const double build_s = seconds_since(start);
    for (const int64_t nprobe : nprobes) {
      if (nprobe > nlist) continue;
      ivf.set_nprobe(nprobe);
      json line = measure_index(ivf, queries, database, exact, k);
      line["nlist"] = nlist;
      line["nprobe"] = nprobe;
      line["build_s"] = build_s;
      result["ivf"].push_back(line);
    }
  }
  result["load_average_after"] = load_average();
  std::printf("%s\n", result.dump(1).c_str());
  return 0;
}
