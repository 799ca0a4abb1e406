#include "greedyhash/inference/saved_codes.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "greedyhash/io/npy.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

Evaluation sample_evaluation(int64_t database_size, int bits) {
  torch::manual_seed(3);
  Evaluation e;
  e.retrieval.bits = bits;
  e.query.codes = torch::randn({2, bits}).sign();
  e.query.labels = torch::eye(2, torch::kUInt8);
  e.database.codes = torch::randn({database_size, bits}).sign();
  e.database.labels = torch::ones({database_size, 2}, torch::kUInt8);
  return e;
}

TEST(SavedCodes, KeyedByTheCheckpointsContent) {
  const auto run = fresh_test_folder("saved_codes");
  const std::string a(64, 'a'), b(64, 'b');
  const Evaluation evaluation = sample_evaluation(5, 12);
  save_evaluation_codes(run, evaluation, run / "best.pt", a);
  for (const char* file : {"query_codes.npy", "query_labels.npy", "database_codes.npy",
                           "database_labels.npy", "codes.json"}) {
    EXPECT_TRUE(fs::exists(run / file)) << file;
  }

  const auto codes = saved_database_codes(run, a, 5, 12);
  ASSERT_TRUE(codes.has_value());
  EXPECT_TRUE(torch::equal(codes->to_pm1(torch::kFloat), evaluation.database.codes));

  // Another checkpoint at the same path (retrained, or copied over): not used.
  EXPECT_FALSE(saved_database_codes(run, b, 5, 12).has_value());
  // Another database or bit length: not used.
  EXPECT_FALSE(saved_database_codes(run, a, 6, 12).has_value());
  EXPECT_FALSE(saved_database_codes(run, a, 5, 16).has_value());

  // Saving for checkpoint b replaces what vouches for the files.
  save_evaluation_codes(run, sample_evaluation(5, 12), run / "best.pt", b);
  EXPECT_FALSE(saved_database_codes(run, a, 5, 12).has_value());
  EXPECT_TRUE(saved_database_codes(run, b, 5, 12).has_value());

  // Codes without their codes.json (an older greedyhash, or a save cut short): not used.
  fs::remove(run / "codes.json");
  EXPECT_FALSE(saved_database_codes(run, b, 5, 12).has_value());
}

}  // namespace
}  // namespace greedyhash
