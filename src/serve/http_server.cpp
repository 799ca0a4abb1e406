#include "greedyhash/serve/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

// What a request accumulates between the library's calls.
struct RequestState {
  HttpRequest request;
};

MHD_Result collect_argument(void* cls, MHD_ValueKind /*kind*/, const char* key, const char* value) {
  auto& query = *static_cast<std::map<std::string, std::string>*>(cls);
  if (key != nullptr) query[key] = value != nullptr ? value : "";
  return MHD_YES;
}

// A Content-Length over `limit` (or not a number, which the library refuses anyway).
bool announced_over(MHD_Connection* connection, size_t limit) {
  const char* length =
      MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (length == nullptr) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(length, &end, 10);
  return errno != 0 || end == length || value > limit;
}

// libmicrohttpd's own messages (a client that sent garbage, a timeout) are routine for a
// service facing the network: debug level, not the console.
void log_library_message(void* /*cls*/, const char* format, va_list args) {
  char message[512];
  std::vsnprintf(message, sizeof message, format, args);
  spdlog::debug("libmicrohttpd: {}", message);
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  MHD_Daemon* daemon = nullptr;
  MHD_socket listen_socket = MHD_INVALID_SOCKET;  // ours to close once quiesced
  std::mutex mutex;
  std::condition_variable idle;
  int64_t in_flight = 0;

  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char* /*version*/, const char* upload_data,
                               size_t* upload_data_size, void** request_cls) {
    auto& self = *static_cast<Impl*>(cls);
    auto* state = static_cast<RequestState*>(*request_cls);
    if (state == nullptr) {
      state = new RequestState;
      *request_cls = state;
      {
        std::lock_guard<std::mutex> lock(self.mutex);
        ++self.in_flight;
      }
      state->request.method = method;
      state->request.path = url;
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_argument,
                                &state->request.query);
      // Answered before the body is read: the library then discards it and closes.
      if (announced_over(connection, self.options.max_body_bytes)) {
        state->request.body_too_large = true;
        return self.respond(connection, *state);
      }
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      // No answer can be queued while a body is arriving: a chunked body past the limit
      // has its connection closed.
      if (state->request.body.size() + *upload_data_size > self.options.max_body_bytes) {
        return MHD_NO;
      }
      state->request.body.append(upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    return self.respond(connection, *state);
  }

  MHD_Result respond(MHD_Connection* connection, RequestState& state) {
    HttpResponse answer = handler(state.request);
    MHD_Response* response = MHD_create_response_from_buffer(answer.body.size(), answer.body.data(),
                                                             MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type.c_str());
    for (const auto& [name, value] : answer.headers) {
      MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    const MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
    MHD_destroy_response(response);
    return queued;
  }

  static void on_completed(void* cls, MHD_Connection* /*connection*/, void** request_cls,
                           MHD_RequestTerminationCode /*code*/) {
    auto& self = *static_cast<Impl*>(cls);
    auto* state = static_cast<RequestState*>(*request_cls);
    if (state == nullptr) return;
    delete state;
    *request_cls = nullptr;
    std::lock_guard<std::mutex> lock(self.mutex);
    if (--self.in_flight == 0) self.idle.notify_all();
  }
};

namespace {

// The socket address to listen at; a one-line error for anything but a numeric address.
struct ListenAddress {
  sockaddr_storage storage{};
  bool ipv6 = false;
};

ListenAddress listen_address(const std::string& bind, uint16_t port) {
  ListenAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, bind.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, bind.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.ipv6 = true;
  } else {
    throw Error("--bind " + bind + " is not a numeric IPv4 or IPv6 address (e.g. 127.0.0.1)");
  }
  return address;
}

}  // namespace

HttpServer::HttpServer(const HttpServerOptions& options, HttpHandler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->handler = std::move(handler);
  ListenAddress address = listen_address(options.bind, options.port);
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC;
  if (address.ipv6) flags |= MHD_USE_IPv6;
  impl_->daemon = MHD_start_daemon(
      flags, options.port, nullptr, nullptr, &Impl::on_request, impl_.get(), MHD_OPTION_SOCK_ADDR,
      reinterpret_cast<sockaddr*>(&address.storage), MHD_OPTION_CONNECTION_TIMEOUT,
      options.timeout_s, MHD_OPTION_CONNECTION_LIMIT, options.max_connections,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.header_memory_bytes, MHD_OPTION_NOTIFY_COMPLETED,
      &Impl::on_completed, impl_.get(), MHD_OPTION_EXTERNAL_LOGGER, &log_library_message, nullptr,
      MHD_OPTION_END);
  if (impl_->daemon == nullptr) {
    throw Error("cannot listen at " + options.bind + ":" + std::to_string(options.port) +
                ": the port is in use or not allowed; choose another with --port");
  }
}

HttpServer::~HttpServer() {
  if (impl_->daemon != nullptr) MHD_stop_daemon(impl_->daemon);
  if (impl_->listen_socket != MHD_INVALID_SOCKET) ::close(impl_->listen_socket);
}

uint16_t HttpServer::port() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info != nullptr ? info->port : impl_->options.port;
}

int64_t HttpServer::drain(std::chrono::milliseconds grace) {
  if (impl_->listen_socket == MHD_INVALID_SOCKET) {
    impl_->listen_socket = MHD_quiesce_daemon(impl_->daemon);
  }
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->idle.wait_for(lock, grace, [&] { return impl_->in_flight == 0; });
  return impl_->in_flight;
}

}  // namespace greedyhash
