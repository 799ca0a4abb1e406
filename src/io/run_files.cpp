#include "greedyhash/io/run_files.h"

#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

namespace fs = std::filesystem;

RunFiles::RunFiles(fs::path run_dir)
    : dir(run_dir),
      config(run_dir / "config.json"),
      last(run_dir / "last.pt"),
      best(run_dir / "best.pt"),
      metrics(run_dir / "metrics.jsonl"),
      log(run_dir / "train.log"),
      lock(run_dir / "train.lock") {}

fs::path RunFiles::state(int64_t epoch) const {
  return dir / ("last_state-" + std::to_string(epoch) + ".pt");
}

void remove_resume_states_except(const RunFiles& files, int64_t epoch) {
  static const std::regex state_name(R"(last_state(-\d+)?\.pt)");
  const std::string keep = files.state(epoch).filename().string();
  for (const auto& entry : fs::directory_iterator(files.dir)) {
    const std::string name = entry.path().filename().string();
    if (name != keep && std::regex_match(name, state_name)) fs::remove(entry.path());
  }
}

void write_metrics(const RunFiles& files, const std::vector<nlohmann::json>& records) {
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  write_file_atomically(files.metrics, text);
}

}  // namespace greedyhash
