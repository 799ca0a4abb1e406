#include "greedyhash/inference/code_files.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <filesystem>
#include <string>

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// Files numpy's np.save wrote: tests/data/retrieval/make_fixtures.py.
const fs::path kNumpyFiles = fs::path(GREEDYHASH_TEST_DATA_DIR) / "retrieval";

TEST(CodeFiles, CodeAndLabelFilesMatchNumpy) {
  const fs::path ours = fresh_test_folder("code_files_match");
  for (const int bits : {13, 70}) {
    SCOPED_TRACE("bits " + std::to_string(bits));
    const std::string stem = "codes" + std::to_string(bits);
    const BinaryCodes codes = load_codes_pm1_npy(kNumpyFiles / (stem + "_pm1.npy"));
    EXPECT_EQ(codes.bits(), bits);
    save_codes_packed_npy(ours / (stem + "_packed.npy"), codes);
    EXPECT_EQ(read_file_bytes(ours / (stem + "_packed.npy")),
              read_file_bytes(kNumpyFiles / (stem + "_packed.npy")));
    save_codes_pm1_npy(ours / (stem + "_pm1.npy"), codes);
    EXPECT_EQ(read_file_bytes(ours / (stem + "_pm1.npy")),
              read_file_bytes(kNumpyFiles / (stem + "_pm1.npy")));
    const BinaryCodes packed = load_codes_packed_npy(kNumpyFiles / (stem + "_packed.npy"), bits);
    EXPECT_TRUE(torch::equal(packed.to_pm1(), codes.to_pm1()));
  }
  save_labels_npy(ours / "labels.npy",
                  torch::tensor({{1, 0, 0}, {0, 1, 1}, {0, 0, 0}, {1, 1, 1}}, torch::kInt64));
  EXPECT_EQ(read_file_bytes(ours / "labels.npy"), read_file_bytes(kNumpyFiles / "labels.npy"));
}

TEST(CodeFiles, ClearErrors) {
  const fs::path ours = fresh_test_folder("code_files_errors");
  expect_error_containing([] { load_codes_packed_npy(kNumpyFiles / "codes13_packed.npy", 9); },
                          "codes13_packed.npy");
  expect_error_containing(
      [&] {
        save_labels_npy(ours / "bad_labels.npy", torch::tensor({{2, 0}}));
      },
      "entries 0 or 1");
}

}  // namespace
}  // namespace greedyhash
