// greedyhash_serve: an image search service over a FAISS binary index (greedyhash_index):
// the index and its model are loaded once and kept warm; uploads are encoded in batches.
#include <pthread.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <optional>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/error.h"
#include "greedyhash/index/binary_index.h"
#include "greedyhash/serve/http_server.h"
#include "greedyhash/serve/model_search_engine.h"
#include "greedyhash/serve/search_service.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

std::shared_ptr<SearchEngine> load_engine(const ConfigFlags& flags, const fs::path& index_file) {
  IndexedRun opened = open_indexed_run(flags, index_file);
  std::optional<RunData> run_data;
  if (items_need_run_data(opened.index.manifest)) {
    run_data = load_run_data(opened.run.config, opened.run.files.dir, SplitMode::Load);
  }
  ModelSearchParts parts{std::move(opened.index),
                         std::move(opened.run.trained),
                         std::move(opened.checkpoint_sha256),
                         std::move(opened.run.encode),
                         outside_image_options(opened.run.config),
                         std::move(run_data)};
  return make_model_search_engine(std::move(parts));
}

// What tells that the index file (or its sidecar) was replaced: an atomic rename gives a
// new inode; an edit in place changes the size or modification time.
struct FileIdentity {
  ino_t inode = 0;
  off_t size = -1;
  timespec modified{};
  bool operator==(const FileIdentity& o) const {
    return inode == o.inode && size == o.size && modified.tv_sec == o.modified.tv_sec &&
           modified.tv_nsec == o.modified.tv_nsec;
  }
};

std::pair<FileIdentity, FileIdentity> index_identity(const fs::path& index_file) {
  const auto identity = [](const fs::path& path) {
    FileIdentity id;
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0) id = {info.st_ino, info.st_size, info.st_mtim};
    return id;
  };
  return {identity(index_file), identity(manifest_path(index_file))};
}

void log_line(const std::string& text) {
  std::fprintf(stderr, "greedyhash_serve: %s\n", text.c_str());
  std::fflush(stderr);
}

std::string describe(const SearchEngine& engine) {
  const auto& info = engine.info();
  return std::to_string(info.items) + " items, " + std::to_string(info.bits) + "-bit codes";
}

// Loads the index and checkpoint again; a failure leaves the ones being served in place.
void reload(SearchService& service, const ConfigFlags& flags, const fs::path& index_file,
            const std::string& why) {
  try {
    std::shared_ptr<SearchEngine> engine = load_engine(flags, index_file);
    const std::string description = describe(*engine);
    service.replace_engine(std::move(engine));
    log_line("reloaded " + index_file.string() + " (" + why + "; " + description + ")");
  } catch (const std::exception& e) {
    service.count_failed_reload();
    log_line("reload failed (" + why + "): " + first_line(e.what()) +
             "; still serving the previous index");
  }
}

// The signals the main thread waits for; blocked in every thread (they inherit the mask),
// so that none interrupts a request and sigtimedwait receives them all.
sigset_t service_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int signal : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, signal);
  return set;
}

std::string url_host(const std::string& bind) {
  return bind.find(':') != std::string::npos ? "[" + bind + "]" : bind;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Serve image search over HTTP from a FAISS binary index written by greedyhash_index.\n"
      "The index and the checkpoint it was built with are loaded once; uploads that arrive\n"
      "together are encoded as one batch.\n"
      "  POST /search?k=10   body: a JPEG or PNG -> JSON code, results, timing_ms\n"
      "  GET  /items/<id>    an indexed image     GET /   the search page\n"
      "  GET  /healthz       GET /metrics (Prometheus)\n"
      "SIGTERM or Ctrl-C: finish the requests in flight, then exit 0. SIGHUP, or the index\n"
      "replaced by a rename (greedyhash_index writes it so): reload the index and checkpoint\n"
      "without dropping a request; a reload that fails keeps the old ones serving.\n"
      "Listens on 127.0.0.1 unless told: put a TLS reverse proxy in front of it before\n"
      "exposing it (docs/SERVING.md).",
      "greedyhash_serve");
  ConfigFlags flags;
  add_config_flags(app, flags, kSearchApp);
  std::string index_file;
  HttpServerOptions server;
  ServiceLimits limits;
  double max_body_mb = 20;
  int64_t batch_wait_ms = 2;
  int64_t watch_interval_ms = 1000;
  int64_t grace_s = 30;
  app.add_option("--index", index_file, "index file written by greedyhash_index (.faiss)")
      ->required();
  app.add_option("--bind", server.bind, "address to listen at (default 127.0.0.1: this machine)");
  app.add_option("--port", server.port, "port to listen at; 0: any free one (default 8080)");
  app.add_option("--max-body-mb", max_body_mb, "largest upload accepted, in MB (default 20)")
      ->check(CLI::Range(0.001, 1024.0));
  app.add_option("--max-pixels", limits.max_pixels,
                 "largest image decoded, width x height as its header declares (default "
                 "40,000,000); more is refused before decoding")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 34));
  app.add_option("--max-k", limits.max_k, "largest k a search may ask for (default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  app.add_option("--queue-size", limits.queue_size,
                 "searches accepted and not yet answered; beyond, 503 at once (default 64)")
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  app.add_option("--max-batch", limits.max_batch,
                 "images encoded in one batch at most (default 32)")
      ->check(CLI::Range(size_t{1}, size_t{4096}));
  app.add_option("--batch-wait-ms", batch_wait_ms,
                 "how long a batch waits to fill after its first upload (default 2)")
      ->check(CLI::Range(int64_t{0}, int64_t{60000}));
  app.add_option(
         "--timeout-s", server.timeout_s,
         "a connection idle this long is closed: slow clients, stalled uploads (default 10)")
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--max-connections", server.max_connections,
                 "connections open at once at most (default 256)")
      ->check(CLI::Range(1u, 65536u));
  app.add_option("--watch-interval-ms", watch_interval_ms,
                 "how often the index file is checked for a replacement (default 1000)")
      ->check(CLI::Range(int64_t{50}, int64_t{3600000}));
  app.add_option("--grace-s", grace_s,
                 "on SIGTERM, how long requests in flight may take to finish (default 30)")
      ->check(CLI::Range(int64_t{0}, int64_t{3600}));

  return run_app("greedyhash_serve", app, argc, argv, [&] {
    const sigset_t signals = service_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    require_faiss();
    limits.max_body_bytes = static_cast<size_t>(max_body_mb * (1u << 20));
    limits.batch_wait = std::chrono::milliseconds(batch_wait_ms);
    server.max_body_bytes = limits.max_body_bytes;

    auto seen = index_identity(index_file);
    SearchService service(load_engine(flags, index_file), limits);
    HttpServer http(server, [&](const HttpRequest& request) { return service.handle(request); });
    std::printf("greedyhash_serve: listening on http://%s:%u/ (%s)\n",
                url_host(server.bind).c_str(), static_cast<unsigned>(http.port()),
                describe(*service.engine()).c_str());
    std::fflush(stdout);

    const timespec tick{static_cast<time_t>(watch_interval_ms / 1000),
                        static_cast<long>(watch_interval_ms % 1000) * 1000000L};
    for (;;) {
      const int signal = sigtimedwait(&signals, nullptr, &tick);
      if (signal == SIGTERM || signal == SIGINT) break;
      if (signal == SIGHUP) {
        seen = index_identity(index_file);
        reload(service, flags, index_file, "SIGHUP");
        continue;
      }
      const auto now = index_identity(index_file);
      if (!(now == seen)) {
        seen = now;
        reload(service, flags, index_file, "the index file changed");
      }
    }
    log_line("stopping: finishing the requests in flight");
    const int64_t left = http.drain(std::chrono::seconds(grace_s));
    if (left > 0) log_line(std::to_string(left) + " requests were still running after --grace-s");
    std::printf("greedyhash_serve: stopped\n");
    std::fflush(stdout);
    return 0;
  });
}
