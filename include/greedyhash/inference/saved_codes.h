#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "greedyhash/inference/evaluation.h"
#include "greedyhash/retrieval/binary_codes.h"

namespace greedyhash {

// What `greedyhash_eval --save-codes` leaves in the run folder: query_codes.npy,
// database_codes.npy (int8 +-1 rows), query_labels.npy, database_labels.npy (uint8
// multi-hot), and codes.json naming the checkpoint they came from by path and SHA-256.
// codes.json is removed before the .npy files are replaced and written after them, so it
// never vouches for files of another checkpoint, even after an interrupted run.
void save_evaluation_codes(const std::filesystem::path& run_dir, const Evaluation& evaluation,
                           const std::filesystem::path& checkpoint,
                           const std::string& checkpoint_sha256);

// database_codes.npy when codes.json says it was encoded by the checkpoint whose content
// has this SHA-256, and it holds `size` codes of `bits` bits; std::nullopt otherwise
// (missing, other checkpoint, other shape, unreadable).
std::optional<BinaryCodes> saved_database_codes(const std::filesystem::path& run_dir,
                                                const std::string& checkpoint_sha256, int64_t size,
                                                int bits);

}  // namespace greedyhash
