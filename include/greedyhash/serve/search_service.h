#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "greedyhash/serve/dynamic_batcher.h"
#include "greedyhash/serve/http_message.h"
#include "greedyhash/serve/search_engine.h"
#include "greedyhash/serve/service_metrics.h"

namespace greedyhash {

struct ServiceLimits {
  size_t max_body_bytes = 20u << 20;
  // Pixels an upload's header may declare (width x height); more is refused undecoded.
  int64_t max_pixels = 40'000'000;
  int64_t max_k = 1000;
  size_t queue_size = 64;  // searches accepted and not yet answered
  size_t max_batch = 32;
  std::chrono::microseconds batch_wait{2000};
};

// The search service's endpoints, independent of the HTTP library (http_server.h carries
// requests to handle()):
//   POST /search?k=N   body: a JPEG or PNG -> the code and the k nearest items (JSON)
//   GET  /items/<id>   the image of index item <id>
//   GET  /             the search page
//   GET  /healthz      "ok"
//   GET  /metrics      Prometheus text format
// Searches go through a DynamicBatcher: uploads are decoded on the request's own thread,
// encoded in batches on one worker. Every error is a JSON {"error": "..."} with a 4xx
// (the client's fault) or 5xx status.
class SearchService {
 public:
  SearchService(std::shared_ptr<SearchEngine> engine, const ServiceLimits& limits);
  ~SearchService();

  // Thread-safe; never throws.
  HttpResponse handle(const HttpRequest& request);

  // Serves `engine` from now on; searches already accepted finish with the old one.
  void replace_engine(std::shared_ptr<SearchEngine> engine);
  void count_failed_reload();
  std::shared_ptr<SearchEngine> engine() const;

 private:
  struct Job;
  HttpResponse route(const HttpRequest& request);
  HttpResponse search(const HttpRequest& request);
  HttpResponse item(const HttpRequest& request) const;
  HttpResponse metrics_page() const;
  void process(std::vector<std::shared_ptr<Job>>& batch);

  const ServiceLimits limits_;
  mutable std::mutex engine_mutex_;
  std::shared_ptr<SearchEngine> engine_;
  int64_t reloads_ = 0;
  int64_t failed_reloads_ = 0;
  ServiceMetrics metrics_;
  std::unique_ptr<DynamicBatcher<Job>> batcher_;  // last: stopped first
};

// The page GET / serves: self-contained (no request leaves the service).
const char* search_page_html();

}  // namespace greedyhash
