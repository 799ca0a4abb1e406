#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace greedyhash {

// Progress of a long loop (training batches, encoding). On a terminal: one live line,
// redrawn at most 5 times a second, with done/total, items/s, ETA and a caller's note
// (the loss). Otherwise (logs, CI): a plain line every `plain_every` steps and at the end.
class Progress {
 public:
  Progress(std::string label, int64_t total_steps, int64_t plain_every = 50);

  // steps_done of total_steps finished, items_done images so far; note is appended.
  void update(int64_t steps_done, int64_t items_done, const std::string& note = "");
  // Whether update(steps_done, ...) would print now: a caller whose note costs something
  // (a GPU loss read back to the host) makes it only then.
  bool due(int64_t steps_done) const;
  // Ends the live line (prints a final state). Idempotent.
  void finish();
  ~Progress();

  double seconds() const;
  double items_per_second() const;

 private:
  void print(bool final_line);

  std::string label_;
  int64_t total_steps_;
  int64_t plain_every_;
  bool live_;
  bool finished_ = false;
  int64_t steps_ = 0;
  int64_t items_ = 0;
  std::string note_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1:02:03" / "2:03"
std::string format_duration(double seconds);

}  // namespace greedyhash
