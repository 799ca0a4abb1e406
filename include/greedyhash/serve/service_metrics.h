#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace greedyhash {

// What /metrics reports, in Prometheus' text exposition format (version 0.0.4).
class ServiceMetrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets; +Inf follows.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,   1.0,  2.5,   5.0,  10.0};

  // One answered request: `route` is the endpoint ("/search", "/items", ...; "other" for
  // an unknown path, so that a scan of random paths cannot grow the label set).
  void record(const std::string& route, int status, double seconds);

  // The gauges, read at scrape time.
  struct Gauges {
    int64_t queue_depth = 0;
    int64_t queue_capacity = 0;
    int64_t index_items = 0;
    int bits = 0;
    std::string checkpoint_sha256;
    std::string index_sha256;
    int64_t reloads = 0;
    int64_t failed_reloads = 0;
  };
  std::string render(const Gauges& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  // Per route: counts per bucket (not cumulative; rendered cumulatively), sum, count.
  struct Histogram {
    std::array<int64_t, kLatencyBuckets.size()> buckets{};
    double sum = 0;
    int64_t count = 0;
  };
  std::map<std::string, Histogram> latency_;
};

}  // namespace greedyhash
