// greedyhash_serve's request handling (SearchService::handle) on arbitrary requests: the
// method, path, query arguments and body all come from the input. A stand-in engine
// answers searches (no model), so what is fuzzed is the routing, the argument checks,
// the image-header reader and the batcher round trip. Every answer must be a status of
// 200-599, and every error a one-line JSON {"error": "..."}; handle() must not throw.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "greedyhash/error.h"
#include "greedyhash/serve/search_service.h"

namespace {

using namespace greedyhash;

// Ten items; a search answers k of them. Decoding refuses bodies under 100 bytes, as a
// decoder refuses a truncated file.
class StandInEngine : public SearchEngine {
 public:
  StandInEngine() {
    info_.bits = 16;
    info_.items = 10;
  }
  const Info& info() const override { return info_; }
  std::unique_ptr<Query> prepare(std::string_view image) const override {
    if (image.size() < 100) throw Error("cannot decode image (the uploaded image): corrupt");
    return std::make_unique<Query>();
  }
  std::vector<Answer> search(const std::vector<const Query*>& queries,
                             const std::vector<int64_t>& ks) override {
    std::vector<Answer> answers(queries.size());
    for (size_t q = 0; q < queries.size(); ++q) {
      for (int64_t id = 0; id < std::min<int64_t>(ks[q], info_.items); ++id) {
        answers[q].results.push_back({id, 0, "item\xff" + std::to_string(id), "c"});
      }
    }
    return answers;
  }
  std::optional<Item> item(int64_t id) const override {
    if (id < 0 || id >= info_.items) return std::nullopt;
    return Item{"image/png", "png"};
  }

 private:
  Info info_;
};

// "a=1&b=2" -> {a: 1, b: 2}, as the HTTP library hands arguments over.
std::map<std::string, std::string> arguments(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    const size_t end = std::min(text.find('&'), text.size());
    const std::string_view pair = text.substr(0, end);
    const size_t equals = pair.find('=');
    out[std::string(pair.substr(0, equals))] =
        equals == std::string_view::npos ? "" : std::string(pair.substr(equals + 1));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return out;
}

[[noreturn]] void finding(const char* what, const HttpResponse& response) {
  std::fprintf(stderr, "%s: status %d, body %s\n", what, response.status, response.body.c_str());
  std::abort();
}

}  // namespace

// Input: byte 0 picks the method (low 3 bits) and whether the body was refused for its
// announced length (bit 3); then the path, a newline, the query string, a newline, the
// body.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kMethods[] = {"GET",    "POST",    "HEAD", "PUT",
                                         "DELETE", "OPTIONS", "",     "G\0T"};
  ServiceLimits limits;
  limits.max_k = 50;
  limits.max_pixels = 1 << 20;
  limits.batch_wait = std::chrono::microseconds(0);
  static SearchService service(std::make_shared<StandInEngine>(), limits);
  if (size == 0) return 0;
  HttpRequest request;
  request.method = kMethods[data[0] & 7];
  request.body_too_large = (data[0] & 8) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t path_end = std::min(rest.find('\n'), rest.size());
  request.path = std::string(rest.substr(0, path_end));
  rest.remove_prefix(std::min(path_end + 1, rest.size()));
  const size_t query_end = std::min(rest.find('\n'), rest.size());
  request.query = arguments(rest.substr(0, query_end));
  rest.remove_prefix(std::min(query_end + 1, rest.size()));
  request.body = std::string(rest);

  const HttpResponse response = service.handle(request);
  if (response.status < 200 || response.status > 599) finding("status out of range", response);
  if (response.status >= 400) {
    const auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) {
      finding("an error without a JSON error message", response);
    }
    if (response.body.find('\n') != response.body.size() - 1) finding("not one line", response);
    if (response.status >= 500) finding("a server error for a client's request", response);
  }
  return 0;
}
