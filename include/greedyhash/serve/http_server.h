#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "greedyhash/serve/http_message.h"

namespace greedyhash {

struct HttpServerOptions {
  std::string bind = "127.0.0.1";  // an IPv4 or IPv6 address
  uint16_t port = 8080;            // 0: any free port (see HttpServer::port)
  // A body announced longer is answered at once (the handler sees body_too_large); a
  // chunked one that grows past it has its connection closed.
  size_t max_body_bytes = 20u << 20;
  // A connection idle this long (a slow client, a body that stops) is closed.
  unsigned timeout_s = 10;
  unsigned max_connections = 256;
  // Per connection, for the request line and headers: more (too many or too long
  // headers) is answered 431 by libmicrohttpd.
  size_t header_memory_bytes = 32u << 10;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// An HTTP/1.1 server (libmicrohttpd, one thread per connection) that hands each complete
// request to `handler`, which may block (a search waits for its batch) and must not throw.
class HttpServer {
 public:
  // Listens at once; a greedyhash::Error when the address cannot be bound.
  HttpServer(const HttpServerOptions& options, HttpHandler handler);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  uint16_t port() const;

  // Stops accepting connections, then waits until no request is being handled, or
  // `grace` has passed. Returns the number of requests still in flight (0: all answered).
  int64_t drain(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace greedyhash
