#include "greedyhash/io/run_files.h"

#include <string>

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

}  // namespace greedyhash
