#include "greedyhash/report/progress.h"
#include "greedyhash/runtime/stopwatch.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace greedyhash {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  }
  return text;
}

Progress::Progress(std::string label, int64_t total_steps, int64_t plain_every)
    : label_(std::move(label)),
      total_steps_(total_steps),
      plain_every_(plain_every < 1 ? 1 : plain_every),
      live_(::isatty(STDOUT_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  finish();
}

double Progress::seconds() const {
  return seconds_since(start_);
}

double Progress::items_per_second() const {
  const double s = seconds();
  return s > 0 ? static_cast<double>(items_) / s : 0.0;
}

bool Progress::due(int64_t steps_done) const {
  if (live_) {
    return std::chrono::steady_clock::now() - last_draw_ >= std::chrono::milliseconds(200) ||
           steps_done == total_steps_;
  }
  return steps_done % plain_every_ == 0 && steps_done != total_steps_;
}

void Progress::update(int64_t steps_done, int64_t items_done, const std::string& note) {
  const bool print_now = due(steps_done);
  steps_ = steps_done;
  items_ = items_done;
  note_ = note;
  if (!print_now) return;
  last_draw_ = std::chrono::steady_clock::now();
  print(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  print(true);
}

void Progress::print(bool final_line) {
  const double elapsed = seconds();
  const double rate = items_per_second();
  const double step_rate = elapsed > 0 ? static_cast<double>(steps_) / elapsed : 0.0;
  const double eta =
      step_rate > 0 ? static_cast<double>(total_steps_ - steps_) / step_rate : std::nan("");
  char line[256];
  std::snprintf(line, sizeof line, "%s %lld/%lld  %.1f img/s  %s %s", label_.c_str(),
                static_cast<long long>(steps_), static_cast<long long>(total_steps_), rate,
                final_line ? "took" : "ETA", format_duration(final_line ? elapsed : eta).c_str());
  const std::string text = note_.empty() ? line : std::string(line) + "  " + note_;
  if (live_) {
    std::printf("\r\033[K%s%s", text.c_str(), final_line ? "\n" : "");
  } else {
    std::printf("%s\n", text.c_str());
  }
  std::fflush(stdout);
}

}  // namespace greedyhash
