// The service's request handling with a stand-in engine: statuses, limits, the answer's
// JSON, batching and the busy answer, reloads and the metrics they show.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <thread>

#include "greedyhash/error.h"
#include "greedyhash/serve/search_service.h"

namespace greedyhash {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string png_bytes(int width, int height) {
  std::vector<uchar> bytes;
  cv::imencode(".png", cv::Mat(height, width, CV_8UC3, cv::Scalar(1, 2, 3)), bytes);
  return {bytes.begin(), bytes.end()};
}

// Items 0..items-1 at distance = id, labelled "c<id % 2>"; the code is the batch size in
// hex, so a test sees how requests were batched. Optionally held at a gate.
class FakeEngine : public SearchEngine {
 public:
  struct Decoded : Query {
    std::string bytes;
  };

  explicit FakeEngine(int64_t items, std::string tag = "a") {
    info_.bits = 16;
    info_.items = items;
    info_.checkpoint_sha256 = "ckpt-" + tag;
    info_.index_sha256 = "index-" + tag;
  }
  const Info& info() const override { return info_; }
  std::unique_ptr<Query> prepare(std::string_view image) const override {
    if (image.size() < 60) throw Error("cannot decode image (the uploaded image): corrupt");
    auto query = std::make_unique<Decoded>();
    query->bytes = std::string(image);
    return query;
  }
  std::vector<Answer> search(const std::vector<const Query*>& queries,
                             const std::vector<int64_t>& ks) override {
    if (hold) {
      std::unique_lock<std::mutex> lock(mutex);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return released; });
    }
    batches.push_back(queries.size());
    std::vector<Answer> answers(queries.size());
    for (size_t q = 0; q < queries.size(); ++q) {
      answers[q].code_hex = std::to_string(queries.size());
      for (int64_t id = 0; id < std::min(ks[q], info_.items); ++id) {
        answers[q].results.push_back({id, static_cast<int>(id),
                                      "/data/" + std::to_string(id) + ".png",
                                      "c" + std::to_string(id % 2)});
      }
    }
    return answers;
  }
  std::optional<Item> item(int64_t id) const override {
    if (id < 0 || id >= info_.items) return std::nullopt;
    return Item{"image/png", "png-" + std::to_string(id)};
  }

  void wait_entered() {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return entered; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      released = true;
    }
    cv.notify_all();
  }

  bool hold = false;
  std::vector<size_t> batches;

 private:
  Info info_;
  std::mutex mutex;
  std::condition_variable cv;
  bool entered = false;
  bool released = false;
};

HttpRequest request(std::string method, std::string path, std::string body = {},
                    std::map<std::string, std::string> query = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  r.query = std::move(query);
  return r;
}

std::string error_of(const HttpResponse& response) {
  return json::parse(response.body).at("error").get<std::string>();
}

ServiceLimits small_limits() {
  ServiceLimits limits;
  limits.max_k = 50;
  limits.max_pixels = 1000 * 1000;
  limits.batch_wait = 0ms;
  return limits;
}

TEST(SearchService, SearchAnswersCodeResultsAndTimings) {
  auto engine = std::make_shared<FakeEngine>(20);
  SearchService service(engine, small_limits());
  const HttpResponse response =
      service.handle(request("POST", "/search", png_bytes(8, 8), {{"k", "3"}}));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  const json body = json::parse(response.body);
  EXPECT_EQ(body["code"], "1");
  EXPECT_EQ(body["bits"], 16);
  ASSERT_EQ(body["results"].size(), 3u);
  EXPECT_EQ(
      body["results"][2],
      json({{"rank", 3}, {"distance", 2}, {"id", 2}, {"path", "/data/2.png"}, {"label", "c0"}}));
  for (const char* part : {"decode", "encode", "search"}) {
    EXPECT_GE(body["timing_ms"][part].get<double>(), 0.0) << part;
  }
  // k defaults to 10.
  EXPECT_EQ(json::parse(service.handle(request("POST", "/search", png_bytes(8, 8))).body)["results"]
                .size(),
            10u);
}

TEST(SearchService, ClientErrorsAreFourHundredsWithOneLineJson) {
  SearchService service(std::make_shared<FakeEngine>(20), small_limits());
  const std::string image = png_bytes(8, 8);
  struct Case {
    HttpRequest request;
    int status;
    std::string says;
  };
  HttpRequest too_large = request("POST", "/search");
  too_large.body_too_large = true;
  const std::vector<Case> cases = {
      {request("POST", "/search", image, {{"k", "0"}}), 400,
       "k must be a whole number from 1 to 50"},
      {request("POST", "/search", image, {{"k", "51"}}), 400, "from 1 to 50"},
      {request("POST", "/search", image, {{"k", "-1"}}), 400, "from 1 to 50"},
      {request("POST", "/search", image, {{"k", "3x"}}), 400, "from 1 to 50"},
      {request("POST", "/search", image, {{"k", "99999999999999999999999"}}), 400, "from 1 to 50"},
      {request("POST", "/search", ""), 400, "send the image"},
      {request("POST", "/search", "GIF89a not ours"), 400, "not a JPEG or PNG"},
      // A valid header on a body the decoder rejects.
      {request("POST", "/search", image.substr(0, 40)), 400, "cannot decode image"},
      // 1001 x 1000 declares one row more than max_pixels allows.
      {request("POST", "/search", png_bytes(1001, 1000)), 413, "1001 x 1000 pixels"},
      {too_large, 413, "over the limit of 20 MB"},
      {request("GET", "/search"), 405, "takes POST only"},
      {request("POST", "/healthz"), 405, "takes GET only"},
      {request("DELETE", "/items/1"), 405, "takes GET only"},
      {request("GET", "/nope"), 404, "no such path"},
      {request("GET", "/items/20"), 404, "numbered 0 to 19"},
      {request("GET", "/items/-1"), 404, "no item '-1'"},
      {request("GET", "/items/../../etc/passwd"), 404, "no item '../../etc/passwd'"},
      {request("GET", "/items/"), 404, "no item ''"},
      {request("GET", "/items/1/"), 404, "no item '1/'"},
  };
  for (const auto& c : cases) {
    const HttpResponse response = service.handle(c.request);
    EXPECT_EQ(response.status, c.status)
        << c.request.method << " " << c.request.path << " " << response.body;
    EXPECT_NE(error_of(response).find(c.says), std::string::npos) << response.body;
    EXPECT_EQ(response.body.find('\n'), response.body.size() - 1) << "one line";
  }
  EXPECT_EQ(service.handle(request("GET", "/search")).headers.front(),
            std::make_pair(std::string("Allow"), std::string("POST")));
}

TEST(SearchService, PagesHealthAndItems) {
  SearchService service(std::make_shared<FakeEngine>(20), small_limits());
  const HttpResponse page = service.handle(request("GET", "/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  // Self-contained: no address of another host anywhere in the page.
  EXPECT_FALSE(std::regex_search(page.body, std::regex("(https?:)?//[a-z]", std::regex::icase)));
  for (const char* id :
       {"id=\"file\"", "id=\"k\"", "id=\"status\"", "id=\"results\"", "id=\"code\""}) {
    EXPECT_NE(page.body.find(id), std::string::npos) << id;
  }
  const HttpResponse health = service.handle(request("GET", "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  const HttpResponse item = service.handle(request("GET", "/items/19"));
  EXPECT_EQ(item.status, 200);
  EXPECT_EQ(item.content_type, "image/png");
  EXPECT_EQ(item.body, "png-19");
}

TEST(SearchService, FullQueueAnswersBusyAtOnceAndWaitingSearchesFinish) {
  auto engine = std::make_shared<FakeEngine>(5);
  engine->hold = true;
  ServiceLimits limits = small_limits();
  limits.queue_size = 2;
  limits.max_batch = 1;
  SearchService service(engine, limits);
  const std::string image = png_bytes(8, 8);
  auto first = std::async(std::launch::async,
                          [&] { return service.handle(request("POST", "/search", image)).status; });
  engine->wait_entered();  // the first is being encoded (held)
  auto second = std::async(
      std::launch::async, [&] { return service.handle(request("POST", "/search", image)).status; });
  // Wait until the second is queued: the metrics show a depth of 2.
  for (int i = 0; i < 500; ++i) {
    if (service.handle(request("GET", "/metrics")).body.find("greedyhash_queue_depth 2\n") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  auto third = std::async(std::launch::async,
                          [&] { return service.handle(request("POST", "/search", image)); });
  // Answered at once, not after the held batch (a wrong answer would wait for release()).
  EXPECT_EQ(third.wait_for(2s), std::future_status::ready);
  engine->release();
  const HttpResponse busy = third.get();
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_NE(error_of(busy).find("2 searches are waiting"), std::string::npos) << busy.body;
  EXPECT_EQ(first.get(), 200);
  EXPECT_EQ(second.get(), 200);
  const std::string metrics = service.handle(request("GET", "/metrics")).body;
  EXPECT_NE(metrics.find("greedyhash_requests_total{path=\"/search\",status=\"200\"} 2\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("greedyhash_requests_total{path=\"/search\",status=\"503\"} 1\n"),
            std::string::npos)
      << metrics;
}

TEST(SearchService, SearchesArrivingTogetherAreEncodedAsOneBatch) {
  auto engine = std::make_shared<FakeEngine>(5);
  ServiceLimits limits = small_limits();
  limits.max_batch = 8;
  limits.batch_wait = 3s;  // long: the batch fills (8 requests) well before
  SearchService service(engine, limits);
  const std::string image = png_bytes(8, 8);
  std::vector<std::future<HttpResponse>> answers;
  for (int i = 0; i < 8; ++i) {
    answers.push_back(std::async(
        std::launch::async, [&] { return service.handle(request("POST", "/search", image)); }));
  }
  for (auto& answer : answers) {
    const HttpResponse response = answer.get();
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(json::parse(response.body)["code"], "8");
  }
  EXPECT_EQ(engine->batches, std::vector<size_t>{8});
}

TEST(SearchService, ReloadServesTheNewEngineAndMetricsSayWhich) {
  SearchService service(std::make_shared<FakeEngine>(5, "old"), small_limits());
  EXPECT_EQ(service.handle(request("GET", "/items/7")).status, 404);
  service.replace_engine(std::make_shared<FakeEngine>(9, "new"));
  service.count_failed_reload();
  EXPECT_EQ(service.handle(request("GET", "/items/7")).status, 200);
  const std::string metrics = service.handle(request("GET", "/metrics")).body;
  for (const char* line :
       {"greedyhash_index_items 9\n", "greedyhash_code_bits 16\n",
        "greedyhash_model_info{checkpoint_sha256=\"ckpt-new\",index_sha256=\"index-new\"} 1\n",
        "greedyhash_reloads_total{outcome=\"ok\"} 1\n",
        "greedyhash_reloads_total{outcome=\"failed\"} 1\n", "greedyhash_queue_capacity 64\n",
        "greedyhash_requests_total{path=\"/items\",status=\"404\"} 1\n",
        "greedyhash_requests_total{path=\"/items\",status=\"200\"} 1\n",
        "# TYPE greedyhash_request_duration_seconds histogram\n",
        "greedyhash_request_duration_seconds_bucket{path=\"/items\",le=\"+Inf\"} 2\n",
        "greedyhash_request_duration_seconds_count{path=\"/items\"} 2\n"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << metrics;
  }
  // Unknown paths share one label: a scan cannot grow the metrics.
  service.handle(request("GET", "/a"));
  service.handle(request("GET", "/b"));
  EXPECT_NE(service.handle(request("GET", "/metrics"))
                .body.find("greedyhash_requests_total{path=\"other\",status=\"404\"} 2\n"),
            std::string::npos);
}

TEST(SearchService, EngineFailureIsAServerErrorAndServiceGoesOn) {
  class Failing : public FakeEngine {
   public:
    Failing() : FakeEngine(5) {}
    std::vector<Answer> search(const std::vector<const Query*>&,
                               const std::vector<int64_t>&) override {
      throw std::runtime_error("out of memory\nbacktrace...");
    }
  };
  SearchService service(std::make_shared<Failing>(), small_limits());
  const HttpResponse response = service.handle(request("POST", "/search", png_bytes(8, 8)));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(error_of(response), "internal error: out of memory");
  EXPECT_EQ(service.handle(request("GET", "/healthz")).status, 200);
}

}  // namespace
}  // namespace greedyhash
