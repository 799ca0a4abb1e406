#include "greedyhash/serve/search_service.h"

#include <algorithm>
#include <future>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "greedyhash/error.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/serve/image_header.h"

namespace greedyhash {

namespace {

using json = nlohmann::json;

std::string dump(const json& value) {
  // Item paths come from the file system and need not be UTF-8.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse error_response(int status, const std::string& message) {
  HttpResponse response;
  response.status = status;
  response.body = dump(json{{"error", message}}) + "\n";
  return response;
}

HttpResponse method_not_allowed(const std::string& allowed) {
  HttpResponse response = error_response(405, "this path takes " + allowed + " only");
  response.headers.emplace_back("Allow", allowed);
  return response;
}

// A whole decimal number within [low, high], or std::nullopt; no sign, no spaces, at most
// 18 digits (no overflow).
std::optional<int64_t> parse_count(const std::string& text, int64_t low, int64_t high) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high) return std::nullopt;
  return value;
}

// The metrics' route label: the endpoint, never the raw path (unbounded label values).
std::string route_of(const std::string& path) {
  if (path == "/" || path == "/search" || path == "/healthz" || path == "/metrics") return path;
  if (path.rfind("/items/", 0) == 0) return "/items";
  return "other";
}

constexpr const char* kItemsPrefix = "/items/";

}  // namespace

struct SearchService::Job {
  std::shared_ptr<SearchEngine> engine;
  std::unique_ptr<SearchEngine::Query> query;
  int64_t k = 0;
  std::promise<SearchEngine::Answer> answer;
};

SearchService::SearchService(std::shared_ptr<SearchEngine> engine, const ServiceLimits& limits)
    : limits_(limits), engine_(std::move(engine)) {
  batcher_ = std::make_unique<DynamicBatcher<Job>>(
      limits.queue_size, limits.max_batch, limits.batch_wait,
      [this](std::vector<std::shared_ptr<Job>>& batch) { process(batch); });
}

SearchService::~SearchService() = default;

void SearchService::replace_engine(std::shared_ptr<SearchEngine> engine) {
  std::lock_guard<std::mutex> lock(engine_mutex_);
  engine_ = std::move(engine);
  ++reloads_;
}

void SearchService::count_failed_reload() {
  std::lock_guard<std::mutex> lock(engine_mutex_);
  ++failed_reloads_;
}

std::shared_ptr<SearchEngine> SearchService::engine() const {
  std::lock_guard<std::mutex> lock(engine_mutex_);
  return engine_;
}

HttpResponse SearchService::handle(const HttpRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  HttpResponse response;
  try {
    response = route(request);
  } catch (const Error& e) {
    response = error_response(500, e.what());
  } catch (const std::exception& e) {
    response = error_response(500, std::string("internal error: ") + first_line(e.what()));
  }
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  metrics_.record(route_of(request.path), response.status, seconds_since(start));
  return response;
}

HttpResponse SearchService::route(const HttpRequest& request) {
  const std::string& path = request.path;
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (path == "/search") {
    return request.method == "POST" ? search(request) : method_not_allowed("POST");
  }
  const bool known =
      path == "/" || path == "/healthz" || path == "/metrics" || path.rfind(kItemsPrefix, 0) == 0;
  if (!known) return error_response(404, "no such path; see GET / for the page");
  if (!get) return method_not_allowed("GET");
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n", {}};
  if (path == "/metrics") return metrics_page();
  if (path == "/") {
    HttpResponse page{200, "text/html; charset=utf-8", search_page_html(), {}};
    // The page needs nothing from elsewhere; the browser is told to fetch nothing else.
    page.headers.emplace_back("Content-Security-Policy",
                              "default-src 'none'; img-src 'self' blob:; style-src "
                              "'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'");
    return page;
  }
  return item(request);
}

HttpResponse SearchService::search(const HttpRequest& request) {
  if (request.body_too_large) {
    return error_response(413, "the image is over the limit of " +
                                   std::to_string(limits_.max_body_bytes >> 20) + " MB");
  }
  int64_t k = std::min<int64_t>(10, limits_.max_k);
  if (const auto given = request.query.find("k"); given != request.query.end()) {
    const auto parsed = parse_count(given->second, 1, limits_.max_k);
    if (!parsed) {
      return error_response(400,
                            "k must be a whole number from 1 to " + std::to_string(limits_.max_k));
    }
    k = *parsed;
  }
  if (request.body.empty()) {
    return error_response(400, "send the image (JPEG or PNG) as the request body");
  }
  ImageHeader header;
  try {
    header = read_image_header(request.body);
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
  if (header.width <= 0 || header.height <= 0 ||
      header.width > limits_.max_pixels / std::max<int64_t>(header.height, 1)) {
    return error_response(413, "the " + header.format + " declares " +
                                   std::to_string(header.width) + " x " +
                                   std::to_string(header.height) + " pixels; at most " +
                                   std::to_string(limits_.max_pixels) + " are decoded");
  }

  auto job = std::make_shared<Job>();
  job->engine = engine();
  job->k = k;
  const auto decode_start = std::chrono::steady_clock::now();
  try {
    job->query = job->engine->prepare(request.body);
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
  const double decode_ms = seconds_since(decode_start) * 1e3;
  std::future<SearchEngine::Answer> future = job->answer.get_future();
  if (!batcher_->try_submit(job)) {
    HttpResponse busy = error_response(
        503, "busy: " + std::to_string(limits_.queue_size) + " searches are waiting; retry later");
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
  }
  const SearchEngine::Answer answer = future.get();

  json results = json::array();
  for (size_t r = 0; r < answer.results.size(); ++r) {
    const auto& result = answer.results[r];
    json entry = {
        {"rank", r + 1}, {"distance", result.distance}, {"id", result.id}, {"path", result.path}};
    if (!result.label.empty()) entry["label"] = result.label;
    results.push_back(std::move(entry));
  }
  const json body = {
      {"code", answer.code_hex},
      {"bits", job->engine->info().bits},
      {"results", std::move(results)},
      {"timing_ms",
       {{"decode", decode_ms}, {"encode", answer.encode_ms}, {"search", answer.search_ms}}}};
  return {200, "application/json", dump(body) + "\n", {}};
}

void SearchService::process(std::vector<std::shared_ptr<Job>>& batch) {
  // A reload between two uploads can put jobs of two engines in one batch: each run of
  // jobs of one engine is searched by that engine.
  size_t begin = 0;
  while (begin < batch.size()) {
    size_t end = begin + 1;
    while (end < batch.size() && batch[end]->engine == batch[begin]->engine) ++end;
    std::vector<const SearchEngine::Query*> queries;
    std::vector<int64_t> ks;
    for (size_t j = begin; j < end; ++j) {
      queries.push_back(batch[j]->query.get());
      ks.push_back(batch[j]->k);
    }
    try {
      std::vector<SearchEngine::Answer> answers = batch[begin]->engine->search(queries, ks);
      for (size_t j = begin; j < end; ++j)
        batch[j]->answer.set_value(std::move(answers[j - begin]));
    } catch (...) {
      for (size_t j = begin; j < end; ++j) batch[j]->answer.set_exception(std::current_exception());
    }
    begin = end;
  }
}

HttpResponse SearchService::item(const HttpRequest& request) const {
  const std::string id_text = request.path.substr(std::string(kItemsPrefix).size());
  const std::shared_ptr<SearchEngine> current = engine();
  const int64_t items = current->info().items;
  const auto id = parse_count(id_text, 0, items - 1);
  if (!id) {
    return error_response(
        404, "no item '" + id_text + "': items are numbered 0 to " + std::to_string(items - 1));
  }
  std::optional<SearchEngine::Item> found = current->item(*id);
  if (!found) return error_response(404, "no item " + id_text);
  HttpResponse response{200, found->content_type, std::move(found->bytes), {}};
  response.headers.emplace_back("Cache-Control", "private, max-age=60");
  return response;
}

HttpResponse SearchService::metrics_page() const {
  const std::shared_ptr<SearchEngine> current = engine();
  ServiceMetrics::Gauges gauges;
  gauges.queue_depth = static_cast<int64_t>(batcher_->depth());
  gauges.queue_capacity = static_cast<int64_t>(limits_.queue_size);
  gauges.index_items = current->info().items;
  gauges.bits = current->info().bits;
  gauges.checkpoint_sha256 = current->info().checkpoint_sha256;
  gauges.index_sha256 = current->info().index_sha256;
  {
    std::lock_guard<std::mutex> lock(engine_mutex_);
    gauges.reloads = reloads_;
    gauges.failed_reloads = failed_reloads_;
  }
  return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render(gauges), {}};
}

}  // namespace greedyhash
