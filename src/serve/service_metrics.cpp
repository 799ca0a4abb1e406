#include "greedyhash/serve/service_metrics.h"

#include <cstdio>
#include <sstream>

namespace greedyhash {

namespace {

// A float as Prometheus reads it: `digits` significant digits (bucket bounds read best
// short: 0.005, not 0.0050000000000000001).
std::string number(double value, int digits = 17) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

void describe(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

void ServiceMetrics::record(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  Histogram& histogram = latency_[route];
  for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    if (seconds <= kLatencyBuckets[b]) {
      ++histogram.buckets[b];
      break;
    }
  }
  histogram.sum += seconds;
  ++histogram.count;
}

std::string ServiceMetrics::render(const Gauges& gauges) const {
  std::ostringstream out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    describe(out, "greedyhash_requests_total", "counter",
             "HTTP requests answered, by route and status.");
    for (const auto& [key, count] : requests_) {
      out << "greedyhash_requests_total{path=\"" << key.first << "\",status=\"" << key.second
          << "\"} " << count << '\n';
    }
    describe(out, "greedyhash_request_duration_seconds", "histogram",
             "Time from a request's complete arrival to its answer, by route.");
    for (const auto& [route, histogram] : latency_) {
      int64_t cumulative = 0;
      for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
        cumulative += histogram.buckets[b];
        out << "greedyhash_request_duration_seconds_bucket{path=\"" << route << "\",le=\""
            << number(kLatencyBuckets[b], 6) << "\"} " << cumulative << '\n';
      }
      out << "greedyhash_request_duration_seconds_bucket{path=\"" << route << "\",le=\"+Inf\"} "
          << histogram.count << '\n';
      out << "greedyhash_request_duration_seconds_sum{path=\"" << route << "\"} "
          << number(histogram.sum) << '\n';
      out << "greedyhash_request_duration_seconds_count{path=\"" << route << "\"} "
          << histogram.count << '\n';
    }
  }
  describe(out, "greedyhash_queue_depth", "gauge", "Searches accepted and not yet answered.");
  out << "greedyhash_queue_depth " << gauges.queue_depth << '\n';
  describe(out, "greedyhash_queue_capacity", "gauge", "Searches accepted at most; beyond, 503.");
  out << "greedyhash_queue_capacity " << gauges.queue_capacity << '\n';
  describe(out, "greedyhash_index_items", "gauge", "Codes in the index being served.");
  out << "greedyhash_index_items " << gauges.index_items << '\n';
  describe(out, "greedyhash_code_bits", "gauge", "Code length of the model being served.");
  out << "greedyhash_code_bits " << gauges.bits << '\n';
  describe(out, "greedyhash_model_info", "gauge",
           "The checkpoint and index being served (SHA-256 of each file).");
  out << "greedyhash_model_info{checkpoint_sha256=\"" << gauges.checkpoint_sha256
      << "\",index_sha256=\"" << gauges.index_sha256 << "\"} 1\n";
  describe(out, "greedyhash_reloads_total", "counter",
           "Reloads of the index and checkpoint, by outcome.");
  out << "greedyhash_reloads_total{outcome=\"ok\"} " << gauges.reloads << '\n';
  out << "greedyhash_reloads_total{outcome=\"failed\"} " << gauges.failed_reloads << '\n';
  return out.str();
}

}  // namespace greedyhash
