#include "greedyhash/inference/saved_codes.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "greedyhash/error.h"
#include "greedyhash/inference/code_files.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

namespace fs = std::filesystem;

namespace {

fs::path codes_manifest(const fs::path& run_dir) {
  return run_dir / "codes.json";
}

}  // namespace

void save_evaluation_codes(const fs::path& run_dir, const Evaluation& evaluation,
                           const fs::path& checkpoint, const std::string& checkpoint_sha256) {
  std::error_code ec;
  fs::remove(codes_manifest(run_dir), ec);
  if (ec) {
    throw Error("cannot remove " + codes_manifest(run_dir).string() + ": " + ec.message());
  }
  const auto codes = [](const at::Tensor& pm1) { return BinaryCodes::from_tensor(pm1); };
  save_codes_pm1_npy(run_dir / "query_codes.npy", codes(evaluation.query.codes));
  save_labels_npy(run_dir / "query_labels.npy", evaluation.query.labels);
  save_codes_pm1_npy(run_dir / "database_codes.npy", codes(evaluation.database.codes));
  save_labels_npy(run_dir / "database_labels.npy", evaluation.database.labels);
  const nlohmann::json manifest = {{"checkpoint", checkpoint.string()},
                                   {"checkpoint_sha256", checkpoint_sha256},
                                   {"bits", evaluation.retrieval.bits},
                                   {"num_query", evaluation.query.codes.size(0)},
                                   {"num_database", evaluation.database.codes.size(0)}};
  write_file_atomically(codes_manifest(run_dir), manifest.dump(2) + "\n");
}

std::optional<BinaryCodes> saved_database_codes(const fs::path& run_dir,
                                                const std::string& checkpoint_sha256, int64_t size,
                                                int bits) {
  std::ifstream in(codes_manifest(run_dir));
  if (!in) return std::nullopt;
  const auto manifest = nlohmann::json::parse(in, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() ||
      manifest.value("checkpoint_sha256", "") != checkpoint_sha256) {
    return std::nullopt;
  }
  try {
    BinaryCodes codes = load_codes_pm1_npy(run_dir / "database_codes.npy");
    if (codes.size() == size && codes.bits() == bits) return codes;
  } catch (const Error&) {
    // Unreadable codes are simply not used: the caller encodes the database instead.
  }
  return std::nullopt;
}

}  // namespace greedyhash
