// An LD_PRELOAD shim for crash tests: it wraps the calls that change which files a folder
// holds (rename, remove, unlink) and either lists them or SIGKILLs its own process at
// one of them, so a test can stop a program at every step of its file commits.
//
//   KILL_AT_CALL_LIST=FILE    list mode: append "<call> <path> [<new path>]" per call
//   KILL_AT_CALL=K            kill at the K-th call (1-based) ...
//   KILL_AT_CALL_WHEN=after   ... once it has returned; otherwise before it runs
//
// Built for the tests only; it must not use what it wraps.
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

std::atomic<long> calls{0};

template <typename Function>
Function next(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

void list_call(const char* call, const char* path, const char* new_path) {
  const char* list = std::getenv("KILL_AT_CALL_LIST");
  if (list == nullptr) return;
  const int fd = ::open(list, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  char line[4096];
  const int n = std::snprintf(line, sizeof line, "%s %s%s%s\n", call, path,
                              new_path != nullptr ? " " : "", new_path != nullptr ? new_path : "");
  if (n > 0 && static_cast<size_t>(n) < sizeof line) {
    const ssize_t written = ::write(fd, line, static_cast<size_t>(n));
    (void)written;  // a lost line shows as a missing call in the test
  }
  ::close(fd);
}

bool kill_at(long number) {
  const char* k = std::getenv("KILL_AT_CALL");
  return k != nullptr && std::atol(k) == number;
}

bool kill_after() {
  const char* when = std::getenv("KILL_AT_CALL_WHEN");
  return when != nullptr && std::strcmp(when, "after") == 0;
}

// Wraps one call: counts it, lists it, and kills the process before or after it.
template <typename Call>
int wrap(const char* name, const char* path, const char* new_path, Call call) {
  const long number = ++calls;
  list_call(name, path, new_path);
  const bool kill_here = kill_at(number);
  if (kill_here && !kill_after()) ::kill(::getpid(), SIGKILL);
  const int result = call();
  if (kill_here) ::kill(::getpid(), SIGKILL);
  return result;
}

}  // namespace

extern "C" {

int rename(const char* old_path, const char* new_path) noexcept {
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  return wrap("rename", old_path, new_path, [&] { return real(old_path, new_path); });
}

int remove(const char* path) noexcept {
  static const auto real = next<int (*)(const char*)>("remove");
  return wrap("remove", path, nullptr, [&] { return real(path); });
}

int unlink(const char* path) noexcept {
  static const auto real = next<int (*)(const char*)>("unlink");
  return wrap("unlink", path, nullptr, [&] { return real(path); });
}

}  // extern "C"
