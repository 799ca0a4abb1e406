#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace greedyhash {

// A request as the search service sees it, whatever HTTP library received it.
struct HttpRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // percent-decoded, without the query string
  std::map<std::string, std::string> query;  // decoded query-string arguments
  std::string body;
  // The body was refused unread: its announced length passes the service's limit.
  bool body_too_large = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type
};

}  // namespace greedyhash
